"""Factory mode on Keras 3's JAX backend (KERAS_BACKEND=jax), and the `orbax` method on it.

Measured with Keras 3.15, JAX 0.10 and orbax-checkpoint 0.12: tf.train.Checkpoint and tf.saved_model
refuse a JAX-backend Keras model, so `checkpoint`, `manager` and `savedmodel` are n/a with the reason;
the Keras-native methods and `orbax` (OrbaxCheckpoint's epoch-end save, `keras.saving.load_model` of the
directory) run. load_model rebuilds a Sequential model whose variables lack the `sequential/` prefix the
checkpoint's state tree names, and Keras assigns by exact path, so a Sequential model's weights are
silently not restored (https://github.com/keras-team/keras/issues/23251); a functional model's are.
"""

from __future__ import annotations

import json

import pytest

from tests.harness.conftest import run_verify_cli

pytest.importorskip("jax")
pytest.importorskip("orbax.checkpoint")
JAX = {"KERAS_BACKEND": "jax"}
W, S, I, LR = ("model weights", "optimizer slots[optimizer]", "optimizer iterations[optimizer]",  # noqa: E741
               "learning rate[optimizer]")


def test_matrix_on_jax_runs_orbax_and_says_why_tf_methods_do_not_apply():
    proc = run_verify_cli("tests.harness.setups.fit:make_fit_functional", "--steps", "2", "--method", "all",
                          "--format", "json", env=JAX)
    data = json.loads(proc.stdout)
    assert data["cells"]["orbax"] == {W: "restored", S: "restored", I: "restored", LR: "restored", "rng": "n/a"}
    assert {m: data["resume"][m] for m in ("keras", "backup_and_restore", "orbax", "weights")} == {
        "keras": "identical", "backup_and_restore": "identical", "orbax": "identical", "weights": "diverged"}
    assert (data["cells"]["weights"][S], data["cells"]["weights"][I]) == ("lost", "lost")  # unbuilt optimizer
    assert set(data["unavailable"]) == {"checkpoint", "manager", "savedmodel"}
    assert all(reason.startswith("not applicable on the jax backend: tf.train.Checkpoint")
               for reason in data["unavailable"].values())
    assert data["resume"]["checkpoint"] == "n/a"
    # without tf.train.Checkpoint the default method is the .keras file
    assert (data["default"], data["verdict"], proc.returncode) == ("keras", "pass", 0)


def test_orbax_load_model_of_a_sequential_model_loses_its_weights_on_jax():
    proc = run_verify_cli("tests.harness.setups.fit:make_fit", "--steps", "2", "--method", "orbax",
                          "--format", "json", env=JAX)
    report = json.loads(proc.stdout)
    status = {c["name"]: c["status"] for c in report["components"]}
    assert (report["method"], report["verdict"], proc.returncode) == ("orbax", "fail", 1)
    assert status[W] == "lost" and status[I] == "restored"
