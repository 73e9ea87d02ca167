"""Keras `fit` training that saves the whole model every epoch and resumes from it after a restart.

Run: python train.py --epochs 20 --checkpoint-dir runs/exp1
"""

import argparse
import os

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/recompile"
MODEL_FILE = "model.keras"


def build_model():
    model = tf.keras.Sequential([
        tf.keras.Input((4,)),
        tf.keras.layers.Dense(8, activation="relu"),
        tf.keras.layers.Dense(1),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-2), loss="mse")
    return model


def make_batch(step):
    rng = np.random.default_rng(step)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def save(model, directory):
    os.makedirs(directory, exist_ok=True)
    model.save(os.path.join(directory, MODEL_FILE))


def restore(directory):
    model = tf.keras.models.load_model(os.path.join(directory, MODEL_FILE))
    # Compile the loaded model before training it again.
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-2), loss="mse")
    return make_setup(model)


def make_setup(model=None):
    model = model if model is not None else build_model()
    return Setup(model=model, batch=make_batch, save=lambda directory: save(model, directory), restore=restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    if os.path.exists(os.path.join(args.checkpoint_dir, MODEL_FILE)):
        model = restore(args.checkpoint_dir).model
    else:
        model = build_model()
    for epoch in range(args.epochs):
        x, y = make_batch(epoch)
        model.fit(x, y, epochs=1, verbose=0)
        save(model, args.checkpoint_dir)


if __name__ == "__main__":
    main()
