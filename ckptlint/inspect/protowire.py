"""A minimal, bounded protocol-buffer wire-format decoder.

The inspector decodes three small TF messages (the bundle header and entries, and the object graph)
without importing TensorFlow or protobuf. Each message is read one level at a time by its own decoder,
so there is no recursion driven by the data, and every length is checked against the bytes present.
Reference: https://protobuf.dev/programming-guides/encoding/
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it (at most 10 bytes, as the format allows)."""
    end = len(buf)
    if pos < end and buf[pos] < 0x80:  # most varints (field keys, small numbers) are one byte
        return buf[pos], pos + 1
    result = shift = 0
    for _ in range(10):
        if pos >= end:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise WireError("varint longer than 10 bytes")


def fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field; a length-delimited value is a memoryview."""
    view = memoryview(buf)
    pos, end = 0, len(view)
    while pos < end:
        key, pos = read_varint(view, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(view, pos)
            yield number, wire, value
        elif wire == LENGTH:
            length, pos = read_varint(view, pos)
            if length > end - pos:
                raise WireError("length-delimited field runs past the end of the message")
            yield number, wire, view[pos : pos + length]
            pos += length
        elif wire == FIXED32:
            if pos + 4 > end:
                raise WireError("truncated fixed32")
            yield number, wire, int.from_bytes(view[pos : pos + 4], "little")
            pos += 4
        elif wire == FIXED64:
            if pos + 8 > end:
                raise WireError("truncated fixed64")
            yield number, wire, int.from_bytes(view[pos : pos + 8], "little")
            pos += 8
        else:  # groups are not used by any message read here
            raise WireError(f"unsupported wire type {wire}")


def as_int64(value: int) -> int:
    """A varint holding a (two's complement) int64/int32 as a Python int."""
    return value - (1 << 64) if value >= 1 << 63 else value


def as_text(value: int | memoryview) -> str:
    """A string field; invalid UTF-8 is kept visible as escapes instead of failing."""
    if not isinstance(value, memoryview):
        raise WireError("expected a length-delimited string")
    return bytes(value).decode("utf-8", "backslashreplace")


def as_message(value: int | memoryview) -> memoryview:
    if not isinstance(value, memoryview):
        raise WireError("expected an embedded message")
    return value


def as_varint(value: int | memoryview) -> int:
    if isinstance(value, memoryview):
        raise WireError("expected a varint")
    return value
