"""`ckptlint rules` (the catalogue) and `ckptlint rule CODE` (one rule's page)."""

from __future__ import annotations

import argparse
import json

from ckptlint.lint.catalogue import records
from ckptlint.lint.rule import RuleRecord


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")


def _row(record: RuleRecord) -> dict:
    return {"code": record.code, "name": record.name, "severity": record.severity.value,
            "default": record.default_enabled, "fix": record.fix_safety.value if record.fix_safety else None,
            "summary": record.summary, "precision": record.precision}


def rule_rows() -> list[dict]:
    return [_row(record) for record in records().values()]


def markdown_table() -> str:
    """The README's rule table; a test checks that the README holds exactly this."""
    lines = ["| Code | Name | Severity | Default | Fix | What it finds |", "|---|---|---|---|---|---|"]
    for row in rule_rows():
        lines.append(
            f"| {row['code']} | `{row['name']}` | {row['severity']} | {'on' if row['default'] else 'off'} "
            f"| {row['fix'] or '—'} | {row['summary']} |"
        )
    return "\n".join(lines) + "\n"


def run_list(args: argparse.Namespace) -> int:
    rows = rule_rows()
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "markdown":
        print(markdown_table(), end="")
    else:
        for row in rows:
            default = "" if row["default"] else " (off by default)"
            print(f"{row['code']}  {row['name']:<38} {row['severity']:<8} {row['summary']}{default}")
    return 0


def add_page_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", help="a rule code (CKPT101) or name (checkpoint-missing-optimizer)")


def engine_page(record: RuleRecord) -> str:
    return "\n".join([
        f"# {record.code} {record.name}", "", f"Severity: {record.severity.value}", "Autofix: none", "",
        record.summary, "",
        "This code is emitted by the ckptlint engine itself, not by a rule module. It can be selected",
        "and ignored like a rule.", "",
    ])


def page(code: str) -> str:
    """The page `ckptlint rule CODE` prints, for a rule or an engine code."""
    from ckptlint.lint.registry import rule_by_code

    record = records().get(code.upper())
    if record is not None and record.engine:
        return engine_page(record)
    return rule_by_code(code).page()


def run_page(args: argparse.Namespace) -> int:
    print(page(args.code), end="")
    return 0
