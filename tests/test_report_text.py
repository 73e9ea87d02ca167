"""The text reporter: exact output for findings, notebooks, notes, summaries, statistics and colour."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from ckptlint.lint import catalogue

from ckptlint.errors import CkptlintError
from ckptlint.lint.findings import Finding, LintResult, Location, Related, Severity
from ckptlint.report import FORMATS, render
from ckptlint.lint.rule import Rule

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeCheckpointRule(Rule):
    """## What it does
    Finds a checkpoint without the optimizer."""

    code = "CKPT901"
    name = "fake-checkpoint-rule"
    severity = Severity.ERROR
    summary = "A fake rule for reporter tests."


class FakeNamingRule(Rule):
    """Finds unnamed optimizers."""

    code = "CKPT902"
    name = "fake-naming-rule"
    severity = Severity.WARNING
    summary = "Another fake rule."


@pytest.fixture
def fake_rules(monkeypatch):
    import ckptlint.lint.registry as registry

    monkeypatch.setattr(registry, "all_rules", lambda: (FakeCheckpointRule, FakeNamingRule))
    # The reports read names from the catalogue: make it follow the fake registry.
    monkeypatch.setattr(catalogue, "records", catalogue.live_records)


def finding(code="CKPT901", message="the optimizer is not in the checkpoint", severity=Severity.ERROR, *, path="src/train.py",
            line=3, col=9, end_line=None, end_col=None, cell=None, source="opt_b = tf.keras.optimizers.Adam()",
            related=(), fixable=False) -> Finding:
    loc = Location(path, line, col, end_line or line, end_col or col + 5, cell)
    return Finding(code, message, severity, loc, source_line=source, related=tuple(related), fixable=fixable)


def test_one_finding_with_source_caret_and_summary():
    result = LintResult([finding()], files_checked=1)
    assert render(result, "text") == textwrap.dedent(
        """\
        src/train.py:3:9: CKPT901 [error] the optimizer is not in the checkpoint
            opt_b = tf.keras.optimizers.Adam()
                    ^

        Found 1 finding (1 error, 0 warnings, 0 info) in 1 file.
        """
    )


def test_fixable_marker_related_notes_and_counts_by_severity():
    related = (
        Related(Location("src/train.py", 2, 9, 2, 30), "the other optimizer is created here"),
        Related(Location("src/eval.py", 14, 1, 14, 20), "restored here"),
    )
    result = LintResult(
        [
            finding(related=related, fixable=True),
            finding("CKPT902", "unnamed optimizer", Severity.WARNING, line=7, col=5, source="    opt = Adam()"),
            finding("CKPT902", "informational", Severity.INFO, path="src/util.py", line=1, col=1, source="import tensorflow as tf"),
        ],
        files_checked=12,
    )
    assert render(result, "text") == textwrap.dedent(
        """\
        src/train.py:3:9: CKPT901 [*] [error] the optimizer is not in the checkpoint
            opt_b = tf.keras.optimizers.Adam()
                    ^
            note: src/train.py:2:9: the other optimizer is created here
            note: src/eval.py:14:1: restored here

        src/train.py:7:5: CKPT902 [warning] unnamed optimizer
                opt = Adam()
                ^

        src/util.py:1:1: CKPT902 [info] informational
            import tensorflow as tf
            ^

        Found 3 findings (1 error, 1 warning, 1 info) in 12 files.
        """
    )


def test_all_checks_passed_and_notices():
    assert render(LintResult([], files_checked=7), "text") == "All checks passed (7 files).\n"
    assert render(LintResult([], files_checked=1), "text") == "All checks passed (1 file).\n"
    result = LintResult([], files_checked=2, notices=["big.py: skipped, 3.1 MB is over the 2 MB limit"])
    assert render(result, "text") == "All checks passed (2 files).\nbig.py: skipped, 3.1 MB is over the 2 MB limit\n"


def test_notices_follow_the_summary_when_there_are_findings():
    result = LintResult([finding()], files_checked=3, notices=["gen.py: skipped (generated)", "x.py: skipped"])
    lines = render(result, "text").splitlines()
    assert lines[-3:] == [
        "Found 1 finding (1 error, 0 warnings, 0 info) in 3 files.",
        "gen.py: skipped (generated)",
        "x.py: skipped",
    ]


def test_notebook_location_and_related_location_in_another_cell():
    f = finding(
        path="nb/train.ipynb",
        cell=4,
        line=2,
        col=7,
        source="ckpt = tf.train.Checkpoint(model=m)",
        related=(Related(Location("nb/train.ipynb", 1, 1, 1, 4, cell=2), "optimizer created here"),),
    )
    assert render(LintResult([f], 1), "text").splitlines()[:4] == [
        "nb/train.ipynb:cell_4:2:7: CKPT901 [error] the optimizer is not in the checkpoint",
        "    ckpt = tf.train.Checkpoint(model=m)",
        "          ^",
        "    note: nb/train.ipynb:cell_2:1:1: optimizer created here",
    ]


def test_caret_copies_tabs_so_it_lines_up():
    f = finding(line=5, col=3, source="\t\tckpt.save(prefix)\n")
    lines = render(LintResult([f], 1), "text").splitlines()
    assert lines[1] == "    \t\tckpt.save(prefix)"
    assert lines[2] == "    \t\t^"
    # After expanding tabs the same way, the caret is under the first character of the statement.
    assert lines[2].expandtabs(8).index("^") == lines[1].expandtabs(8).index("c")


def test_caret_beyond_end_of_line_and_missing_source():
    past_end = finding(col=12, source="x = f(")
    lines = render(LintResult([past_end], 1), "text").splitlines()
    assert lines[1:3] == ["    x = f(", "               ^"]
    no_source = finding("CKPT001", "cannot decode file", source="", line=1, col=1)
    assert render(LintResult([no_source], 1), "text") == (
        "src/train.py:1:1: CKPT001 [error] cannot decode file\n\nFound 1 finding (1 error, 0 warnings, 0 info) in 1 file.\n"
    )


def test_control_characters_from_the_source_never_reach_the_terminal():
    f = finding(col=5, source="x = '\x1b[2J'  # clear screen\r\n", message="bad\x07 message")
    out = render(LintResult([f], 1), "text")
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    lines = out.splitlines()
    assert lines[0].endswith("bad\N{REPLACEMENT CHARACTER} message")
    assert lines[1] == "    x = '\N{REPLACEMENT CHARACTER}[2J'  # clear screen"
    assert lines[2] == "        ^"


def test_multiline_message_is_indented():
    f = finding(message="first line\nsecond line", source="")
    assert render(LintResult([f], 1), "text").splitlines()[:2] == [
        "src/train.py:3:9: CKPT901 [error] first line",
        "    second line",
    ]


def test_statistics_table_sorted_by_count_then_code(fake_rules):
    findings = [
        finding("CKPT901", fixable=True),
        finding("CKPT902", severity=Severity.WARNING, line=4),
        finding("CKPT902", severity=Severity.WARNING, line=5),
        finding("CKPT000", "invalid syntax", path="b.py"),
        finding("CKPT902", severity=Severity.WARNING, line=6),
    ]
    out = render(LintResult(findings, files_checked=9), "text", statistics=True)
    assert out == textwrap.dedent(
        """\
        3  CKPT902      fake-naming-rule
        1  CKPT000      syntax-error
        1  CKPT901  [*] fake-checkpoint-rule

        Found 5 findings (2 errors, 3 warnings, 0 info) in 9 files.
        """
    )


def test_statistics_without_fixable_findings_has_no_marker_column(fake_rules):
    findings = [finding("CKPT902", severity=Severity.WARNING, line=n) for n in range(1, 11)] + [finding("CKPT901")]
    out = render(LintResult(findings, files_checked=2), "text", statistics=True)
    assert out.splitlines()[:2] == ["10  CKPT902  fake-naming-rule", " 1  CKPT901  fake-checkpoint-rule"]


def test_statistics_of_a_clean_run_is_just_the_summary():
    assert render(LintResult([], 4), "text", statistics=True) == "All checks passed (4 files).\n"


def test_no_escape_codes_without_color_and_same_text_with_color():
    result = LintResult(
        [finding(fixable=True, related=(Related(Location("a.py", 1, 1, 1, 2), "here"),)), finding(severity=Severity.WARNING, line=9)],
        files_checked=2,
        notices=["skipped one"],
    )
    plain = render(result, "text")
    colored = render(result, "text", color=True)
    assert "\x1b" not in plain
    assert "\x1b[1;31m" in colored and "\x1b[1;33m" in colored  # error red, warning yellow
    assert ANSI.sub("", colored) == plain
    assert "\x1b" not in render(LintResult([], 3), "text")
    assert ANSI.sub("", render(LintResult([], 3), "text", color=True)) == "All checks passed (3 files).\n"


def test_unknown_format_is_a_user_error():
    with pytest.raises(CkptlintError, match="unknown output format 'xml'"):
        render(LintResult([], 0), "xml")
    assert FORMATS == ("text", "json", "sarif", "github")


def test_text_report_imports_neither_libcst_nor_tensorflow():
    code = textwrap.dedent(
        """
        import sys
        from ckptlint.lint.findings import Finding, LintResult, Location, Severity
        from ckptlint.report import render
        f = Finding("CKPT301", "m", Severity.WARNING, Location("a.py", 1, 1, 1, 2), source_line="x")
        out = render(LintResult([f], 1), "text")
        assert "a.py:1:1: CKPT301 [warning] m" in out, out
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"libcst", "tensorflow", "keras"})
        print(",".join(heavy))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
