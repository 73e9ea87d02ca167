"""Regression model trained with a custom GradientTape loop. The checkpoint helpers were written at
different times: `save` still names the model `net`, `restore` calls it `model`.

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
        checkpoint = tf.train.Checkpoint(net=self.model, optimizer=self.optimizer)
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)
        return manager.save()

    def restore(self, directory):
        checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)
        path = tf.train.latest_checkpoint(directory)
        if path:
            checkpoint.restore(path).assert_existing_objects_matched()
        return path


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
    for step in range(int(trainer.optimizer.iterations.numpy()), args.steps):
        loss = trainer.train_step(make_batch(step))
        if step % 20 == 0:
            print(f"step {step} loss {float(loss):.4f} saved {trainer.save(args.checkpoint_dir)}")


if __name__ == "__main__":
    main()
