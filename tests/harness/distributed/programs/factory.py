"""Factories for `ckptlint verify factory.py:make_setup --workers 2`: a custom loop under the
MultiWorkerMirroredStrategy ckptlint hands in, whose model, optimizer and step counter live in one
tf.train.Checkpoint made inside `strategy.scope()`. ckptlint's driver calls `save` on every worker (the chief
with the real directory, the others with a scratch one) and `restore` with the chief's directory.

  make_setup                       correct: passes
  make_setup_without_optimizer     the optimizer is left out of the checkpoint: fails naming it

`batch(i)` is the global batch; each worker trains on its own shard of it (its task id from the strategy).
"""

import keras
import numpy as np
import tensorflow as tf

from ckptlint.harness import Setup

GLOBAL_BATCH = 16


def make_setup(strategy, with_optimizer=True):
    workers, index = strategy.num_replicas_in_sync, strategy.cluster_resolver.task_id
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
        optimizer = keras.optimizers.Adam(0.01)
        optimizer.build(model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64)
        state = dict(model=model, optimizer=optimizer, step=step) if with_optimizer else dict(model=model, step=step)
        checkpoint = tf.train.Checkpoint(**state)

    @tf.function
    def distributed_step(xb, yb):
        def replica_step(xb, yb):
            with tf.GradientTape() as tape:
                per_example = tf.reduce_mean((model(xb) - yb) ** 2, axis=1)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=GLOBAL_BATCH)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        return strategy.run(replica_step, args=(xb, yb))

    def batch(i):
        rows = slice((i % 8) * GLOBAL_BATCH, (i % 8 + 1) * GLOBAL_BATCH)
        return x[rows], y[rows]

    def train_step(global_batch):
        xb, yb = global_batch
        loss = distributed_step(xb[index::workers], yb[index::workers])
        step.assign_add(1)
        return loss

    def save(directory):
        tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2).save()

    def restore(directory):
        checkpoint.restore(tf.train.latest_checkpoint(directory)).assert_existing_objects_matched()

    return Setup(model=model, optimizer=optimizer, state={"step": step}, train_step=train_step, batch=batch,
                 save=save, restore=restore)


def make_setup_without_optimizer(strategy):
    return make_setup(strategy, with_optimizer=False)
