"""GitHub Actions workflow-command annotations: exact lines and the toolkit's escaping."""

from __future__ import annotations

import pytest

from ckptlint.lint import catalogue

from ckptlint.lint.findings import Finding, LintResult, Location, Related, Severity
from ckptlint.report import render
from ckptlint.report.github import escape_data, escape_property
from ckptlint.lint.rule import Rule


class FakeRule(Rule):
    """Finds things."""

    code = "CKPT905"
    name = "fake-rule"
    severity = Severity.WARNING
    summary = "A fake rule."


@pytest.fixture(autouse=True)
def fake_rules(monkeypatch):
    import ckptlint.lint.registry as registry

    monkeypatch.setattr(registry, "all_rules", lambda: (FakeRule,))
    # The reports read names from the catalogue: make it follow the fake registry.
    monkeypatch.setattr(catalogue, "records", catalogue.live_records)


def test_one_annotation_per_finding_with_level_mapping():
    findings = [
        Finding("CKPT905", "an error", Severity.ERROR, Location("src/train.py", 3, 9, 3, 35)),
        Finding("CKPT905", "a warning", Severity.WARNING, Location("src/train.py", 5, 1, 7, 4)),
        Finding("CKPT000", "an info", Severity.INFO, Location("src/util.py", 1, 1, 1, 2)),
    ]
    assert render(LintResult(findings, 2), "github") == (
        "::error file=src/train.py,line=3,col=9,endLine=3,endColumn=35,title=CKPT905 fake-rule::an error\n"
        "::warning file=src/train.py,line=5,col=1,endLine=7,endColumn=4,title=CKPT905 fake-rule::a warning\n"
        "::notice file=src/util.py,line=1,col=1,endLine=1,endColumn=2,title=CKPT000 syntax-error::an info\n"
    )


def test_escaping_of_message_and_properties():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    # `:` and `,` are left alone in the message: only properties need them escaped.
    assert escape_data("a:b,c") == "a:b,c"
    f = Finding("CKPT905", "lr 50%: drop\nagain, twice", Severity.ERROR, Location("dir,one/a:b.py", 2, 3, 2, 4))
    assert render(LintResult([f], 1), "github") == (
        "::error file=dir%2Cone/a%3Ab.py,line=2,col=3,endLine=2,endColumn=4,title=CKPT905 fake-rule"
        "::lr 50%25: drop%0Aagain, twice\n"
    )


def test_every_line_is_a_single_workflow_command():
    f = Finding("CKPT905", "x\ny\rz", Severity.WARNING, Location("a.py", 1, 1, 1, 2),
                related=(Related(Location("b.py", 4, 2, 4, 3), "see\nhere"),))
    out = render(LintResult([f], 1), "github")
    assert out.count("\n") == 1 and "\r" not in out


def test_related_locations_are_notes_in_the_message():
    f = Finding(
        "CKPT905",
        "saved without the optimizer",
        Severity.WARNING,
        Location("train.py", 10, 5, 10, 20),
        related=(Related(Location("train.py", 2, 1, 2, 9), "optimizer created here"),
                 Related(Location("nb.ipynb", 1, 1, 1, 2, cell=3), "restored here")),
    )
    assert render(LintResult([f], 1), "github") == (
        "::warning file=train.py,line=10,col=5,endLine=10,endColumn=20,title=CKPT905 fake-rule"
        "::saved without the optimizer%0Anote: train.py:2:1: optimizer created here"
        "%0Anote: nb.ipynb:cell_3:1:1: restored here\n"
    )


def test_notebook_finding_is_a_file_annotation_naming_the_cell():
    f = Finding("CKPT905", "unnamed optimizer", Severity.WARNING, Location("nb/train.ipynb", 2, 7, 2, 9, cell=4))
    assert render(LintResult([f], 1), "github") == (
        "::warning file=nb/train.ipynb,title=CKPT905 fake-rule::cell 4, line 2, column 7: unnamed optimizer\n"
    )


def test_windows_paths_use_forward_slashes_and_positions_are_at_least_one():
    f = Finding("CKPT001", "cannot read file", Severity.ERROR, Location("src\\data\\x.py", 0, 0, 0, 0))
    assert render(LintResult([f], 1), "github") == (
        "::error file=src/data/x.py,line=1,col=1,endLine=1,endColumn=1,title=CKPT001 unreadable-file::cannot read file\n"
    )


def test_clean_run_prints_nothing_and_notices_become_notice_commands():
    assert render(LintResult([], 4), "github") == ""
    result = LintResult([], 4, notices=["big.py: skipped, 100% over\nthe limit"])
    assert render(result, "github") == "::notice title=ckptlint::big.py: skipped, 100%25 over%0Athe limit\n"


def test_statistics_flag_does_not_replace_annotations():
    f = Finding("CKPT905", "m", Severity.WARNING, Location("a.py", 1, 1, 1, 2))
    assert render(LintResult([f], 1), "github", statistics=True) == render(LintResult([f], 1), "github")
