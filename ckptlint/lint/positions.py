"""Turning nodes into locations, lazily: libcst positions cost a whole codegen pass over the module, so
they are computed only for modules that have something to report."""

from __future__ import annotations

from typing import Mapping

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from ckptlint.lint.sources import Source
from ckptlint.lint.findings import Location


def positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """PositionProvider's ranges for every node of `module`, keyed by the nodes themselves.

    Through MetadataWrapper, resolving PositionProvider also runs a batched visit for batchable
    providers even when there are none: a full visit-and-rebuild of the tree that costs as much as
    the position codegen itself (0.19 s -> 0.10 s on an 811-line file). So the provider's own
    generation step is called directly; should libcst change that interface, the public route is
    taken (tests/test_performance_levers.py checks both give the same ranges)."""
    try:
        provider = PositionProvider()
        provider._gen_impl(module)
        return provider._computed
    except (AttributeError, TypeError):  # pragma: no cover - a libcst without these internals
        # unsafe_skip_copy keeps node identity, so the nodes rules hold are the keys.
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


class Locator:
    def __init__(self, module: cst.Module, path: str, source: Source) -> None:
        self.module = module
        self.path = path
        self.source = source
        self._positions = None

    def location(self, node: cst.CSTNode) -> Location:
        if self._positions is None:
            self._positions = positions(self.module)
        span = self._positions[node]
        return self.at(span.start.line, span.start.column + 1, span.end.line, span.end.column + 1)

    def at(self, line: int, col: int, end_line: int | None = None, end_col: int | None = None) -> Location:
        """A location from 1-based positions in the (joined) source, mapped to a notebook cell if any,
        with the columns of the line as written."""
        cell, cell_line = self.source.cell_of(line)
        end_line = end_line or line
        _, cell_end = self.source.cell_of(end_line)
        start = col + self.source.column_shift(line)
        end = end_col + self.source.column_shift(end_line) if end_col else start
        return Location(self.path, cell_line, start, cell_end, end, cell)

    def line_text(self, line: int) -> str:
        """Line `line` of the joined source (1-based), as written."""
        return self.source.original_line(line)
