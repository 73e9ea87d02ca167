"""Turning nodes into locations, lazily: libcst positions cost a whole codegen pass over the module, so
they are computed only for modules that have something to report."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ckptlint.files import Source
from ckptlint.findings import Location


class Locator:
    def __init__(self, module: cst.Module, path: str, source: Source) -> None:
        self.module = module
        self.path = path
        self.source = source
        self._positions = None
        self._lines: list[str] | None = None

    def location(self, node: cst.CSTNode) -> Location:
        if self._positions is None:
            # unsafe_skip_copy keeps node identity, so the nodes rules hold are the keys.
            self._positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        span = self._positions[node]
        return self.at(span.start.line, span.start.column + 1, span.end.line, span.end.column + 1)

    def at(self, line: int, col: int, end_line: int | None = None, end_col: int | None = None) -> Location:
        """A location from 1-based positions in the (joined) source, mapped to a notebook cell if any."""
        cell, cell_line = self.source.cell_of(line)
        end_line = end_line or line
        _, cell_end = self.source.cell_of(end_line)
        return Location(self.path, cell_line, col, cell_end, end_col or col, cell)

    def line_text(self, line: int) -> str:
        """Line `line` of the joined source (1-based), as written."""
        if self._lines is None:
            self._lines = self.source.text.splitlines()
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""
