"""A small, seeded run of the fuzz campaign (benchmarks/fuzz.py has the full one): a few hundred hostile
inputs through the real CLI, and not one traceback, crash, hang or wrong exit code."""

from __future__ import annotations

import sys

import pytest

from cli_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import fuzz  # noqa: E402


def test_the_generators_are_reproducible():
    seeds = fuzz.seed_sources()
    first = fuzz.generate(11, 200, seeds, quick=True)
    again = fuzz.generate(11, 200, seeds, quick=True)
    assert [(c.kind, c.files, c.args) for c in first] == [(c.kind, c.files, c.args) for c in again]
    assert {c.kind for c in fuzz.generate(12, 1500, seeds)} >= {
        "mutated sources", "deep and long sources", "encodings", "file names", "special files", "notebooks",
        "configuration", "cache corruption", "--diff", "--fix"}


@pytest.mark.parametrize("seed", [101, 202])
def test_a_small_campaign_finds_nothing(tmp_path, seed):
    summary = fuzz.campaign(seed, 90, tmp_path, parallel=1, progress=False, quick=True)
    assert summary["inputs"] >= 90
    assert summary["problems"] == {category: 0 for category in fuzz.CATEGORIES}, summary["failures"]


def test_the_oracle_is_not_vacuous():
    """The checks that count problems do fire on the problems they look for."""
    assert fuzz._lint_problems(None, "", "") == [("hang", f"over {fuzz.RUN_TIMEOUT:g} s")]
    assert fuzz._lint_problems(-11, "", "")[0][0] == "crash"
    assert [c for c, _ in fuzz._lint_problems(1, "[]", "Traceback (most recent call last):\n")] == [
        "traceback", "wrong exit code"]
    assert fuzz._lint_problems(2, "[]", "ckptlint: error: a.py: internal error while parsing: X")[0][0] == "wrong exit code"
    assert fuzz._lint_problems(0, '[{"code": "CKPT101"}]', "")[0][0] == "wrong exit code"
    slow = '[{"code": "CKPT001", "filename": "a.py", "message": "not analysed: it used more than 30 s of CPU time (--file-timeout)"}]'
    assert ("hang", "a.py: not analysed: it used more than 30 s of CPU time (--file-timeout)") in fuzz._lint_problems(1, slow, "")
    assert fuzz._lint_problems(1, '[{"code": "CKPT301", "filename": "a.py", "message": "m"}]', "") == []
