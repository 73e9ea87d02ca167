"""Bad targets and arguments are one-line errors (exit 2, no traceback); good path targets work."""

from __future__ import annotations

import json

import pytest

from ckptlint.errors import CkptlintError
from ckptlint.harness import verify
from tests.harness.conftest import REPO, run_verify_cli

BAD = "tests/harness/setups/bad.py"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("no/such/train.py:make_setup", "no/such/train.py: no such file"),
        (f"{BAD}:make_nothing", "has no attribute 'make_nothing'"),
        (f"{BAD}:NOT_CALLABLE", "NOT_CALLABLE is not callable"),
        (f"{BAD}:make_raises", "raised RuntimeError: dataset directory /data/train not found"),
        (f"{BAD}:make_wrong_type", "returned dict, expected ckptlint.harness.Setup"),
        ("tests.harness.setups.nope:make_setup", "cannot import 'tests.harness.setups.nope'"),
        ("train.py", "expected 'path/to/train.py:make_setup'"),
    ],
)
def test_bad_target_raises_ckptlint_error(target, expected, monkeypatch):
    monkeypatch.chdir(REPO)
    with pytest.raises(CkptlintError, match=None) as info:
        verify(target, steps=1)
    assert expected in str(info.value)


def test_local_factory_is_rejected():
    def make_setup():  # not importable by the fresh process
        raise AssertionError("never called")

    with pytest.raises(CkptlintError, match="module level"):
        verify(make_setup)


def test_bad_arguments():
    with pytest.raises(CkptlintError, match="--steps"):
        verify("tests.harness.setups.tape:make_checkpoint_full", steps=0)
    with pytest.raises(CkptlintError, match="unknown --method"):
        verify("tests.harness.setups.tape:make_checkpoint_full", method="pickle")


def test_cli_bad_target_is_one_line_exit_2():
    proc = run_verify_cli(f"{BAD}:make_raises", "--steps", "1")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ckptlint: error: factory") and "RuntimeError: dataset directory" in last


def test_cli_path_target_with_sibling_import_json_and_plot(tmp_path):
    """A script run by path from the repo root (its directory goes on sys.path), JSON report and PNG."""
    png = tmp_path / "curves.png"
    proc = run_verify_cli("tests/harness/setups/standalone/train.py:make_setup", "--steps", "2",
                          "--format", "json", "--plot", str(png))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["verdict"] == "pass" and data["method"] == "user"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
