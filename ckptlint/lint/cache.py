"""The result cache: what a file's lint produced, stored as authenticated JSON data.

A cache is an input that decides what the report says, so it gets the same distrust as the code being
linted:

- It lives in the user's cache directory (`$XDG_CACHE_HOME/ckptlint`, else `~/.cache/ckptlint`, as pip
  and pre-commit do), one subdirectory per project, not in the linted tree: a clone cannot ship one.
  `--cache-dir` or `$CKPTLINT_CACHE_DIR` put it elsewhere; a symbolic link on the way to it inside a
  linted tree is refused, so a committed link cannot make ckptlint write outside the tree.
- Entries are data, never code: JSON read with `json.loads` and rebuilt through validating `from_data`
  constructors (ckptlint.lint.serial). Nothing is unpickled, so an entry cannot run anything.
- Entries are authenticated: an HMAC-SHA256 under a per-user secret kept next to the user cache (created
  0600, never inside a repository) covers the entry's key and contents. A planted or copied entry, even
  in an explicit in-tree `--cache-dir`, fails the check and is a miss, so it cannot hide a finding.
- The key is one fingerprint of everything that can change a result: ckptlint's own sources, libcst's
  and Python's versions, every configuration key, the rules selected, the file's path and its content.
  An entry also records the files its result depended on (path and content digest); they are checked
  again on every hit, for results that read other modules.
- A corrupt, truncated, foreign, oversized or special (FIFO, device, link) entry is a miss, never an
  error; writes are atomic (ckptlint.atomic_write), so concurrent runs never see half an entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ckptlint import __version__
from ckptlint.atomic_write import WriteRefused, write_atomically
from ckptlint.errors import CkptlintError

FORMAT = "ckptlint-cache/2"
_MAGIC = FORMAT.encode() + b"\n"
MAX_ENTRY_BYTES = 32 * 1024 * 1024  # a finding list this large is not worth caching
MAX_PACK_BYTES = 256 * 1024 * 1024
_SECRET_NAME = "secret"
_SECRET_BYTES = 32
ENV_CACHE_DIR = "CKPTLINT_CACHE_DIR"


# ---- where ----------------------------------------------------------------------------------------
def user_cache_home() -> Path | None:
    """`$XDG_CACHE_HOME/ckptlint`, else `~/.cache/ckptlint`; None when neither can be worked out."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "ckptlint"
    home = os.path.expanduser("~")
    return Path(home) / ".cache" / "ckptlint" if os.path.isabs(home) else None


def project_directory(home: Path, project_root: Path) -> Path:
    """The default place of one project's entries: named by a digest of the project's real path."""
    digest = hashlib.sha256(os.fsencode(os.path.realpath(project_root))).hexdigest()[:24]
    return home / "v2" / digest


def refuse_linked_directory(directory: Path, trees: Iterable[Path]) -> None:
    """A cache directory reached through a symbolic link inside a linted tree (or the working directory)
    is refused: a committed `.ckptlint_cache -> ~/somewhere` would otherwise receive ckptlint's writes."""
    target = Path(os.path.abspath(directory))
    for tree in trees:
        root = Path(os.path.abspath(tree))
        if root != target and root not in target.parents:
            continue
        current = root
        for part in target.relative_to(root).parts:
            current = current / part
            if os.path.islink(current):
                raise CkptlintError(f"cache directory {directory}: {current} is a symbolic link inside the linted "
                                    f"tree; not followed (remove it, or choose another --cache-dir)")


