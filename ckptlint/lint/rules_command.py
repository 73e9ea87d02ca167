"""`ckptlint rules` (the catalogue) and `ckptlint rule CODE` (one rule's page)."""

from __future__ import annotations

import argparse
import json


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")


def rule_rows() -> list[dict]:
    from ckptlint.lint.registry import ENGINE_CODES, all_rules

    rows = [
        {"code": code, "name": name, "severity": "error", "default": True, "fix": None, "summary": summary}
        for code, (name, summary) in ENGINE_CODES.items()
    ]
    rows += [
        {"code": r.code, "name": r.name, "severity": r.severity.value, "default": r.default_enabled,
         "fix": r.fix_safety, "summary": r.summary}
        for r in all_rules()
    ]
    return rows


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


def run_page(args: argparse.Namespace) -> int:
    from ckptlint.lint.registry import ENGINE_CODES, rule_by_code

    code = args.code.upper()
    if code in ENGINE_CODES:
        name, summary = ENGINE_CODES[code]
        print(f"# {code} {name}\n\n{summary}")
        return 0
    print(rule_by_code(args.code).page(), end="")
    return 0
