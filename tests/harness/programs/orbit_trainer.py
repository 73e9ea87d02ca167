"""A trainer in the shape of Orbit's `StandardTrainer` (tensorflow/models orbit/standard_runner.py, as used
by tf-models-official), on tf_keras (Keras 2): the trainer is a `tf.Module` holding the model, a tf_keras
optimizer, a loss metric and its training iterator, which it creates on the first `train()` call; the
loop runs in a `tf.function`. The checkpoint is what an Orbit `Controller` is usually given:
`tf.train.Checkpoint(model=, optimizer=)`, without the iterator.

- `make_setup` (tf_keras Adam): weights and slots resume exactly; the iterator starts again from the
  first batch. The harness must blame the data position, not the optimizer (tf_keras optimizers have
  no `built` attribute).
- `make_setup_with_iterator` (tf_keras legacy Adam, slots built by `_create_all_weights`): the iterator
  is created up front and checkpointed: an exact resume.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras

from ckptlint.harness import Setup


class Trainer(tf.Module):
    def __init__(self, model, optimizer, train_dataset, eager_iterator: bool = False):
        super().__init__()
        self.model, self.optimizer, self.train_dataset = model, optimizer, train_dataset
        self.train_loss = tf_keras.metrics.Mean("train_loss")
        self._train_iter = iter(train_dataset) if eager_iterator else None

    def train_step(self, iterator):
        x, y = next(iterator)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.model(x, training=True) - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        self.train_loss.update_state(loss)

    @tf.function
    def _train_loop(self, iterator, num_steps):
        for _ in tf.range(num_steps):
            self.train_step(iterator)

    def train(self, num_steps):
        if self._train_iter is None:
            self._train_iter = iter(self.train_dataset)
        self.train_loss.reset_state()
        self._train_loop(self._train_iter, tf.constant(num_steps))
        return self.train_loss.result()


def _dataset():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()


def make_setup(legacy: bool = False, with_iterator: bool = False) -> Setup:
    model = tf_keras.Sequential([tf_keras.layers.Dense(8, activation="relu", input_shape=(4,)),
                                 tf_keras.layers.Dense(1)])
    optimizer = (tf_keras.optimizers.legacy.Adam(0.01) if legacy else tf_keras.optimizers.Adam(0.01))
    trainer = Trainer(model, optimizer, _dataset(), eager_iterator=with_iterator)
    objects = {"model": model, "optimizer": optimizer}
    if with_iterator:
        objects["iterator"] = trainer._train_iter
    checkpoint = tf.train.Checkpoint(**objects)
    return Setup(model=model, optimizer=optimizer, train_step=lambda: trainer.train(1),
                 save=lambda directory: tf.train.CheckpointManager(checkpoint, directory, 3).save(),
                 restore=lambda directory: checkpoint.restore(
                     tf.train.CheckpointManager(checkpoint, directory, 3).latest_checkpoint))


def make_setup_with_iterator() -> Setup:
    return make_setup(legacy=True, with_iterator=True)
