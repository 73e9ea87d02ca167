"""What a lint run produces: findings with their locations, shared by the engine and every reporter.

Findings are small frozen dataclasses: cheap to send between processes, and stored in the result cache
as plain JSON through `to_data()` / `from_data()` (validated on the way back: ckptlint.lint.serial).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ckptlint.lint import serial


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

    def to_data(self) -> list:
        return [self.path, self.line, self.col, self.end_line, self.end_col, self.cell]

    @classmethod
    def from_data(cls, data) -> Location:
        items = serial.array(data)
        if len(items) != 6:
            raise serial.DataError("a location has 6 fields")
        path, line, col, end_line, end_col, cell = items
        return cls(serial.text(path), serial.integer(line, 0), serial.integer(col, 0), serial.integer(end_line, 0),
                   serial.integer(end_col, 0), serial.optional_integer(cell, 1))


@dataclass(frozen=True)
class Related:
    """A second place that explains a finding (e.g. the save that a restore does not match)."""

    location: Location
    message: str

    def to_data(self) -> list:
        return [self.location.to_data(), self.message]

    @classmethod
    def from_data(cls, data) -> Related:
        items = serial.array(data)
        if len(items) != 2:
            raise serial.DataError("a related location has 2 fields")
        return cls(Location.from_data(items[0]), serial.text(items[1]))


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

    _KEYS = ("code", "message", "severity", "location", "source_line", "related", "fixable")

    def to_data(self) -> dict:
        return {
            "code": self.code, "message": self.message, "severity": Severity(self.severity).value,
            "location": self.location.to_data(), "source_line": self.source_line,
            "related": [related.to_data() for related in self.related], "fixable": self.fixable,
        }

    @classmethod
    def from_data(cls, data) -> Finding:
        item = serial.record(data, cls._KEYS)
        try:
            severity = Severity(item["severity"])
        except ValueError:
            raise serial.DataError(f"unknown severity {item['severity']!r}"[:200]) from None
        return cls(serial.text(item["code"]), serial.text(item["message"]), severity, Location.from_data(item["location"]),
                   serial.text(item["source_line"]), tuple(Related.from_data(r) for r in serial.array(item["related"])),
                   serial.boolean(item["fixable"]))


@dataclass
class LintResult:
    """Everything a reporter needs: the findings (sorted), how many files were checked, and notices
    about files that were skipped on purpose (too large, excluded by a cap) — not errors."""

    findings: list[Finding]
    files_checked: int
    notices: list[str] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)  # ckptlint's own bugs: exit code 2
    targets: list[str] = field(default_factory=list)  # the Keras generations the linted code targets, described
    tracebacks: list[str] = field(default_factory=list)  # of those bugs, for --verbose
