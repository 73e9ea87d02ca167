"""Per-code counts of a lint run, like `ruff --statistics`: most frequent code first, ties by code."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ckptlint.lint.findings import LintResult


@dataclass(frozen=True)
class CodeCount:
    code: str
    name: str
    count: int
    fixable: int  # how many of the `count` findings have an autofix


def code_counts(result: LintResult) -> list[CodeCount]:
    if not result.findings:
        return []
    from ckptlint.report._rules import name_of

    counts = Counter(f.code for f in result.findings)
    fixable = Counter(f.code for f in result.findings if f.fixable)
    rows = [
        CodeCount(code=code, name=name_of(code), count=n, fixable=fixable[code])
        for code, n in counts.items()
    ]
    rows.sort(key=lambda row: (-row.count, row.code))
    return rows
