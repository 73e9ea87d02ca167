"""Open a `.keras` archive (a zip) without trusting what it declares.

Keras writes every member uncompressed (ZIP_STORED), so `model.weights.h5` is read in place through a
window on the archive: a multi-GB model is never copied into memory. The JSON members are read whole
but only up to a size limit, counting the bytes actually inflated (a member's header can lie about its
size), and a member that would inflate far beyond its stored bytes is refused before it is inflated:
a 10 MB archive whose config.json inflates to 10 GB is one line, not an out-of-memory kill.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.inspect.h5source import H5Source
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits, MiB, human
from ckptlint.inspect.safe_io import WindowFile, first_line, open_regular

WEIGHTS = "model.weights.h5"
_LOCAL_HEADER = 30
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


@dataclass
class KerasArchive:
    names: list[str]
    config: Any = None
    metadata: Any = None
    notes: list[str] = field(default_factory=list)


def _directory_size(fh: Any, file_size: int) -> tuple[int, int] | None:
    """(entries, bytes) of the zip's central directory from its end record, read before zipfile parses
    (and keeps in memory) every entry; None when there is no end record (zipfile then says so)."""
    tail_len = min(file_size, 22 + 0xFFFF)
    tail = os.pread(fh.fileno(), tail_len, file_size - tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):
        return None
    entries = int.from_bytes(tail[at + 10 : at + 12], "little")
    size = int.from_bytes(tail[at + 12 : at + 16], "little")
    locator = tail.rfind(_EOCD64_LOCATOR, 0, at)
    if (entries == 0xFFFF or size == 0xFFFFFFFF) and locator >= 0 and locator + 20 <= len(tail):
        offset = int.from_bytes(tail[locator + 8 : locator + 16], "little")
        record = os.pread(fh.fileno(), 56, offset) if 0 <= offset < file_size else b""
        if len(record) == 56 and record[:4] == _EOCD64:
            entries = int.from_bytes(record[32:40], "little")
            size = int.from_bytes(record[40:48], "little")
    return entries, size


def _is_bomb(info: zipfile.ZipInfo, limits: Limits) -> bool:
    return (info.compress_type != zipfile.ZIP_STORED and info.file_size > limits.bomb_floor
            and info.file_size > limits.max_expansion * max(1, info.compress_size))


def _bomb_error(path: str, info: zipfile.ZipInfo) -> CkptlintError:
    return CkptlintError(f"{path}: {info.filename} declares {human(info.file_size)} but stores "
                         f"{human(info.compress_size)}: refusing to inflate a decompression bomb")


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, limit: int, sink: Any) -> int:
    """Stream a member into `sink` (a list of bytes or a file), stopping past `limit` or its declared size.

    zipfile itself stops at the declared size (then fails the CRC); the count here does not rely on it."""
    written = 0
    cap = min(limit, info.file_size)
    with zf.open(info) as member:
        while True:
            piece = member.read(1 * MiB)
            if not piece:
                break
            written += len(piece)
            if written > cap:
                raise CkptlintError(f"{path}: {info.filename} inflates beyond its declared {human(info.file_size)}")
            if isinstance(sink, list):
                sink.append(piece)
            else:
                sink.write(piece)
    return written


def _json_member(zf: zipfile.ZipFile, path: str, name: str, limits: Limits, archive: KerasArchive) -> Any:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if _is_bomb(info, limits):
        raise _bomb_error(path, info)
    if info.file_size > limits.max_json_bytes:
        archive.notes.append(f"{name} is {human(info.file_size)}, over the {human(limits.max_json_bytes)} limit: "
                             "not read (layer order and compile config unknown)")
        return None
    pieces: list[bytes] = []
    _inflate(zf, info, path, limits.max_json_bytes, pieces)
    return parse_json(b"".join(pieces), f"{path}: {name}")


def parse_json(data: bytes | str, what: str) -> Any:
    """JSON text -> Python objects; malformed or absurdly nested JSON is a one-line error."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except RecursionError:
        raise CkptlintError(f"{what} is nested too deeply to parse") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CkptlintError(f"{what} is not valid JSON ({first_line(exc)})") from None


def _weights_file(zf: zipfile.ZipFile, fh: Any, file_size: int, path: str, limits: Limits) -> tuple[Any, int]:
    """A seekable file object holding the weights member, and its size."""
    info = zf.getinfo(WEIGHTS)
    if info.compress_type == zipfile.ZIP_STORED:
        header = os.pread(fh.fileno(), _LOCAL_HEADER, info.header_offset)
        if len(header) != _LOCAL_HEADER or header[:4] != b"PK\x03\x04":
            raise CkptlintError(f"{path}: corrupt .keras archive (bad local header for {WEIGHTS})")
        start = (info.header_offset + _LOCAL_HEADER + int.from_bytes(header[26:28], "little")
                 + int.from_bytes(header[28:30], "little"))
        if start + info.file_size > file_size or info.compress_size != info.file_size:
            raise CkptlintError(f"{path}: truncated .keras archive ({WEIGHTS} runs past the end of the file)")
        return WindowFile(fh, start, info.file_size), info.file_size
    # Compressed (someone re-zipped it): inflate to a temporary file, never into memory.
    if _is_bomb(info, limits):
        raise _bomb_error(path, info)
    spool = tempfile.TemporaryFile(prefix="ckptlint-", suffix=".h5")
    try:
        size = _inflate(zf, info, path, info.file_size, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, size


def open_keras_archive(path: str, limits: Limits = DEFAULT_LIMITS) -> tuple[KerasArchive, H5Source]:
    """The archive's JSON members and an open H5Source on its weights (the caller closes the source)."""
    fh = open_regular(path)
    try:
        file_size = os.fstat(fh.fileno()).st_size
        directory = _directory_size(fh, file_size)
        if directory and (directory[0] > limits.max_zip_members or directory[1] > file_size):
            raise CkptlintError(f"{path}: corrupt .keras archive (its directory lists {directory[0]:,} members "
                                f"in {human(directory[1])})")
        zf = zipfile.ZipFile(fh)
        names = zf.namelist()
        archive = KerasArchive(names=names)
        if WEIGHTS not in names:
            listed = ", ".join(n for n in names if n)[:200] or "none"
            raise CkptlintError(f"{path}: not a Keras 3 .keras archive (no {WEIGHTS}; members: {listed})")
        for info in zf.infolist():
            if info.flag_bits & 0x1:
                raise CkptlintError(f"{path}: encrypted .keras archive member {info.filename}: not read")
        archive.config = _json_member(zf, path, "config.json", limits, archive)
        archive.metadata = _json_member(zf, path, "metadata.json", limits, archive)
        weights, size = _weights_file(zf, fh, file_size, path, limits)
    except CkptlintError:
        fh.close()
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        fh.close()
        raise CkptlintError(f"{path}: corrupt or truncated .keras archive ({first_line(exc)})") from None
    except Exception as exc:  # zlib.error, NotImplementedError (unknown compression) and friends
        fh.close()
        raise CkptlintError(f"{path}: corrupt .keras archive ({type(exc).__name__}: {first_line(exc)})") from None

    def release() -> None:
        weights.close()
        fh.close()

    return archive, H5Source(f"{path}!{WEIGHTS}", weights, size, limits, on_close=release)
