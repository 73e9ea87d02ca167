"""Shared helpers for the linter tests (the harness and inspector suites have their own conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_ckptlint(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess, as a user (or pre-commit) would."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "ckptlint", *args], cwd=cwd, capture_output=True, text=True, env=full_env,
        timeout=300,
    )


@pytest.fixture
def write(tmp_path: Path):
    """write("a/b.py", source) -> Path, dedenting the source."""

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write
