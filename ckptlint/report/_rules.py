"""What the reporters print of a rule: its RuleRecord from the catalogue (no rule module imported), and
for SARIF, which embeds each rule's page, the page itself (that imports the rules)."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from ckptlint.lint.findings import Severity
from ckptlint.lint.rule import RuleRecord


_METADATA = re.compile(r"^[A-Z][a-z]+(?: [a-z]+)?: ")  # the page's `Severity: error` / `Applies to: ...` lines


def records() -> dict[str, RuleRecord]:
    from ckptlint.lint.catalogue import records as catalogue_records

    return catalogue_records()


def name_of(code: str) -> str:
    record = records().get(code)
    return record.name if record is not None else code.lower()


@dataclass(frozen=True)
class RuleHelp:
    """A record with the texts SARIF's rule descriptors carry."""

    record: RuleRecord
    description: str  # the first paragraph of the page's body (falls back to the summary)
    page: str  # the full page, as `ckptlint rule CODE` prints it


def _first_paragraph(page: str) -> str:
    """The first paragraph of prose after the page's metadata lines: headings, `Key: value` lines and
    code fences are skipped."""
    for paragraph in inspect.cleandoc(page or "").split("\n\n"):
        lines = [line for line in paragraph.splitlines() if not line.lstrip().startswith("#")]
        if not lines or lines[0].lstrip().startswith("```"):
            continue
        if all(_METADATA.match(line) for line in lines):
            continue
        text = " ".join(" ".join(lines).split())
        if text:
            return text
    return ""


def help_table() -> dict[str, RuleHelp]:
    """Every known code with its page, sorted by code."""
    from ckptlint.lint.rules_command import page

    table: dict[str, RuleHelp] = {}
    for code, record in records().items():
        text = page(code)
        table[code] = RuleHelp(record, _first_paragraph(text) or record.summary, text)
    return table


def unknown_rule(code: str, severity: Severity) -> RuleHelp:
    """A record for a code the catalogue does not know (a rule removed since a result was cached):
    reporters still produce valid output for it instead of failing."""
    text = f"{code} is not a known ckptlint rule."
    return RuleHelp(RuleRecord(code, code.lower(), severity, text), text, f"# {code}\n\n{text}\n")
