"""File access for untrusted artifacts: regular files only, bounded reads, one-line errors.

A path inside an artifact (a `checkpoint` state file naming a prefix, a data shard beside an index) can
point at a FIFO, a device or a 5 MB string. Opening a FIFO blocks forever and /dev/zero never ends, so
every file is opened non-blocking, checked to be a regular file through the open descriptor (no race
between the check and the read), and read with an explicit upper bound.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ckptlint.errors import CkptlintError
from ckptlint.inspect.limits import human

if TYPE_CHECKING:  # _typeshed exists only for type checkers: the type io.RawIOBase.readinto takes
    from _typeshed import WriteableBuffer


def first_line(exc: BaseException) -> str:
    """The first line of an exception message, or its type when it has none (C++ errors span lines)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_path_text(path: str, max_chars: int, what: str) -> None:
    """Refuse paths the OS would reject with an obscure error (NUL bytes, longer than PATH_MAX)."""
    if "\0" in path:
        raise CkptlintError(f"{what}: the path contains a NUL byte")
    if len(path) > max_chars:
        raise CkptlintError(f"{what}: the path is {len(path):,} characters long (limit {max_chars:,})")


def open_regular(path: str | Path, what: str | None = None) -> io.FileIO:
    """Open a regular file for reading; FIFOs, devices, sockets and directories are refused."""
    label = what or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CkptlintError(f"{label}: no such file") from None
    except (OSError, ValueError) as exc:
        raise CkptlintError(f"{label}: cannot open: {getattr(exc, 'strerror', None) or first_line(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CkptlintError(f"{label}: not a regular file")
        os.set_blocking(fd, True)
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def is_regular_file(path: str | Path) -> bool:
    """`Path.is_file()` without raising on over-long or NUL-containing paths."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def is_directory(path: str | Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_limited(path: str | Path, limit: int, what: str) -> bytes:
    """The whole file, refused when it is larger than `limit` (checked before and while reading)."""
    with open_regular(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise CkptlintError(f"{what}: {human(size)} is over the {human(limit)} limit for this file")
        data = fh.read(limit + 1)
    if len(data) > limit:  # the file grew while we read it
        raise CkptlintError(f"{what}: over the {human(limit)} limit for this file")
    return data


def pread_exact(fh: io.FileIO, offset: int, size: int, what: str) -> bytes:
    """`size` bytes at `offset`; a short read is a truncated file."""
    try:
        data = os.pread(fh.fileno(), size, offset)
    except OSError as exc:
        raise CkptlintError(f"{what}: read failed: {exc.strerror or exc}") from None
    if len(data) != size:
        raise CkptlintError(f"{what}: truncated: {size} bytes expected at offset {offset}, {len(data)} present")
    return data


class WindowFile(io.RawIOBase):
    """A read-only, seekable view of bytes [start, start + length) of an open file.

    Lets h5py read the `model.weights.h5` member of a .keras zip in place (Keras stores it
    uncompressed), so a multi-GB archive is never copied into memory.
    """

    def __init__(self, fh: io.FileIO, start: int, length: int) -> None:
        super().__init__()
        self._fd = fh.fileno()
        self._start = start
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        pos = base + offset
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        want = max(0, min(len(view), self._length - self._pos))
        if want == 0:
            return 0
        data = os.pread(self._fd, want, self._start + self._pos)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)
