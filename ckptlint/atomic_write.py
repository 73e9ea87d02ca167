"""The one way ckptlint replaces a file: write a temporary file next to it, then rename it into place.

A reader (an editor, a second ckptlint, CI picking up a report) sees the old file or the new one, never
half of each, and a crash or kill -9 leaves at most a stray temporary file, never a truncated target.

Replacing a file by renaming is not the same as writing into it, so the cases where the two differ are
decided here, once, for every caller (reports, autofix, the cache):

- a symbolic link is written *through* (its target is replaced; the link stays a link), unless the
  caller asks for the link itself to be replaced (`follow_symlinks=False`, the cache's own entries);
- a target that is not a regular file (a device, a FIFO, a directory) is refused: a rename would put a
  regular file in its place, and writing into it could block or destroy data;
- a file the user cannot write is refused (rename only needs the directory to be writable, which would
  silently override a read-only file);
- a file with several hard links is refused: a rename gives this name a new inode and leaves the other
  names holding the old contents;
- the new file gets the old one's permission bits, owner and group, or the write is refused when the
  owner or group cannot be kept;
- `expected`: the file must still hold these bytes just before the rename (it was read, fixed in
  memory, and someone else may have saved it meanwhile).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class WriteRefused(Exception):
    """The file was left as it was; the message is one line, without the path."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str | os.PathLike, data: bytes, *, expected: bytes | None = None,
                     follow_symlinks: bool = True, fsync: bool = True) -> None:
    """Replace the contents of `path` with `data`, or raise WriteRefused saying why nothing changed."""
    target = Path(os.path.realpath(path)) if follow_symlinks else Path(os.path.abspath(path))
    try:
        st: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise WriteRefused(f"cannot inspect the file: {exc.strerror or exc}") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode) and not follow_symlinks:
            st = None  # the caller replaces the link itself, whatever it points at
        else:
            _check_replaceable(target, st)
    if expected is not None and st is None:
        raise WriteRefused("removed since it was read; not written")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        _copy_metadata(tmp, st)
        if expected is not None and _current(target) != expected:
            raise WriteRefused("changed on disk since it was read; not overwritten")
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise WriteRefused(f"cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _check_replaceable(target: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise WriteRefused(f"not a regular file ({_kind(st.st_mode)}); not replaced")
    # The mode bits too: root may write anything, but a file nobody may write is read-only to ckptlint.
    if not os.access(target, os.W_OK) or not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise WriteRefused("the file is read-only; not written")
    if st.st_nlink > 1:
        raise WriteRefused(f"the file has {st.st_nlink} hard links; replacing it would split them, not written")


def _copy_metadata(tmp: str, st: os.stat_result | None) -> None:
    """The old file's mode, owner and group on the new one; a new file gets the mode a plain
    `open(..., "w")` would give it (mkstemp makes it 0600)."""
    if st is None:
        os.chmod(tmp, 0o666 & ~_umask())
        return
    mine = os.stat(tmp)
    if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid) and hasattr(os, "chown"):
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except OSError:
            pass
        mine = os.stat(tmp)
        if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
            raise WriteRefused("the file belongs to another user or group; rewriting it would change that, not written")
    os.chmod(tmp, stat.S_IMODE(st.st_mode))


def _current(target: Path) -> bytes | None:
    try:
        return target.read_bytes()
    except FileNotFoundError:
        raise WriteRefused("removed since it was read; not written") from None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"
