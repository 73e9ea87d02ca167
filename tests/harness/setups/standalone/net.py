"""The model, in its own module (the training script imports it as a sibling)."""

import keras


def build():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
