"""Reading sample_projects/*/expected.json (shared by the lint test and the runtime test)."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_projects"


def projects() -> list[tuple[str, dict]]:
    return [(path.parent.name, json.loads(path.read_text())) for path in sorted(SAMPLES.glob("*/expected.json"))]


def twins() -> list[tuple[str, str, dict]]:
    """(project, "buggy"|"fixed", expected) for every twin."""
    return [(name, twin, expected) for name, expected in projects() for twin in ("buggy", "fixed")]


def harness_twins() -> list[tuple[str, str, dict]]:
    """The twins `ckptlint verify` can drive (a project with `"harness": null` proves its runtime claim
    with the dedicated test named in its `runtime_test`)."""
    return [(name, twin, expected) for name, twin, expected in twins() if expected.get("harness")]


def entry_point(project: str, twin: str, expected: dict) -> str:
    module = expected.get("entry", "train.py")
    return f"{SAMPLES / project / twin / module}:make_setup"
