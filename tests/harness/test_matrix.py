"""`--method all`, cell by cell, against what TF 2.21 + Keras 3.15 keep (docs/framework.md, whose section
each method's row names). One measured nuance: a legacy .h5 gives an error for the optimizer only for a
COMPILED model (load_model cannot deserialize the compiled
loss, so users fall back to compile=False). An uncompiled model has nothing to deserialize, load_model
succeeds, and the optimizer (never attached to the model) is simply not restored: "lost".
"""

from __future__ import annotations

import json

from ckptlint.harness import verify
from tests.harness.conftest import run_verify_cli

# The matrix columns, one letter each.
W, S, I, LR, RNG = ("model weights", "optimizer slots[optimizer]", "optimizer iterations[optimizer]",  # noqa: E741
                    "learning rate[optimizer]", "rng")
STATE = ("state[step]", "state[generator]", "state[iterator]", "data position")


def row(weights: str, optimizer: str, state: str = "n/a") -> dict[str, str]:
    # no step draws random numbers here: rng is "restored" (unchanged) where the format could hold it
    cells = {W: weights, S: optimizer, I: optimizer, LR: optimizer, RNG: "restored" if state != "n/a" else "n/a"}
    return cells | {name: state for name in STATE}


# Compiled, fit-style (Adam on an ExponentialDecay schedule, Keras trains it): the compiled-model outcomes of docs/framework.md apply.
_ALL = {W: "restored", S: "restored", I: "restored", LR: "restored"}
EXPECTED_FIT = {
    "checkpoint": (_ALL | {RNG: "restored"}, "identical"),                                          # docs/framework.md#checkpoint-everything
    "manager": (_ALL | {RNG: "restored"}, "identical"),                                             # docs/framework.md#checkpointmanager
    "keras": (_ALL | {RNG: "n/a"}, "identical"),                                                    # docs/framework.md#the-keras-file, C
    "h5": ({W: "restored", S: "error", I: "error", LR: "error", RNG: "n/a"}, "diverged"),           # docs/framework.md#legacy-h5-files
    "weights": ({W: "restored", S: "lost", I: "lost", LR: "lost", RNG: "n/a"}, "diverged"),         # docs/framework.md#weights-files (unbuilt)
    "savedmodel": (_ALL | {RNG: "n/a"}, "identical"),                                               # docs/framework.md#savedmodel-and-export, C
    "backup_and_restore": (_ALL | {RNG: "n/a"}, "identical"),                                       # docs/framework.md#backupandrestore
    # load_model of the Orbax directory rebuilds this Sequential model without the `sequential/` prefix its
    # state tree names: weights and slots are not assigned, `iterations` and the learning rate are
    "orbax": ({W: "lost", S: "differs", I: "restored", LR: "restored", RNG: "n/a"}, "diverged"),      # docs/framework.md#orbaxcheckpoint
}

# Uncompiled GradientTape loop with a step Variable, a Generator and a tf.data iterator (batch=None).
EXPECTED_TAPE = {
    "checkpoint": (row("restored", "restored", "restored"), "identical"),  # docs/framework.md#checkpoint-everything
    "manager": (row("restored", "restored", "restored"), "identical"),     # docs/framework.md#checkpointmanager
    "keras": (row("restored", "lost"), "diverged"),                        # docs/framework.md#the-keras-file, not C: N; state n/a
    "h5": (row("restored", "lost"), "diverged"),                           # docs/framework.md#legacy-h5-files (see module docstring)
    "weights": (row("restored", "lost"), "diverged"),                      # docs/framework.md#weights-files
    "savedmodel": (row("restored", "lost"), "diverged"),                   # docs/framework.md#savedmodel-and-export, not C
    "backup_and_restore": (row("n/a", "n/a", "n/a"), "n/a"),               # fit-style only
    "orbax": (row("n/a", "n/a", "n/a"), "n/a"),                            # fit-style only (a fit callback)
}


def _check(matrix, expected):
    assert matrix.methods == list(expected)
    for method, (cells, resume) in expected.items():
        for component, cell in cells.items():
            assert matrix.cell(method, component) == cell, (method, component, matrix.to_text())
        assert matrix.resume(method) == resume, (method, matrix.to_text())


def test_matrix_compiled_fit_style(workdir):
    matrix = verify("tests.harness.setups.fit:make_fit", steps=2, method="all", workdir=workdir)
    _check(matrix, EXPECTED_FIT)
    assert set(matrix.component_names()) == {W, S, I, LR, RNG}
    assert matrix.default == "checkpoint" and matrix.verdict == "pass" and matrix.exit_code == 0
    h5 = matrix.reports["h5"].component(S)
    assert "load_model raised" in h5.note and "compile=False" in h5.note
    text = matrix.to_text()
    assert text.splitlines()[0].startswith("PASS (default method checkpoint)")
    assert "backup_and_restore" in text


def test_matrix_uncompiled_tape_via_cli_json():
    proc = run_verify_cli("tests.harness.setups.tape:make_stateful_builtin", "--steps", "2", "--method", "all",
                          "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert data["schema"] == "ckptlint.verify-matrix/2"
    assert list(data["cells"]) == list(EXPECTED_TAPE)
    for method, (cells, resume) in EXPECTED_TAPE.items():
        assert data["cells"][method] == cells, method
        assert data["resume"][method] == resume, method
    assert data["unavailable"] == {"backup_and_restore": "only for compiled fit-style setups",
                                   "orbax": "only for compiled fit-style setups"}
    # state entries are n/a for model-file formats because the format cannot hold them, and say so
    keras_report = data["reports"]["keras"]
    step = next(c for c in keras_report["components"] if c["name"] == "state[step]")
    assert step["status"] == "lost" and step["holdable"] is False and "cannot hold" in step["note"]


def test_user_keras_file_restore_returning_a_new_setup(workdir):
    """The project's load_model-based restore returns a new Setup; compiled .keras keeps everything."""
    report = verify("tests.harness.setups.fit:make_fit_keras_file", steps=2, workdir=workdir)
    assert report.verdict == "pass", report.to_text()
