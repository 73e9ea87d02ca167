"""`model.fit` with the program's own callbacks, after the Keras tutorials that resume through `fit`:

- the multi-worker Keras tutorial's fault tolerance section (tensorflow/docs
  site/en/tutorials/distribute/multi_worker_with_keras.ipynb): `BackupAndRestore(backup_dir)`, rerun the
  same `fit` after a failure;
- the "Save and load models" tutorial (site/en/tutorials/keras/save_and_load.ipynb): a `ModelCheckpoint`
  of weights every epoch, and on restart `load_weights` of the latest file before calling `fit` again.

4 epochs of 5 batches: 20 updates. Verified with `--steps 7` (interrupted at epoch 1, batch 2).
"""

from __future__ import annotations

import glob
import os

import keras
import numpy as np

from ckptlint.harness import Setup

EPOCHS, BATCH = 4, 8


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    return x, (x @ rng.normal(size=(4, 1))).astype("float32")


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def make_backup_and_restore(save_freq="epoch") -> Setup:
    """Correct: BackupAndRestore at epoch ends; a rerun resumes from the last finished epoch."""
    model, (x, y) = _model(), _data()
    return Setup(model=model, fit=lambda directory: dict(
        x=x, y=y, batch_size=BATCH, epochs=EPOCHS, shuffle=False,
        callbacks=[keras.callbacks.BackupAndRestore(os.path.join(directory, "backup"), save_freq=save_freq)]))


def make_backup_every_3_batches() -> Setup:
    """Buggy on Keras 3: save_freq=3 backs up mid-epoch, but a rerun starts the epoch again from batch 0."""
    return make_backup_and_restore(save_freq=3)


def make_checkpoint_weights_each_epoch() -> Setup:
    """Buggy: weights-only checkpoints, and `fit` is called again without initial_epoch (all epochs again);
    the optimizer is not in a .weights.h5 of an unbuilt optimizer either."""
    model, (x, y) = _model(), _data()

    def fit(directory):
        path = os.path.join(directory, "cp-{epoch:04d}.weights.h5")
        return dict(x=x, y=y, batch_size=BATCH, epochs=EPOCHS, shuffle=False,
                    callbacks=[keras.callbacks.ModelCheckpoint(path, save_weights_only=True)])

    def restore(directory):
        files = sorted(glob.glob(os.path.join(directory, "cp-*.weights.h5")))
        if files:
            model.load_weights(files[-1])

    return Setup(model=model, fit=fit, restore=restore)
