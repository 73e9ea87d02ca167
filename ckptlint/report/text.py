"""The human report, in the style of ruff's default output.

One block per finding::

    train.py:3:9: CKPT301 [*] [error] Two optimizers in one scope have no name ...
        opt_b = tf.keras.optimizers.Adam()
                ^
        note: train.py:2:9: the other optimizer is created here

`[*]` appears when the finding has an autofix. The source line is printed as found in the file (leading
whitespace kept, so the caret lines up, tabs included); it is omitted when the engine has none (e.g. an
unreadable file). Notebook locations read `path:cell_N:line:col`, lines counted within the cell.

Then a summary, `Found N findings (E errors, W warnings, I info) in F files.` or `All checks passed
(F files).`, where F is the number of files checked, then the run's notices (files skipped on purpose),
one per line. With `statistics=True` the findings are replaced by a table of count, code, `[*]` when some
of them are fixable, and rule name, most frequent first. ANSI colours only when `color=True`.
"""

from __future__ import annotations

import re

from ckptlint.lint.findings import Finding, LintResult, Location, Severity
from ckptlint.report.escape import display_path

INDENT = "    "

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_SEVERITY_COLOR = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m", Severity.INFO: "\x1b[1;36m"}
_CYAN = "\x1b[36m"
_BOLD_CYAN = "\x1b[1;36m"
_GREEN = "\x1b[1;32m"


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if self.enabled and text else text


_UNSAFE_IN_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _clean(text: str) -> str:
    """Control characters from a source file must not reach the terminal (escape sequences), nor line
    breaks, bidirectional overrides or lone surrogates; tabs stay so that the caret line can copy them.
    One character in, one character out: columns do not move."""
    return _UNSAFE_IN_LINE.sub("\N{REPLACEMENT CHARACTER}", text)


def _where(location: Location) -> str:
    """`path:line:col` (or `path:cell_N:line:col`) with the file name made printable (report.escape)."""
    path = display_path(location.path)
    if location.cell is not None:
        return f"{path}:cell_{location.cell}:{location.line}:{location.col}"
    return f"{path}:{location.line}:{location.col}"


def _message(text: str) -> str:
    """A message is one line; should one hold line breaks, its continuation lines are indented so the
    block stays readable."""
    return ("\n" + INDENT).join(_clean(line) for line in text.splitlines()) if text else ""


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _caret_line(source: str, col: int) -> str:
    # Copy tabs from the source prefix so the caret lands under the right character in any tab width.
    prefix = source[: max(col - 1, 0)]
    pad = "".join("\t" if ch == "\t" else " " for ch in prefix)
    if col - 1 > len(source):
        pad += " " * (col - 1 - len(source))
    return pad + "^"


def _finding_block(f: Finding, paint: _Paint) -> list[str]:
    color = _SEVERITY_COLOR[Severity(f.severity)]
    marker = " " + paint("[*]", _CYAN) if f.fixable else ""
    head = (
        f"{paint(_where(f.location), _BOLD)}: {paint(f.code, color)}{marker} "
        f"{paint('[' + Severity(f.severity).value + ']', color)} {_message(f.message)}"
    )
    lines = [head]
    source = _clean(f.source_line.rstrip("\r\n"))
    if source.strip():
        lines.append(INDENT + source)
        lines.append(INDENT + paint(_caret_line(source, f.location.col), color))
    for related in f.related:
        lines.append(f"{INDENT}{paint('note:', _BOLD_CYAN)} {_where(related.location)}: {_message(related.message)}")
    return lines


def summary_line(result: LintResult, paint: _Paint | None = None) -> str:
    paint = paint or _Paint(False)
    files = _plural(result.files_checked, "file")
    if not result.findings:
        return paint("All checks passed", _GREEN) + f" ({files})."
    by_severity = {s: 0 for s in Severity}
    for f in result.findings:
        by_severity[Severity(f.severity)] += 1
    counts = ", ".join(
        [
            _plural(by_severity[Severity.ERROR], "error"),
            _plural(by_severity[Severity.WARNING], "warning"),
            f"{by_severity[Severity.INFO]} info",
        ]
    )
    return paint(f"Found {_plural(len(result.findings), 'finding')}", _BOLD) + f" ({counts}) in {files}."


def _statistics_table(result: LintResult, paint: _Paint) -> list[str]:
    from ckptlint.report.statistics import code_counts

    rows = code_counts(result)
    if not rows:
        return []
    count_width = max(len(str(r.count)) for r in rows)
    code_width = max(len(r.code) for r in rows)
    any_fixable = any(r.fixable for r in rows)
    lines = []
    for r in rows:
        fix = (paint("[*]", _CYAN) + " " if r.fixable else "    ") if any_fixable else ""
        lines.append(f"{str(r.count).rjust(count_width)}  {paint(r.code.ljust(code_width), _BOLD)}  {fix}{r.name}")
    return lines


def render_text(result: LintResult, *, statistics: bool = False, color: bool = False) -> str:
    paint = _Paint(color)
    lines: list[str] = []
    if statistics:
        table = _statistics_table(result, paint)
        if table:
            lines.extend(table)
            lines.append("")
    else:
        for finding in result.findings:
            lines.extend(_finding_block(finding, paint))
            lines.append("")
    lines.append(summary_line(result, paint))
    if result.targets:
        lines.append("Target: " + "; ".join(_clean(target) for target in result.targets) + ".")
    lines.extend(_clean(notice) for notice in result.notices)
    return "\n".join(lines) + "\n"
