"""Keras training that keeps a `.weights.h5` snapshot and resumes from it after a restart.

Run: python train.py --epochs 20 --checkpoint-dir runs/exp1
"""

import argparse
import os

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/weights"
WEIGHTS_FILE = "last.weights.h5"


def build_model():
    return tf.keras.Sequential([
        tf.keras.Input((4,)),
        tf.keras.layers.Dense(8, activation="relu"),
        tf.keras.layers.Dense(1),
    ])


def make_batch(step):
    rng = np.random.default_rng(step)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


class Trainer:
    def __init__(self):
        self.model = build_model()
        self.model.compile(optimizer=tf.keras.optimizers.Adam(1e-2), loss="mse")

    def save(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.model.save_weights(os.path.join(directory, WEIGHTS_FILE))

    def restore(self, directory):
        self.model.load_weights(os.path.join(directory, WEIGHTS_FILE))

    def train_epoch(self, epoch):
        x, y = make_batch(epoch)
        return self.model.fit(x, y, epochs=1, verbose=0)


def make_setup():
    trainer = Trainer()
    return Setup(model=trainer.model, batch=make_batch, save=trainer.save, restore=trainer.restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    trainer = Trainer()
    if os.path.exists(os.path.join(args.checkpoint_dir, WEIGHTS_FILE)):
        trainer.restore(args.checkpoint_dir)
    for epoch in range(args.epochs):
        trainer.train_epoch(epoch)
        trainer.save(args.checkpoint_dir)


if __name__ == "__main__":
    main()
