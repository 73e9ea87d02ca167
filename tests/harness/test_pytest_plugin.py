"""The pytest plugin, run as users run it: a separate pytest process (also under xdist -n 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.harness.conftest import REPO

USER_TESTS = textwrap.dedent(
    """
    from tests.harness.setups import tape


    def test_resume_is_exact(ckpt_resume):
        report = ckpt_resume(tape.make_checkpoint_full, steps=2)
        assert report.verdict == "pass"


    def test_resume_forgets_the_optimizer(ckpt_resume):
        ckpt_resume("tests.harness.setups.tape:make_checkpoint_model_only", steps=2)


    def test_target_next_to_this_file(ckpt_resume):
        ckpt_resume("train.py:make_setup", steps=2)   # resolved against this file, not pytest's cwd
    """
)


def _pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    project = tmp_path / "project" / "tests"
    project.mkdir(parents=True)
    (project / "test_user_resume.py").write_text(USER_TESTS, encoding="utf-8")
    (project / "train.py").write_text(
        (REPO / "tests" / "harness" / "setups" / "standalone" / "train.py").read_text(encoding="utf-8"),
        encoding="utf-8")
    (project / "net.py").write_text(
        (REPO / "tests" / "harness" / "setups" / "standalone" / "net.py").read_text(encoding="utf-8"),
        encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args,
                           "project/tests/test_user_resume.py"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_fixture_passes_and_fails_with_the_report(tmp_path, xdist):
    proc = _pytest(tmp_path, *xdist)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert "1 failed, 2 passed" in out
    assert "AssertionError: checkpoint resume check failed:" in out
    assert "FAIL: 2 component(s) not restored: optimizer iterations[optimizer], optimizer slots[optimizer]" in out
    assert "optimizer slots[optimizer]: 000 " in out and "NOT restored" in out


def test_relative_target_resolves_beside_the_test_file(tmp_path):
    from ckptlint.harness.pytest_plugin import resolve_target

    (tmp_path / "train.py").write_text("", encoding="utf-8")
    assert resolve_target("train.py:make_setup", str(tmp_path)) == f"{tmp_path / 'train.py'}:make_setup"
    assert resolve_target("elsewhere.py:make_setup", str(tmp_path)) == "elsewhere.py:make_setup"
    assert resolve_target("pkg.module:make_setup", str(tmp_path)) == "pkg.module:make_setup"


def test_plugin_and_package_import_no_tensorflow():
    code = ("import sys, ckptlint.harness, ckptlint.harness.cli, ckptlint.harness.pytest_plugin; "
            "from ckptlint.harness import Setup, verify, assert_resumes; "
            "heavy = [m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
