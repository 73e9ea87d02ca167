"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request diff.

    ::error file=src/train.py,line=3,col=9,endLine=3,endColumn=35,title=CKPT301 unnamed-optimizers::message

`error` → `::error`, `warning` → `::warning`, `info` → `::notice`. Escaping follows the Actions toolkit
(@actions/core `escapeData` / `escapeProperty`): in the message `%`, CR and LF become `%25`, `%0D`, `%0A`;
property values additionally escape `:` and `,` as `%3A` and `%2C`. Other control characters, lone
surrogates (undecodable file names) and bidirectional overrides are shown as escapes (report.escape), and
`##[`, which the runner reads as an old-style command anywhere in a line, is written `##%5B`: a file name
or a quoted line of code cannot forge an annotation.

Related locations are appended to the message (`note: path:line:col: text`, on their own lines, which the
annotation shows). Notebook findings are annotated on the file without a line (the line is relative to
a cell, not to the .ipynb JSON) and the message starts with `cell N, line L, column C:`. Notices about
files skipped on purpose become `::notice title=ckptlint::...` lines. `statistics` is ignored: a CI log
needs the annotations.
"""

from __future__ import annotations

import re

from ckptlint.lint.findings import Finding, LintResult, Severity
from ckptlint.report.escape import printable

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _visible(text: str) -> str:
    """Every control character but the line breaks escape_data encodes, shown as an escape; `##[` (an
    old-style runner command anywhere in a line) written with GitHub's own escape for `[`."""
    parts = re.split("([\r\n])", text)
    text = "".join(part if part in ("\r", "\n") else printable(part, keep_tabs=True) for part in parts)
    return text.replace("##[", "##%5B")


def escape_data(text: str) -> str:
    return _visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(f: Finding, name: str) -> str:
    loc = f.location
    props = [("file", loc.path.replace("\\", "/"))]
    message = f.message
    if loc.cell is None:
        line = max(loc.line, 1)
        col = max(loc.col, 1)
        end_line = max(loc.end_line, line)
        end_col = loc.end_col if end_line > line else max(loc.end_col, col)
        props += [("line", str(line)), ("col", str(col)), ("endLine", str(end_line)), ("endColumn", str(end_col))]
    else:
        message = f"cell {loc.cell}, line {loc.line}, column {loc.col}: {message}"
    props.append(("title", f"{f.code} {name}"))
    for related in f.related:
        message += f"\nnote: {related.location.display()}: {related.message}"
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{COMMAND[Severity(f.severity)]} {rendered}::{escape_data(message)}"


def render_github(result: LintResult) -> str:
    lines: list[str] = []
    if result.findings:
        from ckptlint.report._rules import name_of

        for f in result.findings:
            lines.append(_annotation(f, name_of(f.code)))
    for notice in result.notices:
        lines.append(f"::notice title=ckptlint::{escape_data(notice)}")
    return "".join(line + "\n" for line in lines)
