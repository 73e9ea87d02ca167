"""Python-written files: plain-file saves, torn writes inside a targeted save, and content fingerprints.

`open()` is wrapped so that a file the program rewrites inside the trial directory after its first update
(`np.save`, `json.dump`, the zip of a `.keras` file, BackupAndRestore's metadata) counts as a save, and,
inside the save that --kill-in-save targets, is torn: half of its first write reaches the disk, then the
process dies.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
from typing import Any, Optional

_FINGERPRINT_LIMIT = 64 * 1024 * 1024


def fingerprint(paths: list[str]) -> Optional[str]:
    """A content hash of existing files (size + head + tail beyond 64 MiB), or None when none exists."""
    digest = hashlib.sha256()
    found = False
    for path in paths:
        try:
            size = os.path.getsize(path)
            with builtins.open(path, "rb") as fh:
                if size <= _FINGERPRINT_LIMIT:
                    digest.update(fh.read())
                else:
                    digest.update(str(size).encode())
                    digest.update(fh.read(1 << 20))
                    fh.seek(-(1 << 20), os.SEEK_END)
                    digest.update(fh.read())
            found = True
        except OSError:
            continue
    return digest.hexdigest()[:24] if found else None


def checkpoint_files(prefix: Any) -> list[str]:
    """The file that identifies a TF checkpoint (its index), or the path itself for single-file formats."""
    text = os.fspath(prefix) if prefix is not None else ""
    if not text:
        return []
    if os.path.isdir(text):
        return [os.path.join(text, "variables", "variables.index")]
    return [text + ".index"] if os.path.exists(text + ".index") else [text]


class _TornWriter:
    """A file object that writes half of its first write, flushes it, and lets the probe kill the process."""

    def __init__(self, real: Any, probe: Any, path: str) -> None:
        self._real = real
        self._probe = probe
        self._path = path

    def write(self, data: Any) -> Any:
        half = data[: max(1, len(data) // 2)]
        self._real.write(half)
        self._real.flush()
        self._probe.torn_write_point(f"mid-write of {os.path.basename(self._path)} ({len(half)} of "
                                     f"{len(data)} bytes of its first write on disk)")
        return self._real.write(data[len(half):])

    def __enter__(self) -> "_TornWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._real.__exit__(*exc)

    def __iter__(self) -> Any:
        return iter(self._real)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install_open_wrapper(probe: Any) -> None:
    original = builtins.open

    def open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:  # noqa: A001 (same name as builtin)
        handle = original(file, mode, *args, **kwargs)
        if probe.disabled or probe.updates == 0 or not isinstance(file, (str, bytes, os.PathLike)):
            return handle
        if not any(flag in mode for flag in "wx"):
            return handle
        watched = probe.guard("open() watch", _watched, probe, file)
        if not watched:
            return handle
        path = watched
        if probe.save_depth == 0:  # a plain-file save of the program's own
            probe.begin_save("file", path)
            probe.end_save("file", path, None, ok=not probe.armed)
        if probe.armed:
            return _TornWriter(handle, probe, path)
        return handle

    builtins.open = open
    io.open = open


def _watched(probe: Any, file: Any) -> Optional[str]:
    path = os.path.realpath(os.fsdecode(file))
    inside = path == probe.trial_dir or path.startswith(probe.trial_dir + os.sep)
    if not inside or os.path.basename(path).startswith(("events-", "snap-")):
        return None
    return path
