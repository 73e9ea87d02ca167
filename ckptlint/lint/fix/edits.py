"""Small libcst edits for rules' fixes that keep the surrounding comments and formatting:
add or rename a keyword argument, insert or replace a statement, make an identifier or a string literal.
Rules build their `Fix` replacements with these; `ckptlint.lint.fix.apply` applies them."""

from __future__ import annotations

import keyword
from typing import Iterable, Sequence

import libcst as cst

from ckptlint.model.walk import ancestors


def _plain(whitespace: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """A copy of whitespace fit to be reused as a separator: no comments, no blank lines."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(
            first_line=whitespace.first_line.with_changes(comment=None, whitespace=cst.SimpleWhitespace("")),
            empty_lines=[],
        )
    return whitespace


def _separator(call: cst.Call) -> cst.Comma:
    """The comma between two arguments, in the call's own layout (one line or one argument a line)."""
    args = list(call.args)
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        comma = args[-2].comma
        return comma.with_changes(whitespace_after=_plain(comma.whitespace_after))
    if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=_plain(call.whitespace_before_args))
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def add_keyword_arg(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`f(a, b=1)` -> `f(a, b=1, name=value)`, following the call's layout: a trailing comma stays
    trailing, one-argument-per-line calls get the new argument on its own line."""
    new = cst.Arg(value=value, keyword=cst.Name(name),
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    separator = _separator(call)
    if isinstance(last.comma, cst.Comma):  # a trailing comma: keep it (and the line break) at the end
        new = new.with_changes(comma=last.comma)
    args[-1] = last.with_changes(comma=separator)
    return call.with_changes(args=[*args, new])


def replace_keyword(call: cst.Call, old: str, new: str) -> cst.Call:
    """`f(old=x)` -> `f(new=x)`; the argument's value, comments and layout are kept."""
    args = [
        arg.with_changes(keyword=arg.keyword.with_changes(value=new))
        if arg.keyword is not None and arg.keyword.value == old else arg
        for arg in call.args
    ]
    return call.with_changes(args=args)


def insert_before(statement: cst.BaseStatement, new: Sequence[cst.BaseStatement]) -> cst.FlattenSentinel:
    """Statements to insert before `statement` (same block, same indentation). Comments and blank lines
    above the statement move above the inserted ones, so they keep describing the block."""
    new = list(new)
    if not new or not hasattr(statement, "leading_lines"):
        return cst.FlattenSentinel([*new, statement])
    first = new[0].with_changes(leading_lines=[*statement.leading_lines, *getattr(new[0], "leading_lines", ())])
    return cst.FlattenSentinel([first, *new[1:], statement.with_changes(leading_lines=[])])


def replace_statement(statement: cst.BaseStatement, new: Sequence[cst.BaseStatement]) -> cst.FlattenSentinel:
    """Statements that take the place of `statement`; its comments and blank lines above move onto the
    first of them."""
    new = list(new)
    if new and hasattr(statement, "leading_lines"):
        new[0] = new[0].with_changes(leading_lines=[*statement.leading_lines, *getattr(new[0], "leading_lines", ())])
    return cst.FlattenSentinel(new)


def statement_of(module: cst.Module, node: cst.CSTNode) -> cst.BaseStatement | None:
    """The statement (simple or compound) that directly contains `node`, found by identity; None when
    the node is not in the module."""
    path = ancestors(module, node) or []
    statements = [n for n in path[:-1] if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
    return statements[-1] if statements else None


def unique_identifier(wanted: str, taken: Iterable[str]) -> str:
    """`wanted`, or `wanted_2`, `wanted_3`, ... whichever is not taken (and not a Python keyword)."""
    used = set(taken)
    base = wanted if wanted.isidentifier() and not keyword.iskeyword(wanted) else f"{wanted}_"
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def string_literal(value: str, like: cst.SimpleString | None = None) -> cst.SimpleString:
    """A string literal for `value`, with the quote character of `like` when given (else double)."""
    quote = '"'
    if like is not None and like.quote in ("'", '"'):
        quote = like.quote
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return cst.SimpleString(f"{quote}{escaped}{quote}")
