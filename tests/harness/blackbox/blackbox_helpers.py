"""Running `ckptlint verify -- COMMAND` as a user does, and reading its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
PROGRAMS = Path(__file__).resolve().parent / "programs"
MADE = PROGRAMS / "made"
UPSTREAM = PROGRAMS / "upstream"


def verify(*args: str, cwd: Path = MADE, timeout: float = 600, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess:
    """`python -m ckptlint verify ARGS` in a subprocess (the trials are its children)."""
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                **(env or {})}
    return subprocess.run([sys.executable, "-m", "ckptlint", "verify", *args], cwd=cwd, capture_output=True,
                          text=True, env=full_env, timeout=timeout)


def verify_json(program: str, *options: str, cwd: Path = MADE, extra: tuple[str, ...] = ("{out}",),
                env: dict[str, str] | None = None) -> tuple[dict[str, Any], subprocess.CompletedProcess]:
    proc = verify("--format", "json", *options, "--", sys.executable, program, *extra, cwd=cwd, env=env)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not one JSON document:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert report["exit_code"] == proc.returncode, proc.stderr[-2000:]
    return report, proc


def causes(report: dict[str, Any]) -> list[str]:
    return [c["code"] for c in report["blackbox"]["causes"]]


def component_status(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["components"]}
