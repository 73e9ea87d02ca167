"""Inventories of .keras, .weights.h5 and legacy .h5 files, read with zipfile/json/h5py only."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from ckptlint.inspect import read_artifact
from ckptlint.inspect.verdicts import verdicts
from inspect_helpers import MLP_SHAPES, adam_slots, table, value

pytestmark = pytest.mark.tf

K3_MODEL = ["layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0", "layers/dense_1/vars/1"]
LEGACY_MODEL = ["sequential/dense/kernel", "sequential/dense/bias", "sequential/dense_1/kernel",
                "sequential/dense_1/bias"]


@pytest.mark.parametrize("name, fmt", [("keras", "keras"), ("weights", "weights-h5")])
def test_keras3_store(art, name, fmt):
    with read_artifact(art[name]) as inv:
        assert inv.format == fmt
        assert table(inv, "model") == [(p, "model", s, "float32", None, None) for p, s in zip(K3_MODEL, MLP_SHAPES)]
        assert table(inv, "iterations") == [("optimizer/iterations", "iterations", (), "int64", None, None)]
        assert table(inv, "optimizer") == [
            ("optimizer/learning_rate", "optimizer", (), "float32", None, None),
            *adam_slots("optimizer", K3_MODEL),
        ]
        assert value(inv, "optimizer/iterations") == 5
        assert value(inv, "optimizer/learning_rate") == pytest.approx(1e-3)
        [opt] = inv.optimizers
        assert (opt.name, opt.slot_kinds, opt.n_trainable) == ("adam", {"momentum": 4, "velocity": 4}, 4)
        assert inv.components_present() == {"model", "optimizer", "iterations"}


def test_keras_archive_reports_the_member_read(art):
    with read_artifact(art["keras"]) as inv:
        assert inv.read_path == f"{art['keras']} (model.weights.h5)"
        assert inv.declared_optimizer == "adam"
        assert inv.notes == ["saved by Keras 3.15.1"]


def test_legacy_h5_model(art):
    with read_artifact(art["legacy"]) as inv:
        assert inv.format == "legacy-h5"
        assert table(inv, "model") == [(p, "model", s, "float32", None, None) for p, s in zip(LEGACY_MODEL, MLP_SHAPES)]
        # Same positional names as .keras, slot kinds and owners from the legacy weight names.
        assert table(inv, "optimizer") == [
            ("optimizer/learning_rate", "optimizer", (), "float32", None, None),
            *adam_slots("optimizer", LEGACY_MODEL),
        ]
        assert value(inv, "optimizer/iterations") == 5
        assert inv.declared_optimizer == "adam"


def test_sgd_with_schedule_and_batchnorm_in_keras_and_legacy(art):
    trainable_k3 = ["layers/dense/vars/0", "layers/dense/vars/1", "layers/batch_normalization/vars/0",
                    "layers/batch_normalization/vars/1", "layers/dense_1/vars/0", "layers/dense_1/vars/1"]
    with read_artifact(art["sgd_keras"]) as inv:
        # config.json gives model order (dense, batch_normalization, dense_1), not h5py's alphabetical one
        assert [v.path for v in inv.by_component("model")] == [
            "layers/dense/vars/0", "layers/dense/vars/1", *(f"layers/batch_normalization/vars/{i}" for i in range(4)),
            "layers/dense_1/vars/0", "layers/dense_1/vars/1"]
        assert [(v.path, v.slot_kind, v.slot_for) for v in inv.by_component("optimizer")] == [
            (f"optimizer/vars/{i + 1}", "momentum", owner) for i, owner in enumerate(trainable_k3)]
        assert value(inv, "optimizer/iterations") == 5
    with read_artifact(art["sgd_legacy"]) as inv:
        assert [(v.path, v.slot_kind) for v in inv.by_component("optimizer")] == [
            (f"optimizer/vars/{i + 1}", "momentum") for i in range(6)]
        # the model name (sequential_N) comes from a process-wide counter
        assert inv.by_path()["optimizer/vars/3"].slot_for.endswith("/batch_normalization/gamma")


@pytest.mark.parametrize("name", ["plain_keras", "plain_weights"])
def test_uncompiled_model_has_no_optimizer(art, name):
    with read_artifact(art[name]) as inv:
        assert table(inv) == [(p, "model", s, "float32", None, None) for p, s in zip(K3_MODEL, MLP_SHAPES)]
        assert inv.components_present() == {"model"}
        [verdict] = verdicts(inv)
        assert verdict.level == "missing"
        assert verdict.message.startswith("optimizer state: MISSING — resuming from this resets")


def test_present_verdict_reads_like_the_issue(art):
    with read_artifact(art["keras"]) as inv:
        assert [v.to_dict() for v in verdicts(inv)] == [{
            "level": "ok",
            "message": "optimizer state: present (adam, 2 slots (momentum, velocity) × 4 variables, iterations=5)",
        }]


def test_iterations_zero_beside_nonzero_slots(art):
    with read_artifact(art["reset"]) as inv:
        assert value(inv, "optimizer/iterations") == 0
        assert [v.to_dict() for v in verdicts(inv)] == [
            {"level": "ok", "message": "optimizer state: present (adam, 2 slots (momentum, velocity) × 4 variables, "
                                       "iterations=0)"},
            {"level": "warning", "message": "optimizer state: iterations=0 beside non-zero slots: the step count was "
                                            "reset while the moments were kept (schedule and bias correction "
                                            "restart)"},
        ]


def test_slots_without_a_matching_model_variable(art, tmp_path):
    h5py = pytest.importorskip("h5py")
    damaged = tmp_path / "lost_layer.weights.h5"
    shutil.copy(art["weights"], damaged)
    with h5py.File(damaged, "r+") as fh:
        del fh["layers/dense_1"]
    with read_artifact(damaged) as inv:
        orphans = [(v.path, v.shape) for v in inv.variables if v.is_slot and v.slot_for is None]
        assert orphans == [("optimizer/vars/6", (4, 1)), ("optimizer/vars/7", (4, 1)),
                           ("optimizer/vars/8", (1,)), ("optimizer/vars/9", (1,))]
        warning = [v for v in verdicts(inv) if v.level == "warning"]
        assert [w.message for w in warning] == [
            "4 slot variable(s) with no matching model variable: optimizer/vars/6 [4, 1], optimizer/vars/7 [4, 1], "
            "optimizer/vars/8 [1], optimizer/vars/9 [1]"]


def test_keras_files_are_read_without_tensorflow(art):
    """zipfile + json + h5py only: the TF reader module is never imported for these formats."""
    import subprocess

    code = (
        "import sys; from ckptlint.inspect import read_artifact\n"
        f"inv = read_artifact({str(art['keras'])!r}); inv.close()\n"
        f"inv = read_artifact({str(art['legacy'])!r}); inv.close()\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_compiled_but_never_trained_optimizer_has_no_slots(art):
    with read_artifact(art["unbuilt_keras"]) as inv:
        assert [v.path for v in inv.variables if v.optimizer] == ["optimizer/iterations", "optimizer/learning_rate"]
        found = [v.to_dict() for v in verdicts(inv)]
        # the stored name is adam or adam_N (Keras numbers optimizers created in the same process)
        assert re.fullmatch(r"optimizer state: present \(adam(_\d+)?, no slots, iterations=0\)", found[0]["message"])
        assert found[1:] == [
            {"level": "warning", "message": "optimizer state: adam keeps per-variable slots but none are stored "
                                            "(the optimizer was never built): resuming from this resets its moments"},
        ]
