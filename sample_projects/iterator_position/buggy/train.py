"""Regression model trained with a custom GradientTape loop that pulls its batches from a shuffled
tf.data pipeline; resumes from the latest checkpoint.

Run: python train.py --steps 200 --checkpoint-dir runs/exp1
"""

import argparse

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/checkpoints"


def build_model():
    return tf.keras.Sequential([
        tf.keras.Input((4,)),
        tf.keras.layers.Dense(8, activation="relu"),
        tf.keras.layers.Dense(1),
    ])


def make_dataset():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=0).batch(16).repeat()


class Trainer:
    def __init__(self):
        self.model = build_model()
        self.optimizer = tf.keras.optimizers.Adam(1e-2)
        self.iterator = iter(make_dataset())
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)

    def train_step(self):
        x, y = next(self.iterator)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.model(x, training=True) - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss

    def save(self, directory):
        manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=3)
        return manager.save()

    def restore(self, directory):
        path = tf.train.latest_checkpoint(directory)
        if path:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        return path


def make_setup():
    trainer = Trainer()
    return Setup(model=trainer.model, optimizer=trainer.optimizer, train_step=trainer.train_step,
                 batch=None, state={"iterator": trainer.iterator}, save=trainer.save, restore=trainer.restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    trainer = Trainer()
    trainer.restore(args.checkpoint_dir)
    for step in range(int(trainer.optimizer.iterations.numpy()), args.steps):
        loss = trainer.train_step()
        if step % 20 == 0:
            print(f"step {step} loss {float(loss):.4f} saved {trainer.save(args.checkpoint_dir)}")


if __name__ == "__main__":
    main()
