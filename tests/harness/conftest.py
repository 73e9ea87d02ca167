"""Harness tests run real TensorFlow. Factories live in tests/harness/setups (importable as
`tests.harness.setups.*`, so the harness's fresh worker process can import them again)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Without TensorFlow nothing here can run: skip collecting it (found, not imported: importing TensorFlow
# in every xdist worker would cost seconds even for `pytest -m "not tf"`).
if importlib.util.find_spec("tensorflow") is None:
    collect_ignore_glob = ["*.py", "*/*.py"]


def run_verify_cli(*args: str, cwd: Path = REPO, timeout: float = 600,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`ckptlint verify ...` in a subprocess, exactly as a user runs it (`env`: extra variables)."""
    env = {**os.environ, **(env or {}),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "ckptlint", "verify", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=timeout)


@pytest.fixture
def workdir(tmp_path: Path) -> str:
    return str(tmp_path / "verify")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/harness runs real TensorFlow: `pytest -m "not tf"` leaves it out."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.tf)
