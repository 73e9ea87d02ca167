"""A custom loop written for tf.distribute: the factory takes `strategy` and builds under its scope."""

from __future__ import annotations

import keras
import tensorflow as tf

from ckptlint.harness import Setup

from tests.harness.setups.common import batch_fn, tiny_model

GLOBAL_BATCH = 8


def make_setup(strategy) -> Setup:
    with strategy.scope():
        model, optimizer = tiny_model(), keras.optimizers.Adam(0.01)
        optimizer.build(model.trainable_variables)
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    loss_fn = keras.losses.MeanSquaredError(reduction="sum")

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True)) / GLOBAL_BATCH
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def distributed_step(x, y):
        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    batches = batch_fn(GLOBAL_BATCH)

    def train_step(batch):
        x, y = batch
        dataset = tf.data.Dataset.from_tensors((x, y))
        xd, yd = next(iter(strategy.experimental_distribute_dataset(dataset)))
        return distributed_step(xd, yd)

    return Setup(
        model=model, optimizer=optimizer, train_step=train_step, batch=batches,
        save=lambda d: ckpt.save(f"{d}/ckpt"), restore=lambda d: ckpt.restore(tf.train.latest_checkpoint(d)),
    )
