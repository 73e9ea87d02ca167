"""Keras training that writes a numbered `.weights.h5` snapshot after every epoch and, when started
again, resumes from the latest one in the checkpoint directory.

Run: python train.py --epochs 20 --checkpoint-dir runs/exp1
"""

import argparse
import glob
import os

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/weights"


def build_model():
    model = tf.keras.Sequential([
        tf.keras.Input((4,)),
        tf.keras.layers.Dense(8, activation="relu"),
        tf.keras.layers.Dense(1),
    ])
    schedule = tf.keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=2, decay_rate=0.5)
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule), loss="mse")
    return model


def make_batch(step):
    rng = np.random.default_rng(step)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


class Trainer:
    def __init__(self):
        self.model = build_model()

    def save(self, directory):
        os.makedirs(directory, exist_ok=True)
        step = int(self.model.optimizer.iterations.numpy())
        self.model.save_weights(os.path.join(directory, f"ckpt-{step:06d}.weights.h5"))

    def restore(self, directory):
        # Keras writes no TF `checkpoint` state file: find the newest weights file itself.
        files = sorted(glob.glob(os.path.join(directory, "ckpt-*.weights.h5")))
        latest = files[-1] if files else None
        if latest:
            self.model.optimizer.build(self.model.trainable_variables)
            self.model.load_weights(latest)
        return latest

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
    trainer.restore(args.checkpoint_dir)
    for epoch in range(int(trainer.model.optimizer.iterations.numpy()), args.epochs):
        trainer.train_epoch(epoch)
        trainer.save(args.checkpoint_dir)


if __name__ == "__main__":
    main()
