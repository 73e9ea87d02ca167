"""`--method all`: one verification per built-in method, shown as a matrix of methods x components.

Cells: restored / lost / differs / error / n/a (the method's format cannot hold the component, or the
method does not apply to this setup). Random-number state is its own column ("rng"). The last column says
whether the resumed run was identical; "rng only" means it diverged and became identical once the saved
RNG state was carried over, so the format kept everything else.
The matrix's verdict and exit code are those of the default method's row (`user` when the Setup has its
own save/restore, else `checkpoint`).

JSON ("schema": "ckptlint.verify-matrix/2"): {"schema", "target", "steps", "strategy", "default",
"verdict", "exit_code", "components": [str], "cells": {method: {component: cell}},
"resume": {method: "identical" | "rng only" | "diverged" | "error" | "n/a"}, "unavailable": {method: reason},
"reports": {method: <ckptlint.verify/2 report>}, "timings": {phase: seconds}}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ckptlint.harness.compare import Component
from ckptlint.harness.diagnosis import rng_explains
from ckptlint.harness.verdict import EXIT_CODES, Report

MATRIX_SCHEMA = "ckptlint.verify-matrix/2"


@dataclass
class MatrixReport:
    target: str
    steps: int
    strategy: Optional[str]
    reports: dict[str, Report]
    unavailable: dict[str, str]
    default: str
    timings: dict[str, float] = field(default_factory=dict)
    SCHEMA = MATRIX_SCHEMA

    @property
    def methods(self) -> list[str]:
        from ckptlint.harness.methods import METHODS

        return [m for m in METHODS if m in self.reports or m in self.unavailable]

    @property
    def _default_report(self) -> Optional[Report]:
        return self.reports.get(self.default)

    @property
    def verdict(self) -> str:
        report = self._default_report
        return report.verdict if report else "error"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def components(self) -> list[Component]:
        report = self._default_report
        return report.components if report else []

    def lost_components(self) -> set[str]:
        report = self._default_report
        return report.lost_components() if report else set()

    def component_names(self) -> list[str]:
        names: list[str] = []
        for report in self.reports.values():
            names += [c.name for c in report.components if c.name not in names]
        return names

    def cell(self, method: str, component: str) -> str:
        if method in self.unavailable:
            return "n/a"
        report = self.reports[method]
        if report.error is not None:
            return "error"
        for c in report.components:
            if c.name == component:
                return "n/a" if not c.holdable else c.status
        return "n/a"

    def resume(self, method: str) -> str:
        if method in self.unavailable:
            return "n/a"
        report = self.reports[method]
        if report.error is not None or report.equivalence is None:
            return "error"
        if report.equivalence.equivalent:
            return "identical"
        return "rng only" if rng_explains(report) else "diverged"

    def cells(self) -> dict[str, dict[str, str]]:
        return {m: {c: self.cell(m, c) for c in self.component_names()} for m in self.methods}

    def to_text(self) -> str:
        names = self.component_names()
        header = ["method", *names, "resume"]
        rows = [header] + [[m, *(self.cell(m, c) for c in names), self.resume(m)] for m in self.methods]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [f"{self.verdict.upper()} (default method {self.default}): {self.target}, "
                 f"{self.steps}+{self.steps} steps", ""]
        for i, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.append("")
        for m in self.methods:
            if m in self.unavailable:
                lines.append(f"{m}: n/a ({self.unavailable[m]})")
            elif (err := self.reports[m].error) is not None:
                lines.append(f"{m}: error in {err['phase']}: {err['message']}")
            else:
                errors = {c.note for c in self.reports[m].components if c.status == "error"}
                lines += [f"{m}: {note}" for note in sorted(errors)]
        if self.timings:
            lines.append("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": MATRIX_SCHEMA,
            "target": self.target,
            "steps": self.steps,
            "strategy": self.strategy,
            "default": self.default,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "components": self.component_names(),
            "cells": self.cells(),
            "resume": {m: self.resume(m) for m in self.methods},
            "unavailable": self.unavailable,
            "reports": {m: r.to_dict() for m, r in self.reports.items()},
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MatrixReport":
        """Rebuild a MatrixReport written by to_dict (used when the verification ran in a subprocess)."""
        return cls(target=data["target"], steps=data["steps"], strategy=data.get("strategy"),
                   reports={m: Report.from_dict(r) for m, r in data["reports"].items()},
                   unavailable=data.get("unavailable", {}), default=data["default"],
                   timings=data.get("timings", {}))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
