"""`ckpt_resume_command` in a user's own test suite, run as users run pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.harness.blackbox.blackbox_helpers import MADE, REPO

pytestmark = pytest.mark.tf

USER_TESTS = textwrap.dedent(
    """
    def test_my_loop_resumes(ckpt_resume_command):
        report = ckpt_resume_command(["python", "train/manager_loop.py", "{out}"], determinism_check=False)
        assert report.verdict == "pass"


    def test_my_other_script(ckpt_resume_command):
        ckpt_resume_command(["python", "train/never_resumes.py", "{out}"], determinism_check=False)
    """
)


def test_fixture_passes_and_fails_with_the_report(tmp_path):
    project = tmp_path / "project"
    (project / "train").mkdir(parents=True)
    for name in ("manager_loop.py", "never_resumes.py"):
        shutil.copy(MADE / name, project / "train" / name)
    (project / "test_resume.py").write_text(USER_TESTS, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"  # pytest started from another directory: paths follow the test file
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(project)],
                          cwd=elsewhere, capture_output=True, text=True, env=env, timeout=900)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert "1 failed, 1 passed" in out
    assert "AssertionError: checkpoint resume check failed:" in out
    assert "DID NOT RESUME: R read no checkpoint" in out
