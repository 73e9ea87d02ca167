"""A compiled Keras classifier with Dropout, after the keras-io "Simple MNIST convnet" example
(keras-io examples/vision/mnist_convnet.py: Conv2D, MaxPooling2D, Flatten, Dropout(0.5), Dense softmax,
`compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])`), shrunk to 8x8
inputs. Without a save/restore of its own, `--method all` measures every built-in format on it: those
that keep the optimizer resume exactly except for the Dropout seed generator's state, which none of them
holds ("rng only"); the weights-only format also loses the optimizer ("diverged").
"""

from __future__ import annotations

import keras
import numpy as np

from ckptlint.harness import Setup


def make_setup() -> Setup:
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 8, 8, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, size=32), 3)
    return Setup(model=model, batch=lambda step: (x[step % 4 * 8:][:8], y[step % 4 * 8:][:8]))
