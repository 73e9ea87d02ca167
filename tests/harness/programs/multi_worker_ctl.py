"""The multi-worker custom training loop tutorial (tensorflow/docs
site/en/tutorials/distribute/multi_worker_with_ctl.ipynb), shrunk: the program creates its own
`tf.distribute.MultiWorkerMirroredStrategy` (one local worker here), builds model and optimizer in its
scope, and trains with `strategy.run` inside a `tf.function`. Its checkpoint holds the model, the
optimizer, and the epoch and step-in-epoch counters. The optimizer is built by the first
`apply_gradients` inside the replica function; nothing may be built outside the program's scope.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

GLOBAL_BATCH = 8


def make_setup() -> Setup:
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1)])
        optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
        epoch = tf.Variable(initial_value=tf.constant(0, dtype=tf.dtypes.int64), name="epoch")
        step_in_epoch = tf.Variable(initial_value=tf.constant(0, dtype=tf.dtypes.int64), name="step_in_epoch")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch, step_in_epoch=step_in_epoch)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")

    @tf.function
    def train_step(x, y):
        def step_fn(x, y):
            with tf.GradientTape() as tape:
                loss = tf.nn.compute_average_loss(tf.square(model(x, training=True) - y),
                                                  global_batch_size=GLOBAL_BATCH)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        per_replica_losses = strategy.run(step_fn, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_losses, axis=None)

    def step(batch):
        loss = train_step(*batch)
        step_in_epoch.assign_add(1)
        return loss

    return Setup(model=model, optimizer=optimizer, train_step=step,
                 batch=lambda i: (x[i % 8 * 8:][:8], y[i % 8 * 8:][:8]),
                 state={"epoch": epoch, "step_in_epoch": step_in_epoch},
                 save=lambda directory: checkpoint.save(f"{directory}/ckpt"),
                 restore=lambda directory: checkpoint.restore(tf.train.latest_checkpoint(directory)))
