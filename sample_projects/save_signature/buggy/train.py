"""Custom-loop training that writes a numbered tf.train.Checkpoint every 20 steps and resumes from the latest.

Run: python train.py --steps 200 --checkpoint-dir runs/exp1
"""

import argparse
import os

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/signature"


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
        self.step = tf.Variable(0, dtype=tf.int64)
        self.ckpt = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, step=self.step)

    def train_step(self, batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.model(x, training=True) - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        self.step.assign_add(1)
        return loss

    def save(self, directory):
        return self.ckpt.save(checkpoint_prefix=os.path.join(directory, "ckpt"))

    def restore(self, directory):
        path = tf.train.latest_checkpoint(directory)
        if path:
            self.ckpt.restore(path).assert_existing_objects_matched()


def make_setup():
    trainer = Trainer()
    return Setup(model=trainer.model, optimizer=trainer.optimizer, train_step=trainer.train_step,
                 batch=make_batch, state={"step": trainer.step}, save=trainer.save, restore=trainer.restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    trainer = Trainer()
    trainer.restore(args.checkpoint_dir)
    for _ in range(args.steps):
        loss = trainer.train_step(make_batch(int(trainer.step.numpy())))
        if int(trainer.step.numpy()) % 20 == 0:
            print(f"saved {trainer.save(args.checkpoint_dir)} loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
