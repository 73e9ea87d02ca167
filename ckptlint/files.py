"""Which files to lint and how to read them: discovery (.gitignore, excludes), decoding (PEP 263),
notebooks (code cells joined into one module, magics blanked, lines mapped back to cells), and the
problems each can have, turned into one-line messages instead of tracebacks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tokenize
from dataclasses import dataclass
from pathlib import Path

from ckptlint.config import ConfigResolver
from ckptlint.errors import CkptlintError

LINTABLE_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True)
class Source:
    """Decoded source of one file. For notebooks, `text` is the code cells joined, and `cell_starts`
    holds (cell number, first line in `text`) so a line can be mapped back to its cell."""

    text: str
    cell_starts: tuple[tuple[int, int], ...] | None = None

    def cell_of(self, line: int) -> tuple[int | None, int]:
        if not self.cell_starts:
            return None, line
        cell, start = self.cell_starts[0]
        for number, first in self.cell_starts:
            if first > line:
                break
            cell, start = number, first
        return cell, line - start + 1


class UnreadableFile(Exception):
    """The file exists but cannot be linted; the message is one line, without the path."""


def read_source(path: Path, max_size: int, data: bytes | None = None) -> Source | None:
    """Read and decode a file (or its `data`, already read). Returns None for a file skipped for its
    size; raises UnreadableFile."""
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_size:
        return None
    if b"\0" in data:
        raise UnreadableFile("binary file (contains NUL bytes)")
    if path.suffix == ".ipynb":
        return _read_notebook(data)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except SyntaxError as exc:
        raise UnreadableFile(f"bad encoding declaration: {exc.msg}") from None
    except (UnicodeDecodeError, LookupError) as exc:
        detail = f"{exc.reason} at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise UnreadableFile(f"cannot decode as {encoding}: {detail}; declare the encoding (PEP 263) or save as UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return Source(text)


def _read_notebook(data: bytes) -> Source:
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"notebook is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"invalid notebook JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise UnreadableFile("invalid notebook: no `cells` list")
    language = ((notebook.get("metadata") or {}).get("kernelspec") or {}).get("language", "python")
    if isinstance(language, str) and language.lower() not in ("python", "python3", ""):
        return Source("", ())
    lines: list[str] = []
    starts: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            raise UnreadableFile(f"invalid notebook: cell {number} has a non-text source")
        starts.append((number, len(lines) + 1))
        cell_lines = source.splitlines() or [""]
        if cell_lines[0].lstrip().startswith("%%"):
            cell_lines = [""] * len(cell_lines)  # a cell magic: the cell is not Python
        for line in cell_lines:
            stripped = line.lstrip()
            # IPython magics, shell escapes and help lines are not Python; blank them, keep line numbers.
            lines.append("" if stripped.startswith(("%", "!", "?")) or stripped.endswith("?") and not stripped.startswith("#") else line)
        lines.append("")  # a blank line between cells, so a cell never runs into the next
    return Source("\n".join(lines) + "\n", tuple(starts))


@dataclass(frozen=True)
class Discovered:
    files: list[Path]
    excluded_explicit: int  # files named on the command line that the config excludes


def _git_visible(directory: Path) -> set[str] | None:
    """Files under `directory` that git does not ignore (tracked or untracked), or None outside git.
    git applies .gitignore exactly (nested files, negations), which a hand-written matcher would not.
    Paths are the real directory joined with git's names (the last component, a symlink perhaps, is
    not followed), as `_walk` spells them."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "."],
            cwd=directory, capture_output=True, timeout=60, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    real = os.path.realpath(directory)
    return {os.path.join(real, name) for name in out.stdout.decode("utf-8", "surrogateescape").split("\0") if name}


def discover(paths: list[str], resolver: ConfigResolver) -> Discovered:
    files: list[Path] = []
    seen: set[str] = set()
    excluded_explicit = 0
    for raw in paths:
        path = Path(raw)
        try:
            exists = path.exists()
            is_dir = path.is_dir()
        except OSError as exc:  # e.g. ELOOP for a symlink loop
            raise CkptlintError(f"{raw}: {exc.strerror or exc}") from None
        if not exists:
            if path.is_symlink():
                raise CkptlintError(f"{raw}: broken symbolic link")
            raise CkptlintError(f"{raw}: no such file or directory")
        if is_dir:
            for found, real in _walk(path, resolver):
                if real not in seen:
                    seen.add(real)
                    files.append(found)
        else:
            if resolver.for_file(path).is_excluded(path):
                excluded_explicit += 1
                continue
            real = str(path.resolve())
            if real not in seen:
                seen.add(real)
                files.append(path)
    return Discovered(files, excluded_explicit)


def _walk(root: Path, resolver: ConfigResolver) -> list[tuple[Path, str]]:
    """(path as found, resolved path) of each lintable file under `root`, in sorted order. Each
    directory is resolved and matched against the excludes once; its entries come from one scandir,
    which also says which are symlinks, so a plain file costs no system call of its own."""
    visible = _git_visible(root)
    found: list[tuple[Path, str]] = []
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue  # vanished or unreadable while walking: nothing to lint there
        real_directory = os.path.realpath(directory)
        excluded = resolver.for_directory(Path(real_directory), resolved=True).exclusion_in(real_directory)
        subdirectories: list[str] = []
        for entry in entries:
            name = entry.name
            try:
                is_symlink = entry.is_symlink()
                # A symlinked directory is not entered, so symlink loops cannot recurse.
                if not is_symlink and entry.is_dir():
                    if not excluded(name):
                        subdirectories.append(entry.path)
                    continue
            except OSError:
                continue
            if not name.endswith(LINTABLE_SUFFIXES) or excluded(name):
                continue
            real = os.path.join(real_directory, name)  # the last component, a symlink perhaps, not followed
            if visible is not None and real not in visible:
                continue
            if is_symlink:
                if not os.path.isfile(entry.path):
                    continue  # broken, or a link to a directory
                real = os.path.realpath(entry.path)
            found.append((Path(entry.path), real))
        pending.extend(reversed(subdirectories))  # depth first, in name order, like os.walk
    return found
