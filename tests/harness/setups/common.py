"""Shared pieces of the test setups: a tiny model and a fixed synthetic dataset."""

from __future__ import annotations

import numpy as np


def tiny_model(inputs: int = 4, batchnorm: bool = False):
    import keras

    layers = [keras.Input((inputs,)), keras.layers.Dense(8, activation="relu")]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers)


def data(n: int = 64, inputs: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, inputs)).astype("float32")
    y = (x @ rng.normal(size=(inputs, 1)) + 0.1).astype("float32")
    return x, y


def batch_fn(batch_size: int = 8):
    x, y = data()

    def batch(step: int):
        i = (step * batch_size) % len(x)
        return x[i:i + batch_size], y[i:i + batch_size]

    return batch
