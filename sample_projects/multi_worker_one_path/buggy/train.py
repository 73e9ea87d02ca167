"""Custom training loop under MultiWorkerMirroredStrategy. Every worker runs this same script with its
own TF_CONFIG; checkpoints go to --checkpoint-dir after every step, and a restarted job resumes from the
latest one.

Run (one command per worker): TF_CONFIG='{"cluster": ..., "task": ...}' python train.py --steps 200
"""

import argparse
import os

import keras
import numpy as np
import tensorflow as tf

CHECKPOINT_DIR = "runs/multi_worker"
WIDTH = 512  # wide enough that writing a checkpoint takes a few milliseconds


def make_batch(step):
    rng = np.random.default_rng(step)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def checkpoint_directory(checkpoint_dir, strategy):
    """Where this worker writes its checkpoints."""
    return checkpoint_dir


def train(checkpoint_dir, steps, strategy=None):
    """Train (or resume) for `steps` optimizer steps in total; returns the model and the optimizer."""
    strategy = strategy or tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(WIDTH, activation="relu"),
            keras.layers.Dense(WIDTH, activation="relu"),
            keras.layers.Dense(1),
        ])
        optimizer = keras.optimizers.Adam(1e-3)
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_directory(checkpoint_dir, strategy), max_to_keep=3)
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()

    @tf.function
    def train_step(x, y):
        def step_fn(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss
        return strategy.run(step_fn, args=(x, y))

    for step in range(int(optimizer.iterations.numpy()), steps):
        train_step(*make_batch(step))
        manager.save()
    return model, optimizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--checkpoint-dir", default=CHECKPOINT_DIR)
    args = parser.parse_args()
    train(args.checkpoint_dir, args.steps)


if __name__ == "__main__":
    main()
