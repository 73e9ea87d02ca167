"""The JSON report: a stable, documented list for scripts (`ckptlint check --format json`).

The document is a JSON array with one object per finding, in the order of the run (sorted by path,
notebook cell, line, column, code). Every key is always present except `url`::

    [
      {
        "code": "CKPT301",                  rule code
        "name": "unnamed-optimizers",       rule name (kebab-case)
        "severity": "error",                "error" | "warning" | "info" (after configuration overrides)
        "message": "...",
        "filename": "src/train.py",         as the file was given to / discovered by ckptlint
        "cell": null,                       1-based notebook cell for .ipynb files, else null
        "location": {"row": 3, "column": 9},          1-based; in a notebook, row counts within the cell
        "end_location": {"row": 3, "column": 35},     1-based, the column one past the last character
        "fixable": false,                   true when `--fix` can rewrite it
        "related": [                        other places that explain the finding (may be empty)
          {"filename": "src/train.py", "cell": null, "row": 2, "column": 9, "message": "..."}
        ],
        "url": "https://..."                only when the rule has a documentation URL
      }
    ]

With `statistics=True` the document is instead a list of `{"code", "name", "count"}` objects, most
frequent code first (ties by code). Output is ASCII-only JSON (non-ASCII characters are escaped), indented
by two spaces, ending with a newline. Notices about skipped files are not part of the document.
"""

from __future__ import annotations

import json

from ckptlint.lint.findings import Finding, LintResult, Severity


def finding_to_dict(f: Finding, table: dict) -> dict:
    loc = f.location
    info = table.get(f.code)
    item: dict = {
        "code": f.code,
        "name": info.name if info is not None else f.code.lower(),
        "severity": Severity(f.severity).value,
        "message": f.message,
        "filename": loc.path,
        "cell": loc.cell,
        "location": {"row": loc.line, "column": loc.col},
        "end_location": {"row": loc.end_line, "column": loc.end_col},
        "fixable": bool(f.fixable),
        "related": [
            {
                "filename": r.location.path,
                "cell": r.location.cell,
                "row": r.location.line,
                "column": r.location.col,
                "message": r.message,
            }
            for r in f.related
        ],
    }
    if info is not None and info.page_path:
        item["page"] = info.page_path
    return item


def render_json(result: LintResult, *, statistics: bool = False) -> str:
    if statistics:
        from ckptlint.report.statistics import code_counts

        doc: list = [{"code": r.code, "name": r.name, "count": r.count} for r in code_counts(result)]
    else:
        table: dict = {}
        if result.findings:
            from ckptlint.report._rules import records

            table = records()
        doc = [finding_to_dict(f, table) for f in result.findings]
    return json.dumps(doc, indent=2) + "\n"
