"""Every rule's VALID and INVALID examples, run through the real engine (the docs are tests)."""

from __future__ import annotations

import textwrap

import pytest

from ckptlint.lint.engine import lint_text
from ckptlint.lint.sources import Source
from ckptlint.lint.registry import all_rules

RULES = all_rules()


def _lint(rule, code: str, keras: int | None = None):
    return [f for f in lint_text("example.py", Source(textwrap.dedent(code)), (rule.code,), keras=keras).findings
            if f.code == rule.code]


def _cases(kind: str):
    for rule in RULES:
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id=f"{rule.code}-{kind.lower()}-{index}")


def test_every_rule_has_examples_and_a_page():
    assert RULES, "no rules were discovered"
    for rule in RULES:
        assert rule.VALID and rule.INVALID, rule.code
        page = rule.page()
        for heading in ("## What it does", "## Why is this bad?", "## Example"):
            assert heading in page, (rule.code, heading)
        assert rule.api_words, f"{rule.code} declares no prefilter words"


@pytest.mark.parametrize(("rule", "example"), list(_cases("VALID")))
def test_valid_examples_are_not_flagged(rule, example):
    assert _lint(rule, example) == []


@pytest.mark.parametrize(("rule", "example"), list(_cases("INVALID")))
def test_invalid_examples_are_flagged_where_expected(rule, example):
    findings = _lint(rule, example.code, example.keras)
    assert findings, f"{rule.code} did not fire"
    if example.message is not None:
        assert all(example.message in f.message for f in findings), [f.message for f in findings]
    if example.lines:
        assert sorted(f.location.line for f in findings) == sorted(example.lines), [
            (f.location.line, f.message) for f in findings
        ]


@pytest.mark.parametrize(("rule", "example"), list(_cases("INVALID")))
def test_prefilter_keeps_every_invalid_example(rule, example):
    from ckptlint.lint.engine import might_matter

    codes = tuple(r.code for r in RULES)
    assert might_matter(textwrap.dedent(example.code), codes)
    assert might_matter(textwrap.dedent(example.code), (rule.code,))


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_the_example_on_the_rule_page_fires_as_written(rule):
    """The `## Example` block of docs/rules/<CODE>.md, copied as it is, is flagged by that rule."""
    from ckptlint.lint.catalogue import docs_directory

    page = (docs_directory() / f"{rule.code}.md").read_text(encoding="utf-8")
    block = page.split("## Example\n```python\n", 1)[1].split("\n```", 1)[0]
    assert _lint(rule, block), f"the example on {rule.code}'s page does not fire"
