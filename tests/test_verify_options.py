"""`ckptlint verify` rejects a missing TensorFlow, then bad options, with one line and exit 2, before any
TensorFlow is imported (the tests marked `tf` need it installed, not imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _verify(*args: str, cwd: Path = REPO, prelude: str = "") -> subprocess.CompletedProcess:
    code = f"{prelude}\nimport sys\nfrom ckptlint.cli import main\nsys.exit(main(['verify', *sys.argv[1:]]))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def target(tmp_path: Path) -> str:
    path = tmp_path / "train.py"
    path.write_text("def make_setup():\n    raise AssertionError('never imported')\n", encoding="utf-8")
    return f"{path}:make_setup"


@pytest.mark.tf
@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--atol", "-1", "--atol must be a finite number >= 0"),
    ("--rtol", "nan", "--rtol must be a finite number >= 0"),
    ("--atol", "inf", "--atol must be a finite number >= 0"),
    ("--steps", "0", "--steps must be a whole number of at least 1"),
    ("--timeout", "0", "--timeout must be a number of seconds > 0"),
])
def test_bad_numbers_are_one_line_exit_2(target, option, value, expected):
    proc = _verify(target, option, value)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ckptlint: error: {expected} (got {float(value) if option != '--steps' else int(value)!r})"
    assert proc.stdout == ""


@pytest.mark.tf
def test_workdir_that_is_a_file(target, tmp_path):
    afile = tmp_path / "not-a-dir"
    afile.write_text("x", encoding="utf-8")
    proc = _verify(target, "--workdir", str(afile))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ckptlint: error: --workdir {afile}: exists and is not a directory"


def test_without_tensorflow_one_line_exit_2(target):
    proc = _verify(target, prelude="import sys; sys.modules['tensorflow'] = None")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("ckptlint: error: verify needs TensorFlow, which is not installed here: "
                                   "pip install 'ckptlint[tf]'")
    assert "Traceback" not in proc.stderr


@pytest.mark.tf
def test_supervisor_imports_no_tensorflow():
    code = ("import sys, ckptlint.harness.runner, ckptlint.harness.assemble, ckptlint.harness.process, "
            "ckptlint.harness.cli; print([m for m in ('tensorflow', 'keras') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr
