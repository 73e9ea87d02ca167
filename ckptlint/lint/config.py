"""Configuration from `[tool.ckptlint]` in the nearest pyproject.toml, overridden by the command line.

Resolved once per directory (not per file: Fixit's per-file resolution cost users an hour on a large
repo). Keys: select, ignore, extend-select, per-file-ignores, exclude, extend-exclude, max-file-size.
Unknown keys and wrong types are errors: a typo in a config file must not silently lint nothing.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

from ckptlint.errors import CkptlintError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".ckptlint_cache", "build", "dist", "node_modules", "site-packages",
    ".ipynb_checkpoints", ".eggs", "*.egg-info",
)
DEFAULT_MAX_FILE_SIZE = 2_000_000  # bytes; larger files are skipped with a notice (libcst is superlinear)

_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude")
_KNOWN_KEYS = {*_LIST_KEYS, "per-file-ignores", "max-file-size", "keras-version"}


@dataclass(frozen=True)
class Config:
    root: Path  # the directory paths in the config are relative to
    source: Path | None = None  # the pyproject.toml it came from
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    keras_version: int | None = None  # the Keras generation the code targets (2 or 3); None: detect it

    def fingerprint(self) -> str:
        """Hash of every key of the configuration (the cache key's config part). Every key, not just the
        ones known to change findings today: a key left out is a stale result the day it starts to."""
        payload = json.dumps([str(self.root), *(getattr(self, f.name) for f in fields(self) if f.name not in ("root", "source"))],
                             default=list)
        return hashlib.sha256(payload.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    def is_excluded(self, path: Path) -> bool:
        real = str(path.resolve())
        return self.exclusion_in(os.path.dirname(real))(os.path.basename(real))

    def exclusion_in(self, real_directory: str) -> Callable[[str], bool]:
        """The exclusion test for the entries of one (resolved) directory, by name: the directory's
        part of the path is worked out once, not once per file. A pattern without "/" matches any one
        component below the config root (`build` excludes every build/ directory); a pattern with "/"
        the path from the root. Outside the root, an entry is matched by its name alone."""
        names, paths = self._matchers
        root = _resolved(self.root).rstrip(os.sep)
        prefix = ""
        if real_directory == root or real_directory.startswith(root + os.sep):
            base = real_directory[len(root) + 1:].replace(os.sep, "/")
            if any(names(part) for part in base.split("/") if part):
                return lambda name: True
            prefix = base + "/" if base else ""
        if paths is None:
            return lambda name: names(name) is not None
        return lambda name: names(name) is not None or paths(prefix + name) is not None

    @functools.cached_property
    def _matchers(self):
        """The patterns compiled once into two regexes (fnmatch semantics; `*` crosses "/" like
        fnmatch): one for single components, one for paths from the root."""
        names: list[str] = []
        paths: list[str] = []
        for pattern in (*self.exclude, *self.extend_exclude):
            pattern = pattern.rstrip("/")
            if "/" in pattern:
                paths += [fnmatch.translate(pattern), fnmatch.translate(pattern + "/*"), re.escape(pattern + "/") + ".*"]
            elif pattern:
                names.append(fnmatch.translate(pattern))
        never = re.compile(r"(?!)").match
        return (
            re.compile("|".join(f"(?:{p})" for p in names), re.S).match if names else never,
            re.compile("|".join(f"(?:{p})" for p in paths), re.S).match if paths else None,
        )

    def ignored_codes_for(self, path: Path) -> tuple[str, ...]:
        if not self.per_file_ignores:
            return ()
        try:
            text = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            text = path.name
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file_ignores:
            if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern):
                codes.extend(pattern_codes)
        return tuple(codes)


def _is_regular_file(path: Path) -> bool:
    """A regular file (through links): a FIFO or a device named pyproject.toml is not read."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


@functools.lru_cache(maxsize=256)
def _resolved(path: Path) -> str:
    """A config root, resolved once (exclusion is checked for every file and directory walked)."""
    return str(path.resolve())


def _str_list(value: object, key: str, origin: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CkptlintError(f"{origin}: `{key}` must be a list of strings")
    return tuple(value)


def parse_table(table: dict, root: Path, origin: str) -> Config:
    from ckptlint.lint.selection import validate_selectors

    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        raise CkptlintError(f"{origin}: unknown key(s) in [tool.ckptlint]: {', '.join(sorted(unknown))}")
    values: dict = {}
    for key in _LIST_KEYS:
        if key in table:
            values[key.replace("-", "_")] = _str_list(table[key], key, origin)
    for key in ("select", "ignore", "extend_select"):
        if key in values:
            validate_selectors(list(values[key]), origin)
    if "exclude" in values:
        values["exclude"] = values["exclude"]
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise CkptlintError(f"{origin}: `per-file-ignores` must be a table of glob = [codes]")
    entries = []
    for pattern, codes in pfi.items():
        codes = _str_list(codes, f"per-file-ignores.{pattern}", origin)
        validate_selectors(list(codes), origin)
        entries.append((pattern, codes))
    values["per_file_ignores"] = tuple(entries)
    if "max-file-size" in table:
        size = table["max-file-size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise CkptlintError(f"{origin}: `max-file-size` must be a positive integer (bytes)")
        values["max_file_size"] = size
    if "keras-version" in table:
        version = table["keras-version"]
        if isinstance(version, str) and version.strip() in ("2", "3"):
            version = int(version)
        if version not in (2, 3) or isinstance(version, bool):
            raise CkptlintError(f"{origin}: `keras-version` must be 2 or 3 (the Keras generation the code targets)")
        values["keras_version"] = version
    return Config(root=root, source=root / "pyproject.toml", **values)


MAX_CONFIG_BYTES = 4_000_000  # a pyproject.toml larger than this is not a configuration file


def load_pyproject(path: Path) -> Config | None:
    """The [tool.ckptlint] table of one pyproject.toml, or None when it has none. A file that is not
    TOML (or TOML that tomllib cannot take: nested thousands deep) is an error of one line; one whose
    `tool` is not a table has no table of ours."""
    from ckptlint.lint.sources import FileTooLarge, UnreadableFile, read_regular_file

    origin = str(path)
    try:
        text = read_regular_file(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileTooLarge as exc:
        raise CkptlintError(f"{origin}: cannot read: {exc.size:,} bytes is too large for a configuration file") from None
    except UnreadableFile as exc:
        raise CkptlintError(f"{origin}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise CkptlintError(f"{origin}: cannot read: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CkptlintError(f"{origin}: invalid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise CkptlintError(f"{origin}: invalid TOML: nested too deeply to read") from None
    except (ValueError, TypeError, OverflowError) as exc:  # tomllib's own limits (huge numbers, dates)
        raise CkptlintError(f"{origin}: invalid TOML: {exc}") from None
    tool = data.get("tool")
    table = tool.get("ckptlint") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise CkptlintError(f"{origin}: [tool.ckptlint] must be a table")
    return parse_table(table, path.parent, origin)


@dataclass
class ConfigResolver:
    """Finds the config for a directory: the nearest pyproject.toml with a [tool.ckptlint] table,
    walking up; memoised per directory. `explicit` (from --config) wins for every file."""

    explicit: Config | None = None
    default_root: Path = field(default_factory=Path.cwd)
    _cache: dict[Path, Config] = field(default_factory=dict)

    def for_directory(self, directory: Path, *, resolved: bool = False) -> Config:
        """`resolved`: the caller already resolved `directory` (the walk does, once per directory).
        Walks up without recursion: a directory can be nested deeper than Python's recursion limit."""
        if self.explicit is not None:
            return self.explicit
        if not resolved:
            directory = directory.resolve()
        unresolved: list[Path] = []  # directories below the first one already known, nearest first
        current = directory
        while current not in self._cache:
            candidate = current / "pyproject.toml"
            config = load_pyproject(candidate) if _is_regular_file(candidate) else None
            if config is not None:
                self._cache[current] = config
                break
            unresolved.append(current)
            if current.parent == current:
                self._cache[current] = Config(root=self.default_root)
                unresolved.pop()
                break
            current = current.parent
        found = self._cache[current]
        for below in unresolved:
            self._cache[below] = found
        return self._cache[directory]

    def for_file(self, path: Path) -> Config:
        return self.for_directory(path.parent)
