"""How a file's bytes become the text the linter reads: decoding (PEP 263) and notebooks (code cells
joined into one module with IPython's syntax read as IPython does, lines mapped back to cells; see
ckptlint.lint.notebooks), with the problems each can have turned into one-line messages instead of
tracebacks."""

from __future__ import annotations

import io
import re
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
        from ckptlint.lint.notebooks import read_notebook

        return read_notebook(data)
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
