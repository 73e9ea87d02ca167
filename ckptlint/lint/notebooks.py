"""Notebooks as the linter reads them: the code cells joined into one module (bindings flow across
cells as in the kernel), IPython syntax blanked with line numbers kept, and each line mapped back to
its cell."""

from __future__ import annotations

import json

from ckptlint.lint.sources import Source, UnreadableFile


def read_notebook(data: bytes) -> Source:
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
