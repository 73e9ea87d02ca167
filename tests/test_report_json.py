"""The JSON reporter: the documented, stable object shape, statistics, and ASCII-safe output."""

from __future__ import annotations

import json

import pytest

from ckptlint.lint import catalogue

from ckptlint.lint.findings import Finding, LintResult, Location, Related, Severity
from ckptlint.report import render
from ckptlint.lint.rule import Rule


class FakeDocumentedRule(Rule):
    """Finds things."""

    code = "CKPT903"
    name = "fake-documented-rule"
    severity = Severity.WARNING
    summary = "A fake rule with a page."


class FakePlainRule(Rule):
    """Finds other things."""

    code = "CKPT904"
    name = "fake-plain-rule"
    severity = Severity.INFO
    summary = "Another fake rule."


@pytest.fixture
def fake_rules(monkeypatch):
    import ckptlint.lint.registry as registry

    monkeypatch.setattr(registry, "all_rules", lambda: (FakeDocumentedRule, FakePlainRule))
    # The reports read names from the catalogue: make it follow the fake registry.
    monkeypatch.setattr(catalogue, "records", catalogue.live_records)


def test_finding_object_shape(fake_rules):
    f = Finding(
        "CKPT903",
        "restore status is never checked",
        Severity.WARNING,
        Location("src/train.py", 10, 5, 10, 42),
        source_line="    ckpt.restore(path)",
        related=(Related(Location("src/train.py", 4, 1, 4, 30), "checkpoint created here"),),
        fixable=True,
    )
    doc = json.loads(render(LintResult([f], 3), "json"))
    assert doc == [
        {
            "code": "CKPT903",
            "name": "fake-documented-rule",
            "severity": "warning",
            "message": "restore status is never checked",
            "filename": "src/train.py",
            "cell": None,
            "location": {"row": 10, "column": 5},
            "end_location": {"row": 10, "column": 42},
            "fixable": True,
            "related": [{"filename": "src/train.py", "cell": None, "row": 4, "column": 1, "message": "checkpoint created here"}],
            "page": "docs/rules/CKPT903.md",
        }
    ]


def test_notebook_engine_code_has_no_page(fake_rules):
    findings = [
        Finding("CKPT000", "invalid syntax", Severity.ERROR, Location("a.ipynb", 2, 3, 2, 4, cell=5)),
        Finding("CKPT904", "note", Severity.INFO, Location("b.py", 1, 1, 3, 2)),
    ]
    doc = json.loads(render(LintResult(findings, 2), "json"))
    assert [d["name"] for d in doc] == ["syntax-error", "fake-plain-rule"]
    assert doc[0]["cell"] == 5 and doc[0]["location"] == {"row": 2, "column": 3}
    assert doc[1]["cell"] is None and doc[1]["end_location"] == {"row": 3, "column": 2}
    assert "page" not in doc[0] and doc[1]["page"] == "docs/rules/CKPT904.md"
    assert [d["severity"] for d in doc] == ["error", "info"]
    expected_keys = {"code", "name", "severity", "message", "filename", "cell", "location", "end_location", "fixable", "related"}
    assert set(doc[0]) == expected_keys and set(doc[1]) == expected_keys | {"page"}


def test_order_is_the_runs_order_and_unknown_codes_still_render(fake_rules):
    findings = [
        Finding("CKPT904", "x", Severity.INFO, Location("a.py", 1, 1, 1, 2)),
        Finding("CKPT999", "from a removed plugin", Severity.WARNING, Location("a.py", 2, 1, 2, 2)),
    ]
    doc = json.loads(render(LintResult(findings, 1), "json"))
    assert [(d["code"], d["name"]) for d in doc] == [("CKPT904", "fake-plain-rule"), ("CKPT999", "ckpt999")]


def test_empty_run_is_an_empty_list():
    assert render(LintResult([], 5), "json") == "[]\n"
    assert render(LintResult([], 5), "json", statistics=True) == "[]\n"


def test_statistics(fake_rules):
    findings = [
        Finding("CKPT904", "x", Severity.INFO, Location("a.py", n, 1, n, 2)) for n in range(1, 3)
    ] + [
        Finding("CKPT903", "x", Severity.WARNING, Location("a.py", 9, 1, 9, 2)),
        Finding("CKPT000", "x", Severity.ERROR, Location("b.py", 1, 1, 1, 2)),
    ]
    doc = json.loads(render(LintResult(findings, 2), "json", statistics=True))
    assert doc == [
        {"code": "CKPT904", "name": "fake-plain-rule", "count": 2},
        {"code": "CKPT000", "name": "syntax-error", "count": 1},
        {"code": "CKPT903", "name": "fake-documented-rule", "count": 1},
    ]


def test_output_is_ascii_and_round_trips_non_ascii_text(fake_rules):
    f = Finding("CKPT904", "Gewichte — ‘ckpt’ ✓ \"quoted\"\nnext", Severity.INFO, Location("données/é.py", 1, 1, 1, 2))
    out = render(LintResult([f], 1), "json")
    assert out.isascii() and out.endswith("]\n")
    doc = json.loads(out)
    assert doc[0]["message"] == "Gewichte — ‘ckpt’ ✓ \"quoted\"\nnext"
    assert doc[0]["filename"] == "données/é.py"
