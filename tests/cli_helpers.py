"""Helpers shared by the linter tests (a plain module: `conftest` is not importable by name once several
conftest.py files exist in the suite)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_ckptlint(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess, as a user (or pre-commit) would."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "ckptlint", *args], cwd=cwd, capture_output=True, text=True, env=full_env,
        timeout=300,
    )
