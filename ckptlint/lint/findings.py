"""What a lint run produces: findings with their locations, shared by the engine and every reporter.

Findings are small frozen dataclasses so they pickle cheaply across the process pool and into the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Location:
    """A 1-based line and column range in a file. `cell` is the 1-based notebook cell, if any;
    `line`/`end_line` are then relative to that cell."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    cell: int | None = None

    def display(self) -> str:
        if self.cell is not None:
            return f"{self.path}:cell_{self.cell}:{self.line}:{self.col}"
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Related:
    """A second place that explains a finding (e.g. the save that a restore does not match)."""

    location: Location
    message: str


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    severity: Severity
    location: Location
    source_line: str = ""
    related: tuple[Related, ...] = field(default_factory=tuple)
    fixable: bool = False

    @property
    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.cell or 0, loc.line, loc.col, self.code)


@dataclass
class LintResult:
    """Everything a reporter needs: the findings (sorted), how many files were checked, and notices
    about files that were skipped on purpose (too large, excluded by a cap) — not errors."""

    findings: list[Finding]
    files_checked: int
    notices: list[str] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)  # ckptlint's own bugs: exit code 2
    targets: list[str] = field(default_factory=list)  # the Keras generations the linted code targets, described
