"""Turning nodes into locations, lazily: libcst positions cost a whole codegen pass over the module, so
they are computed only for modules that have something to report."""

from __future__ import annotations

from typing import Mapping, cast

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from ckptlint.lint.sources import Source
from ckptlint.lint.findings import Location


# Set by the libcst guard (ckptlint.lint.libcst_guard) when the fast path disagrees with the public one.
_PUBLIC_POSITIONS = False


# The provider whose private step the fast path calls (a name of its own, so a test can stand in a
# libcst whose private step changed meaning while the public route still works).
_FAST_PROVIDER = PositionProvider


def use_public_positions(enabled: bool = True) -> None:
    global _PUBLIC_POSITIONS
    _PUBLIC_POSITIONS = enabled


def public_positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """PositionProvider's ranges through libcst's public API. unsafe_skip_copy keeps node identity, so
    the nodes rules hold are the keys."""
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """PositionProvider's ranges for every node of `module`, keyed by the nodes themselves.

    Through MetadataWrapper, resolving PositionProvider also runs a batched visit for batchable
    providers even when there are none: a full visit-and-rebuild of the tree that costs as much as
    the position codegen itself (0.19 s -> 0.10 s on an 811-line file). So the provider's own
    generation step, a private method of libcst, is called directly. `agrees_with_libcst` compares the
    two on a probe module, once per process, and the public route is taken when they differ."""
    if _PUBLIC_POSITIONS:
        return public_positions(module)
    try:
        provider = _FAST_PROVIDER()
        provider._gen_impl(module)
        return cast(Mapping[cst.CSTNode, CodeRange], provider._computed)  # PositionProvider's values are ranges
    except (AttributeError, TypeError):  # a libcst without these internals
        return public_positions(module)


def agrees_with_libcst(module: cst.Module) -> bool:
    """Whether the fast positions of `module` are exactly libcst's public ones."""
    try:
        fast = positions(module)
        return len(fast) > 0 and dict(fast) == dict(public_positions(module))
    except Exception:
        return False


class Locator:
    def __init__(self, module: cst.Module | None, path: str, source: Source) -> None:
        """`module` None: a file libcst could not parse, whose findings have only line positions."""
        self.module = module
        self.path = path
        self.source = source
        self._positions: Mapping[cst.CSTNode, CodeRange] | None = None

    def location(self, node: cst.CSTNode) -> Location:
        if self._positions is None:
            assert self.module is not None  # a node comes from a parsed module
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
