"""A training script as users write them: run by path, importing a sibling module (`net.py`)."""

import tensorflow as tf
import keras

from ckptlint.harness import Setup
from net import build

X = tf.random.stateless_normal((32, 4), seed=(1, 2))
Y = tf.reduce_sum(X, axis=1, keepdims=True)


def make_setup() -> Setup:
    model, optimizer = build(), keras.optimizers.Adam(0.01)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)

    def train_step(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def save(directory):
        tf.train.CheckpointManager(ckpt, directory, max_to_keep=2).save()

    def restore(directory):
        ckpt.restore(tf.train.CheckpointManager(ckpt, directory, max_to_keep=2).latest_checkpoint)

    return Setup(model=model, optimizer=optimizer, train_step=train_step,
                 batch=lambda step: (X[step % 4 * 8:(step % 4 + 1) * 8], Y[step % 4 * 8:(step % 4 + 1) * 8]),
                 save=save, restore=restore)
