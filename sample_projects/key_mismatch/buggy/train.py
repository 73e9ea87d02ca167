"""Custom-loop training that checkpoints with a CheckpointManager; resume.py continues a stopped run.

Run: python train.py --steps 200
"""

import argparse

import numpy as np
import tensorflow as tf

CHECKPOINT_DIR = "runs/key_mismatch"


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

    def train_step(self, batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.model(x, training=True) - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        self.step.assign_add(1)
        return loss

    def save(self, directory=CHECKPOINT_DIR):
        ckpt = tf.train.Checkpoint(net=self.model, optimizer=self.optimizer, step=self.step)
        manager = tf.train.CheckpointManager(ckpt, directory, max_to_keep=3)
        return manager.save(checkpoint_number=self.step)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    trainer = Trainer()
    for step in range(args.steps):
        loss = trainer.train_step(make_batch(step))
        if step % 20 == 0:
            trainer.save()
            print(f"step {step} loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