# ---- what -----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """ckptlint's own sources (editing a rule invalidates, even without a version bump), the entry
    format, and the versions of what parses: libcst, and Python (CKPT000's messages, the depth guard)."""
    import ckptlint
    import ckptlint.rules

    digest = hashlib.sha256(f"{__version__}/{FORMAT}/{sys.version}/{_libcst_version()}".encode())
    for package_dir in (Path(ckptlint.__file__).parent, Path(ckptlint.rules.__file__).parent):
        for path in sorted(package_dir.rglob("*.py")):
            if "harness" in path.parts or "inspect" in path.parts:
                continue
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _libcst_version() -> str:
    """What identifies the installed libcst, without importing it (a warm run never does) nor reading
    its distribution metadata (importlib.metadata costs a fifth of a second): its `_version.py`, and the
    name and size of each file at the top of the package (the native parser among them)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("libcst")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return "absent"
    directory = os.path.dirname(spec.origin)
    digest = hashlib.sha256()
    try:
        with open(os.path.join(directory, "_version.py"), "rb") as handle:
            digest.update(handle.read())
    except OSError:
        pass
    try:
        with os.scandir(directory) as scan:
            for name, size in sorted((entry.name, entry.stat().st_size) for entry in scan if entry.is_file()):
                digest.update(f"{name}:{size};".encode("utf-8", "surrogateescape"))
    except OSError:
        pass
    return digest.hexdigest()[:16]


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- the secret -----------------------------------------------------------------------------------
def load_secret(home: Path) -> bytes | None:
    """The per-user key that authenticates entries, created on first use (0600, in a 0700 directory).
    None when it cannot be created or is not trustworthy (a link, another owner, readable by others):
    the run then goes without a cache rather than with one anybody could write."""
    path = home / _SECRET_NAME
    try:
        os.makedirs(home, mode=0o700, exist_ok=True)
        secret = _read_secret(path)
        if secret is None:
            _create_secret(home, path)
            secret = _read_secret(path)
        return secret
    except OSError:
        return None


def _read_secret(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        mine = not hasattr(os, "geteuid") or st.st_uid == os.geteuid()
        if not stat.S_ISREG(st.st_mode) or not mine or st.st_mode & 0o077 or st.st_size != 2 * _SECRET_BYTES:
            raise OSError("the cache secret is not a private file of this user")
        value = os.read(fd, 2 * _SECRET_BYTES + 1)
    finally:
        os.close(fd)
    return bytes.fromhex(value.decode("ascii"))


def _create_secret(home: Path, path: Path) -> None:
    """Written to a private temporary file, then linked into place: a second run starting at the same
    moment either wins the link or reads the first one's complete secret."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=home, prefix=".secret-")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(_SECRET_BYTES))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


# ---- the cache ------------------------------------------------------------------------------------
class Cache:
    """Entries under `directory`, authenticated with `secret`. Values are plain JSON data; the engine
    turns them into outcomes (FileOutcome.from_data), and a DataError there is a miss too."""

    def __init__(self, directory: Path, secret: bytes, *, marker: bool = False) -> None:
        self.directory = directory
        self._root = str(directory)
        self._secret = secret
        self._marker = marker  # write a .gitignore: the directory was named by the user, maybe in a tree
        # Worked out once, by the process that opens the cache (pool workers get it with their tasks),
        # so every worker of one run uses the same fingerprint.
        self.code = code_fingerprint()
        self._pack_name: str | None = None  # see use_pack
        self._pack: dict = {}
        self._pack_stale = False
        self._used: dict[str, list] = {}

    def __getstate__(self) -> dict:
        """What a pool worker gets: the pack is the parent's business (and large)."""
        state = dict(self.__dict__)
        state.update(_pack_name=None, _pack={}, _pack_stale=False, _used={})
        return state

    @classmethod
    def open(cls, explicit: Path | None, project_root: Path, trees: Iterable[Path]) -> Cache | None:
        """The run's cache: `explicit` (--cache-dir, else $CKPTLINT_CACHE_DIR) or the project's directory
        in the user cache. None when there is no user cache directory for the secret."""
        home = user_cache_home()
        if explicit is None and os.environ.get(ENV_CACHE_DIR):
            explicit = Path(os.environ[ENV_CACHE_DIR])
        if explicit is not None:
            refuse_linked_directory(explicit, [Path.cwd(), *trees])
        if home is None:
            return None
        secret = load_secret(home)
        if secret is None:
            return None
        if explicit is not None:
            return cls(explicit, secret, marker=True)
        return cls(project_directory(home, project_root), secret)

    # -- keys --
    def context(self, config_fingerprint: str, codes: tuple[str, ...], max_size: int) -> str:
        """The part of a key shared by every file linted with one configuration and selection."""
        payload = json.dumps([FORMAT, self.code, config_fingerprint, list(codes), max_size])
        return hashlib.sha256(payload.encode()).hexdigest()

    @staticmethod
    def key(context: str, path: str, data: bytes) -> str:
        digest = hashlib.sha256(context.encode())
        digest.update(b"\0")
        digest.update(os.fsencode(path))
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    @staticmethod
    def project_key(code: str, file_keys: list[str], scope: Iterable[str] | None = None) -> str:
        """The key of a project rule's findings: the rule and the keys of the files whose summaries it
        read, in order (each already covers the sources, config, selection, path and content), and the
        files its findings may be reported in when that is not all of them (ckptlint.lint.context)."""
        digest = hashlib.sha256(f"project\0{code}\0".encode())
        for key in file_keys:
            digest.update(key.encode() + b"\0")
        if scope is not None:
            digest.update(b"scope\0")
            for path in sorted(scope):
                digest.update(os.fsencode(path) + b"\0")
        return digest.hexdigest()

    # -- entries --
    def _path(self, key: str) -> str:
        return os.path.join(self._root, key[:2], key[2:] + ".json")

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest().encode()

    def _authentic(self, raw: bytes | None):
        """The JSON document of a stored file when its HMAC is right, else None."""
        if raw is None or not raw.startswith(_MAGIC):
            return None
        mac, _, body = raw[len(_MAGIC):].partition(b"\n")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            return None

    def _sealed(self, document) -> bytes:
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode()
        return _MAGIC + self._mac(body) + b"\n" + body

    def get(self, key: str, kind: str):
        """The value stored under `key`, or None: absent, unreadable, not authentic, another kind, of
        another format, or a dependency changed since."""
        packed = self._pack.get(key)
        if packed is not None and packed[0] == kind and _dependencies_unchanged(packed[1]):
            self._note(key, packed)
            return packed[2]
        entry = self._authentic(_read_entry(self._path(key)))
        if (type(entry) is not dict or set(entry) != {"key", "kind", "depends", "value"} or entry["key"] != key
                or entry["kind"] != kind or not _dependencies_unchanged(entry["depends"])):
            return None
        self._note(key, [kind, entry["depends"], entry["value"]])
        return entry["value"]

    def put(self, key: str, kind: str, value, depends: Iterable[tuple[str, str]] = ()) -> None:
        """Store `value` (plain JSON data). A cache that cannot be written is no cache, not an error."""
        pairs = [list(d) for d in depends]
        data = self._sealed({"key": key, "kind": kind, "depends": pairs, "value": value})
        if len(data) > MAX_ENTRY_BYTES:
            return
        self._note(key, [kind, pairs, value])
        try:
            self._ensure_directory(key[:2])
            write_atomically(self._path(key), data, follow_symlinks=False, fsync=False)
        except (OSError, WriteRefused):
            pass  # a read-only or full disk still lints, just without a cache

    # -- the run pack --
    # A warm run of a whole project reads one entry per file: thousands of opens, MAC checks and JSON
    # parses. A large run therefore also keeps every entry it used in one authenticated pack, named by
    # the paths it was given, and reads that first next time. The per-file entries stay the truth: the
    # pack only saves reading them, and a pack that is missing, stale or forged is simply not used.
    PACK_MIN_FILES = 200

    def use_pack(self, paths: list[str], label: str = "") -> None:
        """Read (and afterwards keep up to date) the pack of a run over `paths` (of that kind of run:
        `label`)."""
        absolute = sorted(os.path.abspath(p) for p in paths)
        named = [*absolute, label] if label else absolute
        name = hashlib.sha256(json.dumps(named, ensure_ascii=False).encode("utf-8", "surrogateescape")).hexdigest()
        self._pack_name = f"pack-{name[:24]}.json"
        document = self._authentic(_read_entry(os.path.join(self._root, self._pack_name), MAX_PACK_BYTES))
        entries = document.get("entries") if type(document) is dict and document.get("kind") == "pack" else None
        self._pack = {key: item for key, item in entries.items() if _packed_item(item)} if type(entries) is dict else {}
        self._pack_stale = not self._pack

    def remember(self, key: str, kind: str, value, depends: Iterable[tuple[str, str]] = ()) -> None:
        """An entry a pool worker stored: the pack should hold it too."""
        self._note(key, [kind, [list(d) for d in depends], value])

    def _note(self, key: str, item: list) -> None:
        if self._pack_name is None:
            return
        if key not in self._pack:
            self._pack_stale = True
        self._used[key] = item

    def save_pack(self) -> None:
        """Write the pack when the run used entries it did not hold (or used fewer than it holds)."""
        if self._pack_name is None or not self._used:
            return
        if not self._pack_stale and len(self._used) == len(self._pack):
            return
        data = self._sealed({"kind": "pack", "entries": self._used})
        if len(data) > MAX_PACK_BYTES:
            return
        try:
            self._ensure_directory(None)
            write_atomically(os.path.join(self._root, self._pack_name), data, follow_symlinks=False, fsync=False)
        except (OSError, WriteRefused):
            pass

    def _ensure_directory(self, shard: str | None) -> None:
        """The cache directory and the entry's shard, created private; an existing one must be a real
        directory (a link planted in an in-tree cache directory is not followed)."""
        fresh = not os.path.isdir(self._root)
        os.makedirs(self._root, mode=0o700, exist_ok=True)
        if fresh and self._marker:
            write_atomically(os.path.join(self._root, ".gitignore"), b"# created by ckptlint\n*\n",
                             follow_symlinks=False, fsync=False)
        if shard is None:
            if not stat.S_ISDIR(os.stat(self._root).st_mode):
                raise OSError("the cache directory is not a directory")
            return
        shard_path = os.path.join(self._root, shard)
        try:
            os.mkdir(shard_path, 0o700)
        except FileExistsError:
            pass
        # The root may be reached through the user's own links (refuse_linked_directory vetted those in a
        # linted tree); a shard is ckptlint's and must be a plain directory.
        if not stat.S_ISDIR(os.lstat(shard_path).st_mode) or not stat.S_ISDIR(os.stat(self._root).st_mode):
            raise OSError("a cache directory is not a directory")


def _packed_item(item) -> bool:
    """The shape of one pack entry: [kind, depends, value]."""
    return type(item) is list and len(item) == 3 and item[0] in ("file", "project") and type(item[1]) is list


def _read_entry(path: str, limit: int = MAX_ENTRY_BYTES) -> bytes | None:
    """An entry's bytes, read without following a link, without blocking on a FIFO, and only from a
    regular file of a sane size."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit + 4096:
            return None
        chunks = []
        remaining = st.st_size + 1
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _dependencies_unchanged(depends) -> bool:
    """Every (path, content digest) the entry's result read is still there with the same content."""
    if type(depends) is not list:
        return False
    from ckptlint.lint.sources import FileTooLarge, UnreadableFile, read_regular_file

    for item in depends:
        if type(item) is not list or len(item) != 2 or not all(type(part) is str for part in item):
            return False
        try:
            data = read_regular_file(item[0], MAX_ENTRY_BYTES)
        except (UnreadableFile, FileTooLarge):
            return False
        if content_digest(data) != item[1]:
            return False
    return True
