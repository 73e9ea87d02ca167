"""How a file's bytes become the text the linter reads: a bounded read of a regular file, decoding
(PEP 263), notebooks (code cells joined into one module with IPython's syntax read as IPython does,
lines mapped back to cells: ckptlint.lint.notebooks), and the problems each can have turned into
one-line messages instead of tracebacks.

The read is where hostile paths are stopped: a FIFO named `train.py` would block a plain `open()` for
ever and `/dev/zero` would be read until memory runs out, so the file is opened without blocking,
checked to be a regular file with `fstat`, compared with `max-file-size` before a byte is read, and read
up to one byte past the limit (a file that grows meanwhile is still caught).

Decoding is where text is stopped that libcst's native parser cannot take: lone surrogates (a
`unicode_escape` or `utf-7` cookie can produce them) and NUL characters, which CPython refuses too.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tokenize
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Source:
    """Decoded source of one file. For notebooks, `text` is the code cells joined, and `cell_starts`
    holds (cell number, first line in `text`) in order, so a line can be mapped back to its cell."""

    text: str
    cell_starts: tuple[tuple[int, int], ...] | None = None

    def cell_of(self, line: int) -> tuple[int | None, int]:
        """(cell, line in the cell) of a line of `text`; (None, line) outside notebooks."""
        if not self.cell_starts:
            return None, line
        index = max(bisect_right(self._first_lines, line) - 1, 0)
        cell, start = self.cell_starts[index]
        return cell, line - start + 1

    def joined_line(self, cell: int | None, line: int) -> int:
        """The line of `text` that is line `line` of `cell` (the inverse of cell_of)."""
        if cell is None or not self.cell_starts:
            return line
        return self.starts_by_cell[cell] + line - 1

    def column_shift(self, line: int) -> int:
        """Columns removed at the start of line `line` of `text` before linting (notebooks: IPython's
        dedent of an indented cell); added back to the columns reported."""
        return 0

    def original_line(self, line: int) -> str:
        """Line `line` of the file as written, for reports."""
        lines = self._lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def without_part_at(self, path: str, line: int, col: int, message: str):
        """When libcst rejects `text` at `line`, `col` (1-based): this source without the part that holds
        that line, and the CKPT000 finding for it, if parts can be left out (notebook cells); else None."""
        return None

    # Worked out once per source: a notebook with thousands of cells and findings maps every location.
    @cached_property
    def _first_lines(self) -> list[int]:
        return [first for _cell, first in self.cell_starts or ()]

    @cached_property
    def starts_by_cell(self) -> dict[int, int]:
        return dict(self.cell_starts or ())


    @cached_property
    def _lines(self) -> list[str]:
        return _LINE_END.split(self.text)  # the line ends CPython and libcst count (not form feeds)


class UnreadableFile(Exception):
    """The file exists but cannot be linted; the message is one line, without the path."""


class FileTooLarge(Exception):
    """The file is over max-file-size; it is skipped with a notice, unread."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def read_regular_file(path: str | os.PathLike, max_size: int) -> bytes:
    """The bytes of a regular file of at most `max_size` bytes. Raises FileTooLarge, or UnreadableFile
    for anything that is not a regular file or cannot be read."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"not a regular file ({file_kind(st.st_mode)})")
        if st.st_size > max_size:
            raise FileTooLarge(st.st_size)
        chunks: list[bytes] = []
        remaining = max_size + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_size:
        raise FileTooLarge(len(data))
    return data


def file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def read_source(path: Path, max_size: int, data: bytes | None = None) -> Source | None:
    """Read and decode a file (or its `data`, already read). Returns None for a file skipped for its
    size; raises UnreadableFile."""
    if data is None:
        try:
            data = read_regular_file(path, max_size)
        except FileTooLarge:
            return None
    if len(data) > max_size:
        return None
    return decode(path, data)


def decode(path: Path, data: bytes) -> Source:
    """The text of a file's bytes: a notebook's code cells, or Python source decoded as PEP 263 says.
    Raises UnreadableFile."""
    if b"\0" in data:
        raise UnreadableFile("binary file (contains NUL bytes)")
    if path.suffix == ".ipynb":
        from ckptlint.lint.notebooks import read_notebook

        source: Source = read_notebook(data)
    else:
        source = Source(decode_python(data))
    _check_parsable_text(source.text)
    return source


def decode_python(data: bytes) -> str:
    """Python source text (without a BOM), or UnreadableFile. A codec named by a cookie can fail in
    any way it likes (`punycode` and `undefined` raise a bare UnicodeError, a transform such as `rot13`
    is a LookupError): every failure is one message."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise UnreadableFile(f"bad encoding declaration: {exc.msg}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"cannot decode as {encoding}: {exc.reason} at byte {exc.start}; declare the encoding "
                             f"(PEP 263) or save as UTF-8") from None
    except Exception as exc:  # any other codec failure
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UnreadableFile(f"cannot decode as {encoding}: {detail}") from None
    if not isinstance(text, str):
        raise UnreadableFile(f"cannot decode as {encoding}: it does not produce text")
    return text[1:] if text.startswith("\ufeff") else text


def _check_parsable_text(text: str) -> None:
    # A cookie codec or a notebook's JSON escapes can produce a NUL even when the bytes held none.
    if "\0" in text:
        raise UnreadableFile("the decoded text holds a NUL character")
    if text.isascii():
        return  # no surrogate possible
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnreadableFile(f"the decoded text holds a lone surrogate (U+{ord(exc.object[exc.start]):04X}) at "
                             f"character {exc.start}; it is not valid Unicode") from None
