"""The black-box mode on Keras 3's JAX backend: `fit` runs a jitted, stateless train step that never calls
back into Python, so the hook counts each batch from a fit callback and reads the state there, after
`model.jax_state_sync()`. Skipped when JAX is not installed (the `jax` extra)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.blackbox.blackbox_helpers import causes, component_status, verify_json

pytestmark = pytest.mark.tf
pytest.importorskip("jax")
PROGRAMS = Path(__file__).resolve().parent / "programs"
JAX = {"KERAS_BACKEND": "jax"}


def test_keras_fit_with_epoch_backups_passes_on_jax():
    report, proc = verify_json("keras_fit_backup.py", "--no-determinism-check", "--kill-at", "6", cwd=PROGRAMS,
                               env=JAX)
    assert report["verdict"] == "pass" and proc.returncode == 0, report["blackbox"]["causes"]
    bb = report["blackbox"]
    assert bb["resume"]["update"] == 4 and bb["resume"]["api"] == "keras load_weights"
    assert bb["trials"]["U"]["updates"] == 12 and bb["trials"]["R"]["updates"] == 8
    assert set(component_status(report).values()) == {"restored"}
    assert {"model weights", "optimizer slots[adam]", "optimizer iterations[adam]"} <= set(component_status(report))


def test_keras_fit_with_step_backups_restarting_its_epoch_count_fails_on_jax():
    report, _ = verify_json("keras_fit_backup.py", "--no-determinism-check", "--kill-at", "6", cwd=PROGRAMS,
                            env=JAX, extra=("{out}", "--steps-backup"))
    assert report["verdict"] == "fail" and causes(report) == ["epoch-restart"]
    assert report["blackbox"]["causes"][0]["message"].startswith("R trains 4 extra update(s)")
    assert report["blackbox"]["resume"]["update"] == 4
    assert set(component_status(report).values()) == {"restored"}
