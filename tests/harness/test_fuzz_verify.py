"""A small, seeded slice of the verify fuzz campaign (benchmarks/fuzz_verify.py has the full one): bad
options and targets, and user code misbehaving in a few phases, through the real CLI; not one traceback,
crash, hang, wrong exit code or process or temporary file left behind."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import fuzz_verify  # noqa: E402

pytestmark = pytest.mark.tf


def test_the_generator_is_reproducible_and_covers_every_kind():
    first, again = fuzz_verify.generate(3, 80), fuzz_verify.generate(3, 80)
    assert [(c.kind, c.name, c.args) for c in first] == [(c.kind, c.name, c.args) for c in again]
    assert {c.kind for c in first} == set(fuzz_verify.KINDS)


def test_a_small_campaign_finds_nothing(tmp_path):
    cases = fuzz_verify.generate(29, 120)
    options = [c for c in cases if c.kind == "options"][:12]
    faults = {}
    for case in cases:  # two factories: a process that vanishes, and one that leaves a forked process behind
        kind = case.name.split(" in ")[0]
        if case.kind == "factory" and kind in ("exit", "fork") and kind not in faults:
            faults[kind] = case
    assert len(faults) == 2
    outcomes = fuzz_verify.run_cases(options + list(faults.values()), tmp_path, parallel=2, progress=False)
    summary = fuzz_verify.summarize(outcomes)
    assert summary["inputs"] == 14 and summary["problems"] == 0, summary["failures"]


def test_the_oracle_is_not_vacuous(tmp_path):
    """A case whose expectation is wrong is counted: the checks do fire."""
    case = fuzz_verify.Case("options", "a valid option expected to fail", ["--help"], {}, {2}, one_error_line=True)
    outcome = fuzz_verify.run_case(case, tmp_path, 0)
    assert [kind for kind, _ in outcome.problems] == ["wrong exit code"]
