"""Custom-loop training that pickles the model and optimizer state and resumes from the pickle.

Run: python train.py --steps 200 --checkpoint-dir runs/exp1
"""

import argparse
import os
import pickle

import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

CHECKPOINT_DIR = "runs/pickled"
STATE_FILE = "state.pkl"


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
        state = {
            "model": self.model.get_weights(),
            "optimizer": [variable.numpy() for variable in self.optimizer.variables],
        }
        with open(os.path.join(directory, STATE_FILE), "wb") as handle:
            pickle.dump(state, handle)

    def restore(self, directory):
        with open(os.path.join(directory, STATE_FILE), "rb") as handle:
            state = pickle.load(handle)
        self.model.set_weights(state["model"])
        self.optimizer.build(self.model.trainable_variables)
        self.optimizer.set_weights(state["optimizer"])


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
    if os.path.exists(os.path.join(args.checkpoint_dir, STATE_FILE)):
        trainer.restore(args.checkpoint_dir)
    for step in range(args.steps):
        loss = trainer.train_step(make_batch(step))
        if step % 20 == 0:
            trainer.save(args.checkpoint_dir)
            print(f"step {step} loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
