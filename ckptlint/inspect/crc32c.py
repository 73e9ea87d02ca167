"""CRC-32C (Castagnoli), the checksum TF's tensor bundle stores for every index block and tensor.

The standard library has only CRC-32, and a byte-at-a-time Python loop runs at about 10 MB/s, too slow
to verify a checkpoint of a few GB. Large buffers are therefore split into many lanes that numpy steps
together (four bytes per lane per step, "slicing-by-4" tables); the lanes' registers are then joined
with the CRC's linearity: the register after ``A + B`` is ``shift(len(B), reg_after_A) ^ reg_after_B``
where ``shift(n, ·)`` (feeding n zero bytes) is a 32x32 bit matrix applied through four byte tables.
Large buffers go through in 1 MiB blocks (the rest, under 1 MiB, byte by byte).
"""

from __future__ import annotations

import functools

import numpy as np

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8
_LANES = 16384  # a power of two (lanes are joined pairwise); 16K measured fastest (cache-resident tables)
_BLOCK = _LANES * 64  # 1 MiB per lane pass: one fixed lane length, so the join tables are built once


def _byte_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (_POLY if c & 1 else 0)
        table.append(c)
    return table


_TABLE = _byte_table()
_SLICE_TABLES: list[list[int]] = [_TABLE]
for _k in range(1, 4):
    _SLICE_TABLES.append([(_SLICE_TABLES[_k - 1][i] >> 8) ^ _TABLE[_SLICE_TABLES[_k - 1][i] & 0xFF] for i in range(256)])
_NP_SLICES = [np.array(t, dtype=np.uint32) for t in _SLICE_TABLES]


def _update_bytes(register: int, data: bytes | memoryview) -> int:
    table = _TABLE
    for byte in bytes(data):
        register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
    return register


def _apply(columns: tuple[int, ...] | list[int], value: int) -> int:
    """Apply a GF(2) 32x32 matrix (given as the images of the 32 unit vectors) to a 32-bit value."""
    out, bit = 0, 0
    while value:
        if value & 1:
            out ^= columns[bit]
        value >>= 1
        bit += 1
    return out


_ONE_ZERO_BYTE = tuple(_TABLE[(1 << j) & 0xFF] ^ ((1 << j) >> 8) for j in range(32))


@functools.lru_cache(maxsize=128)
def _zeros_operator(n: int) -> tuple[int, ...]:
    """The matrix of feeding n zero bytes to the register (binary exponentiation)."""
    result = tuple(1 << j for j in range(32))
    base = _ONE_ZERO_BYTE
    while n:
        if n & 1:
            result = tuple(_apply(base, col) for col in result)
        base = tuple(_apply(base, col) for col in base)
        n >>= 1
    return result


@functools.lru_cache(maxsize=128)
def _shift_tables(n: int) -> tuple[np.ndarray, ...]:
    op = _zeros_operator(n)
    return tuple(np.array([_apply(op, b << (8 * k)) for b in range(256)], dtype=np.uint32) for k in range(4))


def _update_lanes(register: int, data: np.ndarray) -> int:
    """Register after `data` (uint8, `_BLOCK` bytes), processed in parallel lanes."""
    words_per_lane = len(data) // (4 * _LANES)
    # words[j, i] is the j-th little-endian word of lane i (lane i is one contiguous stretch of the data)
    words = np.ascontiguousarray(data.reshape(_LANES, words_per_lane, 4).transpose(1, 0, 2)).view("<u4")
    words = words.reshape(words_per_lane, _LANES)
    state = np.zeros(_LANES, dtype=np.uint32)
    state[0] = register
    x = np.empty_like(state)
    index = np.empty_like(state)
    acc = np.empty_like(state)
    t0, t1, t2, t3 = _NP_SLICES
    for row in words:
        np.bitwise_xor(state, row, out=x)
        np.bitwise_and(x, 0xFF, out=index)
        np.take(t3, index, out=acc)
        np.right_shift(x, 8, out=index)
        np.bitwise_and(index, 0xFF, out=index)
        np.take(t2, index, out=state)
        np.bitwise_xor(acc, state, out=acc)
        np.right_shift(x, 16, out=index)
        np.bitwise_and(index, 0xFF, out=index)
        np.take(t1, index, out=state)
        np.bitwise_xor(acc, state, out=acc)
        np.right_shift(x, 24, out=index)
        np.take(t0, index, out=state)
        np.bitwise_xor(acc, state, out=state)
    width = 4 * words_per_lane  # bytes per lane; doubles as neighbouring lanes are joined
    while len(state) > 1:
        s0, s1, s2, s3 = _shift_tables(width)
        left, right = state[0::2], state[1::2]
        state = s0[left & 0xFF] ^ s1[(left >> 8) & 0xFF] ^ s2[(left >> 16) & 0xFF] ^ s3[left >> 24] ^ right
        width *= 2
    return int(state[0])


class Crc32c:
    """Incremental CRC-32C: `update(chunk)` any number of times, then `value`."""

    def __init__(self) -> None:
        self._register = 0xFFFFFFFF

    def update(self, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8).ravel()
        full = len(buf) - len(buf) % _BLOCK
        for start in range(0, full, _BLOCK):
            self._register = _update_lanes(self._register, buf[start : start + _BLOCK])
        if full < len(buf):
            self._register = _update_bytes(self._register, buf[full:].tobytes())

    @property
    def value(self) -> int:
        return self._register ^ 0xFFFFFFFF


def crc32c(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    c = Crc32c()
    c.update(data)
    return c.value


def unmask(masked: int) -> int:
    """TF stores CRCs "masked" (rotated and offset) so a CRC of data holding CRCs stays well-behaved."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF
