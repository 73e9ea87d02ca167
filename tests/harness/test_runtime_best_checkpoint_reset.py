"""The runtime half of CKPT106 (best-checkpoint-reset-on-resume), on real TensorFlow + Keras.

The sample project trains 12 epochs on a small noisy data set and keeps the model with the lowest
validation loss in `best.keras`; the validation loss bottoms out at epoch 7 and rises after it. The job
dies after epoch 9 and is started again with the same run directory, so BackupAndRestore resumes it at
epoch 10. The best file is measured (loaded and evaluated on the validation data) before and after.

- buggy twin: the restarted ModelCheckpoint starts from best = +inf, so epoch 10, worse than epoch 7,
  overwrites `best.keras`: the "best" model of the finished job is worse than the one it had before the
  interruption, and worse than the best of an uninterrupted run.
- fixed twin (`initial_value_threshold=` the saved best's validation loss): the later, worse epochs are
  not saved; `best.keras` ends up the same model as in an uninterrupted run.

EarlyStopping is measured directly on the same model and data (the last test): after a restart it
trains `patience` more epochs and `restore_best_weights` returns a post-restart, worse model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tf

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "sample_projects" / "best_checkpoint_reset"
STOP_AFTER_EPOCH = 8  # zero-based: the job dies after the 9th epoch, two epochs past the best one

_RUN = r"""
import importlib.util, json, os, sys
import keras
import tensorflow as tf

tf.config.experimental.enable_op_determinism()
spec = importlib.util.spec_from_file_location("twin", sys.argv[1])
twin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twin)
mode, run_dir, stop_after = sys.argv[2], sys.argv[3], int(sys.argv[4])


class Preempted(Exception):
    pass


class Preempt(keras.callbacks.Callback):
    # Runs after the twin's own callbacks: the epoch's backup and best-model save have happened.
    def on_epoch_end(self, epoch, logs=None):
        if epoch == stop_after:
            raise Preempted()


class History(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append([epoch, float(logs["val_loss"])])


def best_file_val_loss():
    x, y, x_val, y_val = twin.make_data()
    best = keras.models.load_model(os.path.join(run_dir, "best.keras"))
    return float(best.evaluate(x_val, y_val, verbose=0))


keras.utils.set_random_seed(0)
history = History()
extra = [history, Preempt()] if mode == "preempted" else [history]
try:
    twin.train(run_dir, callbacks=extra)
except Preempted:
    pass
print(json.dumps({"epochs": history.epochs, "best_val_loss": best_file_val_loss()}))
"""


def _run(twin: str, mode: str, run_dir: Path) -> dict:
    """One process per run, as after a real preemption (nothing survives in memory)."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _RUN, str(PROJECT / twin / "train.py"), mode, str(run_dir), str(STOP_AFTER_EPOCH)],
        check=False, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    return _run("buggy", "straight", tmp_path_factory.mktemp("straight"))


def _interrupted_then_resumed(twin: str, tmp_path: Path) -> tuple[dict, dict]:
    before = _run(twin, "preempted", tmp_path)
    assert [epoch for epoch, _ in before["epochs"]] == list(range(STOP_AFTER_EPOCH + 1))
    after = _run(twin, "resume", tmp_path)
    assert after["epochs"][0][0] == STOP_AFTER_EPOCH + 1, "BackupAndRestore did not resume after the last epoch"
    return before, after


def test_the_validation_loss_bottoms_out_before_the_interruption(uninterrupted):
    losses = [loss for _, loss in uninterrupted["epochs"]]
    best_epoch = losses.index(min(losses))
    assert best_epoch < STOP_AFTER_EPOCH
    assert min(losses[STOP_AFTER_EPOCH + 1:]) > min(losses)  # no later epoch beats it
    assert uninterrupted["best_val_loss"] == pytest.approx(min(losses), rel=1e-4)


def test_buggy_twin_overwrites_the_best_model_with_a_worse_one(uninterrupted, tmp_path):
    before, after = _interrupted_then_resumed("buggy", tmp_path)
    assert before["best_val_loss"] == pytest.approx(uninterrupted["best_val_loss"], rel=1e-6)
    # The first resumed epoch was "best" against +inf: the file now holds a worse model.
    assert after["best_val_loss"] > before["best_val_loss"] * 1.05
    assert after["best_val_loss"] == pytest.approx(min(loss for _, loss in after["epochs"]), rel=1e-4)


def test_fixed_twin_keeps_the_better_model(uninterrupted, tmp_path):
    before, after = _interrupted_then_resumed("fixed", tmp_path)
    assert after["best_val_loss"] == pytest.approx(before["best_val_loss"], rel=1e-6)
    assert after["best_val_loss"] == pytest.approx(uninterrupted["best_val_loss"], rel=1e-6)


# ---- EarlyStopping: the same restart, measured directly ------------------------------------------------
# The sample project's model and data, with EarlyStopping(patience=2) and BackupAndRestore. Uninterrupted,
# the validation loss is best at epoch 7 (zero-based 6) and training stops two epochs later. The job dies
# after zero-based epoch 7 (one epoch without improvement counted) and is restarted.
_EARLY = r"""
import importlib.util, json, os, sys
import keras
import tensorflow as tf

tf.config.experimental.enable_op_determinism()
spec = importlib.util.spec_from_file_location("twin", sys.argv[1])
twin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twin)
mode, run_dir, baseline = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])


class Preempted(Exception):
    pass


class Preempt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 7:
            raise Preempted()


class Epochs(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(epoch)


keras.utils.set_random_seed(0)
model = twin.build_model()
x, y, x_val, y_val = twin.make_data()
epochs = Epochs()
callbacks = [keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup")),
             keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True,
                                           baseline=baseline),
             epochs]
if mode == "preempted":
    callbacks.append(Preempt())
try:
    model.fit(x, y, validation_data=(x_val, y_val), epochs=30, batch_size=twin.BATCH_SIZE, shuffle=False,
              verbose=0, callbacks=callbacks)
except Preempted:
    pass
print(json.dumps({"epochs": epochs.seen, "val_loss": float(model.evaluate(x_val, y_val, verbose=0))}))
"""


def _early(mode: str, run_dir: Path, baseline: float | None = None) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _EARLY, str(PROJECT / "buggy" / "train.py"), mode, str(run_dir), json.dumps(baseline)],
        check=False, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_early_stopping_forgets_its_best_and_patience_after_a_restart(tmp_path):
    straight = _early("straight", tmp_path / "straight")
    assert straight["epochs"] == list(range(9))  # best at 6, patience 2: stops after 8
    _early("preempted", tmp_path / "resumed")
    resumed = _early("resume", tmp_path / "resumed")
    # The restart's first epoch is "best" (against nothing): patience starts again, two more epochs run,
    # and restore_best_weights can only go back to an epoch after the restart.
    assert resumed["epochs"] == [8, 9, 10]
    assert resumed["val_loss"] > straight["val_loss"] * 1.05
    # baseline= the saved best keeps the threshold, yet the weights it restores are still post-restart.
    _early("preempted", tmp_path / "baseline", baseline=straight["val_loss"])
    with_baseline = _early("resume", tmp_path / "baseline", baseline=straight["val_loss"])
    assert with_baseline["epochs"][-1] < resumed["epochs"][-1]
    assert with_baseline["val_loss"] > straight["val_loss"] * 1.05
