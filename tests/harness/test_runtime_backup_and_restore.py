"""The runtime half of CKPT105 (backup-and-restore-mid-epoch), on real TensorFlow + Keras.

`ckptlint verify` interrupts training between the steps it drives itself, so it cannot interrupt a
`model.fit` mid-epoch; this test does, through the sample project's own `train()`:
4 epochs x 5 batches (20 optimizer steps), the job dies after batch 4 of epoch 1 (10 steps done), and is
started again with the same backup directory.

- buggy twin, `save_freq=3`: the last backup was taken after 9 steps (epoch 1, batch 3). Keras 3 reads
  back only the epoch and runs epoch 1 again from its first batch: 9 + 15 = 24 optimizer steps instead of
  20, and the weights differ from an uninterrupted run.
- fixed twin, `save_freq="epoch"`: the last backup is the end of epoch 0 (5 steps); the resumed run
  trains epochs 1-3 (15 steps): 20 steps and weights bitwise equal to the uninterrupted run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "sample_projects" / "backup_mid_epoch"

_RUN = r"""
import importlib.util, json, sys
import numpy as np
import keras
import tensorflow as tf

tf.config.experimental.enable_op_determinism()
spec = importlib.util.spec_from_file_location("twin", sys.argv[1])
twin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twin)
mode, backup_dir = sys.argv[2], sys.argv[3]


class Preempted(Exception):
    pass


class Preempt(keras.callbacks.Callback):
    # The job is killed after batch 4 of epoch 1: 10 optimizer steps done.
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == 4:
            raise Preempted()


keras.utils.set_random_seed(0)
if mode == "preempted":
    try:
        twin.train(backup_dir, callbacks=[Preempt()])
    except Preempted:
        print(json.dumps({"preempted": True}))
    sys.exit(0)
model = twin.train(backup_dir)
print(json.dumps({
    "iterations": int(model.optimizer.iterations.numpy()),
    "weights": [w.tolist() for w in model.get_weights()],
}))
"""


def _run(twin: str, mode: str, backup_dir: Path) -> dict:
    """One process per run, as after a real preemption (nothing survives in memory)."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _RUN, str(PROJECT / twin / "train.py"), mode, str(backup_dir)],
        check=False, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _resumed(twin: str, tmp_path: Path) -> dict:
    backup = tmp_path / f"{twin}-backup"
    assert _run(twin, "preempted", backup) == {"preempted": True}
    assert backup.exists(), "the preempted run left no backup"
    return _run(twin, "resume", backup)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    return _run("fixed", "straight", tmp_path_factory.mktemp("straight") / "backup")


def test_uninterrupted_run_trains_twenty_steps(uninterrupted):
    assert uninterrupted["iterations"] == 20


def test_buggy_twin_reruns_the_interrupted_epoch(uninterrupted, tmp_path):
    resumed = _resumed("buggy", tmp_path)
    assert resumed["iterations"] == 24  # 9 steps before the last backup + epochs 1-3 again (15)
    assert resumed["weights"] != uninterrupted["weights"]


def test_fixed_twin_resumes_exactly(uninterrupted, tmp_path):
    resumed = _resumed("fixed", tmp_path)
    assert resumed["iterations"] == 20
    assert resumed["weights"] == uninterrupted["weights"]  # bitwise: same floats, same order


def test_buggy_and_fixed_twins_differ_only_in_save_freq():
    buggy = (PROJECT / "buggy" / "train.py").read_text().splitlines()
    fixed = (PROJECT / "fixed" / "train.py").read_text().splitlines()
    changed = [(b, f) for b, f in zip(buggy, fixed) if b != f]
    assert len(buggy) == len(fixed) and len(changed) == 1
    assert "save_freq=3" in changed[0][0] and 'save_freq="epoch"' in changed[0][1]
