"""How a file's bytes become the text the linter reads: decoding (PEP 263) and notebooks (code cells
joined into one module, magics blanked, lines mapped back to cells), with the problems each can have
turned into one-line messages instead of tracebacks."""

from __future__ import annotations

import io
import json
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
        return _read_notebook(data)
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


def _read_notebook(data: bytes) -> Source:
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"notebook is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"invalid notebook JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise UnreadableFile("invalid notebook: no `cells` list")
    language = ((notebook.get("metadata") or {}).get("kernelspec") or {}).get("language", "python")
    if isinstance(language, str) and language.lower() not in ("python", "python3", ""):
        return Source("", ())
    lines: list[str] = []
    starts: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            raise UnreadableFile(f"invalid notebook: cell {number} has a non-text source")
        starts.append((number, len(lines) + 1))
        cell_lines = source.splitlines() or [""]
        if cell_lines[0].lstrip().startswith("%%"):
            cell_lines = [""] * len(cell_lines)  # a cell magic: the cell is not Python
        for line in cell_lines:
            stripped = line.lstrip()
            # IPython magics, shell escapes and help lines are not Python; blank them, keep line numbers.
            lines.append("" if stripped.startswith(("%", "!", "?")) or stripped.endswith("?") and not stripped.startswith("#") else line)
        lines.append("")  # a blank line between cells, so a cell never runs into the next
    return Source("\n".join(lines) + "\n", tuple(starts))
