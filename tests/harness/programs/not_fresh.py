"""Factories whose setups are not fresh, as programs written as scripts often are:

- `make_setup_module_level`: the model and optimizer are created when the module is imported (the
  usual shape of a tutorial turned into a script) and the factory only wraps them;
- `make_setup_auto_restore`: the script restores the latest checkpoint it finds in its own working
  directory every time it builds its objects (`restore_or_initialize`), and its save writes there too,
  whatever directory it is given.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from ckptlint.harness import Setup

from tests.harness.setups.common import batch_fn, tiny_model

MODEL = tiny_model()
OPTIMIZER = keras.optimizers.Adam(0.01)
MODEL.compile(optimizer=OPTIMIZER, loss="mse")


def make_setup_module_level() -> Setup:
    return Setup(model=MODEL, batch=batch_fn())


def make_setup_auto_restore() -> Setup:
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(os.getcwd(), "training_checkpoints"), 3)
    manager.restore_or_initialize()
    return Setup(model=model, batch=batch_fn(), save=lambda directory: manager.save(),
                 restore=lambda directory: manager.restore_or_initialize())
