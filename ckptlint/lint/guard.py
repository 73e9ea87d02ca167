"""Which sources are handed to libcst at all.

libcst's parser is native code that recurses once per level of nesting: measured on libcst 1.9, 3,000
nested brackets or 10,000 chained `and` crash the process (a segfault, not an exception), and long
chains of unary operators, attributes, calls, subscripts, lambdas or binary operators cost it time
that grows faster than their length (1,000 chained subscripts: seconds; 3,000: a minute and a half).
ckptlint's own passes (the model, positions, the rules) recurse in Python and stop at the interpreter's
recursion limit.

So before libcst sees a file, CPython's own parser does (`compile(..., PyCF_ONLY_AST)`: C code with
limits of its own, a tenth of libcst's time): it refuses too many nested brackets, too many indentation
levels and expressions too deep for it. Then the nesting of what it accepted is measured, cheaply: every
level of nesting costs at least one character, so only the statements whose text is longer than the
limit are walked, and most files have none worth walking. A file over a limit is not analysed (CKPT001
says so) rather than crashing the run or stalling it; real code stays far below the limits (the deepest
module of the 5,216-file benchmark corpus nests 44 levels).
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from itertools import accumulate

MAX_DEPTH = 200  # levels of expression nesting, and of statement nesting (an `elif` chain nests too)
MAX_BOOL_OPERANDS = MAX_DEPTH  # `a and b and ...`: flat for CPython, but one level each for libcst
# CPython's messages for input that is too deep rather than wrong.
_TOO_DEEP_MESSAGES = ("too many nested parentheses", "too many levels of indentation", "too complex",
                      "too many statically nested blocks", "exceeds the limit")


@dataclass(frozen=True)
class Refusal:
    """Why a source is not handed to libcst. `syntax`: CPython found a syntax error (reported as CKPT000
    with CPython's message and position); otherwise the source is too deep to analyse (CKPT001)."""

    message: str
    syntax: bool = False
    line: int = 1
    column: int = 1


def check(text: str) -> Refusal | None:
    """None when libcst may parse `text`; else why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning and DeprecationWarning text must not leak to stderr
            tree = compile(text, "<ckptlint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (RecursionError, MemoryError):
        return Refusal("not analysed: nested too deeply for Python's own parser")
    except SyntaxError as exc:
        message = exc.msg or "invalid syntax"
        if any(text in message for text in _TOO_DEEP_MESSAGES):
            return Refusal(f"not analysed: {message} (Python's own limit)")
        if _plain(text):
            return None  # libcst reports it as before (and parses what a newer Python accepts)
        return Refusal(f"syntax error: {message}", syntax=True, line=exc.lineno or 1, column=exc.offset or 1)
    except (ValueError, OverflowError) as exc:  # e.g. a NUL character, refused before this already
        return Refusal(f"not analysed: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}")
    problem = _too_deep(tree, text)
    return Refusal(f"not analysed: {problem}") if problem else None


def _plain(text: str) -> bool:
    """A source with a syntax error CPython gave up on before measuring it: handed to libcst (whose own
    message is reported) only when nothing about it could be deep: no long line, few brackets deep."""
    if len(text) > 200_000 or max(map(len, text.splitlines()), default=0) > 1_000:
        return False
    depth = 0
    deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest <= 50


_BLOCK_TYPES = tuple(t for t in (ast.stmt, ast.excepthandler, getattr(ast, "match_case", None)) if t is not None)


def _too_deep(tree: ast.Module, text: str) -> str | None:
    """What is over a limit in `tree`, or None. Statements (and `except` clauses and `case`s, which
    have headers and bodies too) are visited: a fraction of the nodes. The expressions of one are walked
    only when its header's text is long enough to nest MAX_DEPTH levels."""
    line_start = [0, *accumulate(len(line) + 1 for line in text.split("\n"))]

    def offset(line: int, column: int) -> int:
        return line_start[line - 1] + column if 0 < line <= len(line_start) else 0

    pending: list[tuple[ast.AST, int]] = [(statement, 1) for statement in tree.body]
    while pending:
        block, level = pending.pop()
        if level > MAX_DEPTH:
            return f"statements nested more than {MAX_DEPTH} levels deep (an `elif` chain nests too)"
        inner = _blocks(block)
        pending.extend((child, level + 1) for child in inner)
        if _header_length(block, inner, offset) <= MAX_DEPTH:
            continue  # every level of nesting takes at least one character
        problem = _expression_problem(block, {id(child) for child in inner})
        if problem:
            line = getattr(block, "lineno", None) or getattr(getattr(block, "pattern", None), "lineno", None)
            return f"{problem} (in the statement at line {line})" if line else problem
    return None


def _blocks(node: ast.AST) -> list:
    """The statements, `except` clauses and `case`s directly inside `node`."""
    return [item for field in ("body", "orelse", "finalbody", "handlers", "cases")
            for item in (getattr(node, field, None) or []) if isinstance(item, _BLOCK_TYPES)]


def _header_length(block: ast.AST, inner: list, offset) -> int:
    """The length of a block's own text: from its start (its first decorator, which comes before the
    `def` line) to its first inner block, or to its end. A `case` has no position of its own: its
    pattern's is used."""
    anchor = _anchor(block)
    inner_anchors = [_anchor(child) for child in inner]
    if anchor is None or None in inner_anchors:
        return MAX_DEPTH + 1  # no position to measure: walk it
    starts = [offset(node.lineno, node.col_offset) for node in (anchor, *getattr(block, "decorator_list", ()))]
    if inner:
        first = min(inner_anchors, key=lambda child: (child.lineno, child.col_offset))
        end = offset(first.lineno, first.col_offset)
    else:
        end = offset(getattr(block, "end_lineno", None) or anchor.lineno, getattr(block, "end_col_offset", None) or 0)
    return end - min(starts)


def _anchor(block: ast.AST) -> ast.AST | None:
    """The node whose position stands for a block's start: itself, or a `case`'s pattern (a `case`
    has no position of its own, so it cannot be compared with its siblings' positions directly)."""
    return block if hasattr(block, "lineno") else getattr(block, "pattern", None)


def _expression_problem(block: ast.AST, skip: set[int]) -> str | None:
    """The block's own parts (not its inner blocks), walked without recursion."""
    pending: list[tuple[ast.AST, int]] = [(child, 1) for child in ast.iter_child_nodes(block) if id(child) not in skip]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"an expression nested more than {MAX_DEPTH} levels deep"
        if isinstance(node, ast.BoolOp) and len(node.values) > MAX_BOOL_OPERANDS:
            return f"more than {MAX_BOOL_OPERANDS} operands chained with `and`/`or`"
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node) if not isinstance(child, _BLOCK_TYPES))
    return None
