"""Compiled, fit-style setups: Keras trains the model itself (train_on_batch) with its compiled optimizer."""

from __future__ import annotations

import keras

from ckptlint.harness import Setup

from tests.harness.setups.common import batch_fn, tiny_model


def _compiled():
    model = tiny_model()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    return model


def make_fit() -> Setup:
    """No save/restore of its own: the built-in methods (and the matrix) are measured on it."""
    return Setup(model=_compiled(), batch=batch_fn())


def make_fit_functional() -> Setup:
    """make_fit with a functional model: what Keras 3.15 restores from an Orbax directory in full."""
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    return Setup(model=model, batch=batch_fn())


def make_fit_keras_file() -> Setup:
    """The project's own code: model.save(.keras) and load_model, returning the loaded model's Setup."""
    model = _compiled()
    batch = batch_fn()

    def restore(directory: str) -> Setup:
        loaded = keras.saving.load_model(f"{directory}/model.keras")
        return Setup(model=loaded, batch=batch)

    return Setup(model=model, batch=batch, save=lambda d: model.save(f"{d}/model.keras"), restore=restore)
