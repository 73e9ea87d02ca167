"""Reporters: turn a LintResult into the text the user asked for.

`render(result, fmt, statistics=..., color=...)` with fmt one of FORMATS:

- `text`   ruff-like blocks with source line and caret, a summary line, notices (see report.text);
- `json`   a stable list of finding objects, or of per-code counts with `statistics` (see report.json_report);
- `sarif`  SARIF 2.1.0 for GitHub code scanning (see report.sarif);
- `github` GitHub Actions `::error`/`::warning`/`::notice` workflow commands (see report.github).

Importing this package is cheap: each reporter module, and the rule registry (which brings libcst), is
imported only when a render needs it. TensorFlow is never imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ckptlint.lint.findings import LintResult

FORMATS = ("text", "json", "sarif", "github")


def render(result: LintResult, fmt: str, *, statistics: bool = False, color: bool = False) -> str:
    """The whole report as one string (ending with a newline when not empty). `color` applies to `text`
    only; `statistics` to `text` and `json` (SARIF and GitHub annotations always carry the findings)."""
    if fmt == "text":
        from ckptlint.report.text import render_text

        return render_text(result, statistics=statistics, color=color)
    if fmt == "json":
        from ckptlint.report.json_report import render_json

        return render_json(result, statistics=statistics)
    if fmt == "sarif":
        from ckptlint.report.sarif import render_sarif

        return render_sarif(result)
    if fmt == "github":
        from ckptlint.report.github import render_github

        return render_github(result)
    from ckptlint.errors import CkptlintError

    raise CkptlintError(f"unknown output format {fmt!r} (choose from {', '.join(FORMATS)})")


__all__ = ["FORMATS", "render"]
