"""The result cache: one small pickle per (file content, path, ckptlint version and rule sources,
resolved config). Entries are written to a temp file and renamed into place, so concurrent runs
(pre-commit and an editor, two CI shards) never read a half-written entry; a corrupt or unreadable
entry is a miss, never an error."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

from ckptlint import __version__

CACHE_DIR_NAME = ".ckptlint_cache"
_FORMAT = "1"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of ckptlint's own sources: editing a rule (even without a version bump) invalidates."""
    import ckptlint
    import ckptlint.rules

    digest = hashlib.sha256(f"{__version__}/{_FORMAT}".encode())
    for package_dir in (Path(ckptlint.__file__).parent, Path(ckptlint.rules.__file__).parent):
        for path in sorted(package_dir.rglob("*.py")):
            if "harness" in path.parts or "inspect" in path.parts:
                continue
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


class Cache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._root = str(directory)
        # Hashed once, by the process that creates the cache (the pool's workers get it pickled), so
        # every worker of one run uses the same code fingerprint.
        self.code = code_fingerprint()

    def key(self, path: str, data: bytes, config_fingerprint: str, codes: tuple[str, ...]) -> str:
        digest = hashlib.sha256()
        for part in (self.code, config_fingerprint, ",".join(codes), path):
            digest.update(part.encode("utf-8", "surrogateescape"))
            digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def project_key(self, code: str, file_keys: list[str]) -> str:
        """The key of a project rule's findings: the rule and the keys of the files whose summaries it
        read, in order (each already covers the ckptlint sources, config, selection, path, content)."""
        digest = hashlib.sha256(f"project\0{code}\0".encode())
        for key in file_keys:
            digest.update(key.encode() + b"\0")
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / key[2:]

    def get(self, key: str):
        try:
            # A string path: a warm run reads thousands of entries, and pathlib's joins showed up.
            with open(os.path.join(self._root, key[:2], key[2:]), "rb") as handle:
                return pickle.load(handle)
        except Exception:  # a miss: absent, truncated by a crash, written by another version
            return None

    def put(self, key: str, value) -> None:
        target = self._entry(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._ensure_gitignore()
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except OSError:
            pass  # a read-only checkout still lints, just without a cache

    def _ensure_gitignore(self) -> None:
        marker = self.directory / ".gitignore"
        if not marker.exists():
            marker.write_text("# created by ckptlint\n*\n")
