"""Custom-loop training that snapshots the model every few steps and resumes from the snapshot.

Run: python train.py --steps 200 --checkpoint-dir runs/exp1
"""

import argparse
import os

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/snapshots"


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
        self.optimizer = tf.keras.optimizers.Adam(1e-2)

    def train_step(self, batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.model(x, training=True) - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss

    def save(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.model.save_weights(os.path.join(directory, "snapshot.weights.h5"))

    def restore(self, directory):
        path = os.path.join(directory, "snapshot.weights.h5")
        if os.path.exists(path):
            self.model.load_weights(path)


def make_setup():
    trainer = Trainer()
    return Setup(model=trainer.model, optimizer=trainer.optimizer, train_step=trainer.train_step,
                 batch=make_batch, save=trainer.save, restore=trainer.restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    trainer = Trainer()
    trainer.restore(args.checkpoint_dir)
    for step in range(args.steps):
        loss = trainer.train_step(make_batch(step))
        if step % 20 == 0:
            trainer.save(args.checkpoint_dir)
            print(f"step {step} loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
