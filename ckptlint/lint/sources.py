"""How a file's bytes become the text the linter reads: decoding (PEP 263) and notebooks (code cells
joined into one module, magics blanked, lines mapped back to cells), with the problems each can have
turned into one-line messages instead of tracebacks."""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """Decoded source of one file. For notebooks, `text` is the code cells joined, and `cell_starts`
    holds (cell number, first line in `text`) so a line can be mapped back to its cell."""

    text: str
    cell_starts: tuple[tuple[int, int], ...] | None = None

    def cell_of(self, line: int) -> tuple[int | None, int]:
        if not self.cell_starts:
            return None, line
        cell, start = self.cell_starts[0]
        for number, first in self.cell_starts:
            if first > line:
                break
            cell, start = number, first
        return cell, line - start + 1


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
