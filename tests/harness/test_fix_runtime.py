"""Autofix proven at run time: for every buggy sample twin whose rule has a fix, `ckptlint check --fix`
(plus `--unsafe-fixes` when the rule's fix is unsafe) on a copy leaves exactly the findings of the fixed
twin, and the harness (real TensorFlow, fresh process) gives the fixed copy the fixed twin's verdict:
it resumes exactly ("pass")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from samples import SAMPLES, projects  # noqa: E402

from ckptlint.harness import verify  # noqa: E402
from ckptlint.lint.registry import rule_by_code  # noqa: E402


def _fixable_projects() -> list[tuple[str, dict]]:
    return [(name, expected) for name, expected in projects() if rule_by_code(expected["rule"]).fix_safety]


def test_every_fixable_sample_rule_is_covered():
    codes = {expected["rule"] for _name, expected in _fixable_projects()}
    assert {"CKPT101", "CKPT301"} <= codes


@pytest.mark.parametrize(("project", "expected"), _fixable_projects(), ids=lambda v: v if isinstance(v, str) else "")
def test_fixed_buggy_twin_resumes_exactly(project, expected, tmp_path):
    copy = tmp_path / project
    shutil.copytree(SAMPLES / project / "buggy", copy)
    entry = expected.get("entry", "train.py")
    rule = rule_by_code(expected["rule"])
    flags = ["--fix"] + (["--unsafe-fixes"] if rule.fix_safety == "unsafe" else [])
    fixed = subprocess.run([sys.executable, "-m", "ckptlint", "check", "--no-cache", *flags, entry],
                           cwd=copy, capture_output=True, text=True, timeout=300)
    assert "Fixed " in fixed.stdout, fixed.stdout + fixed.stderr
    after = subprocess.run([sys.executable, "-m", "ckptlint", "check", "--no-cache", "--format", "json", entry],
                           cwd=copy, capture_output=True, text=True, timeout=300)
    remaining = [f["code"] for f in json.loads(after.stdout)]
    assert remaining == [code for code, _line in expected["findings"]["fixed"]], after.stdout
    assert (copy / entry).read_text() != (SAMPLES / project / "buggy" / entry).read_text()

    # The fixed copy behaves at run time like the hand-fixed twin: for every fix but CKPT201's that is an
    # exact resume ("pass"); checking a restore status makes a wrong restore fail loudly instead.
    want = expected["harness"]["fixed"]
    report = verify(f"{copy / entry}:make_setup", steps=expected.get("steps", 3), workdir=str(tmp_path / "verify"))
    assert report.verdict == want["verdict"], report.to_text()
    if want["verdict"] == "error":
        assert report.error["phase"] == want["phase"], report.to_text()
