"""Uncompiled GradientTape setups (custom training loops), correct and buggy checkpointing."""

from __future__ import annotations

import tensorflow as tf
import keras

from ckptlint.harness import Setup

from tests.harness.setups.common import batch_fn, data, tiny_model


def _tape_step(model, optimizer, extra=None):
    loss_fn = keras.losses.MeanSquaredError()

    def train_step(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        if extra is not None:
            extra()
        return loss

    return train_step


def make_checkpoint_full() -> Setup:
    """Correct: tf.train.Checkpoint(model, optimizer), restored from latest_checkpoint."""
    model, optimizer = tiny_model(), keras.optimizers.Adam(0.01)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    return Setup(
        model=model, optimizer=optimizer, train_step=_tape_step(model, optimizer), batch=batch_fn(),
        save=lambda d: ckpt.save(f"{d}/ckpt"),
        restore=lambda d: ckpt.restore(tf.train.latest_checkpoint(d)),
    )


def make_checkpoint_model_only() -> Setup:
    """Buggy: only the model is checkpointed, so Adam's slots and iteration count start fresh."""
    model, optimizer = tiny_model(), keras.optimizers.Adam(0.01)
    ckpt = tf.train.Checkpoint(model=model)
    return Setup(
        model=model, optimizer=optimizer, train_step=_tape_step(model, optimizer), batch=batch_fn(),
        save=lambda d: ckpt.save(f"{d}/ckpt"),
        restore=lambda d: ckpt.restore(tf.train.latest_checkpoint(d)),
    )


def make_restore_raises() -> Setup:
    """Buggy: restores from a path that does not exist; TF raises."""
    model, optimizer = tiny_model(), keras.optimizers.Adam(0.01)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    return Setup(
        model=model, optimizer=optimizer, train_step=_tape_step(model, optimizer), batch=batch_fn(),
        save=lambda d: ckpt.save(f"{d}/ckpt"),
        restore=lambda d: ckpt.restore(f"{d}/no-such-checkpoint-7").assert_consumed(),
    )


def make_schedule(save_optimizer: bool = True) -> Setup:
    """SGD with momentum on an ExponentialDecay schedule: the LR follows the restored iteration count."""
    model = tiny_model()
    optimizer = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.05, 1, 0.7), momentum=0.9)
    objects = {"model": model, "optimizer": optimizer} if save_optimizer else {"model": model}
    ckpt = tf.train.Checkpoint(**objects)
    return Setup(
        model=model, optimizer=optimizer, train_step=_tape_step(model, optimizer), batch=batch_fn(),
        save=lambda d: ckpt.write(f"{d}/ckpt"),
        restore=lambda d: ckpt.read(f"{d}/ckpt"),
    )


def make_schedule_lost() -> Setup:
    return make_schedule(save_optimizer=False)


def make_stateful(save_extra: bool = True) -> Setup:
    """A step counter, a tf.random.Generator (input noise) and a tf.data iterator; batch=None.

    Adam on an ExponentialDecay schedule, so the next learning rate depends on the restored iterations.
    """
    model = tiny_model()
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 1, 0.9))
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    gen = tf.random.Generator.from_seed(7)
    x, y = data()
    iterator = iter(tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=3).repeat().batch(8))
    inner = _tape_step(model, optimizer, extra=lambda: step.assign_add(1))

    def train_step():
        xb, yb = next(iterator)
        return inner((xb + gen.normal(tf.shape(xb), stddev=0.1), yb))

    extra = {"step": step, "generator": gen, "iterator": iterator} if save_extra else {}
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, **extra)
    return Setup(
        model=model, optimizer=optimizer, train_step=train_step, batch=None,
        state={"step": step, "generator": gen, "iterator": iterator},
        save=lambda d: ckpt.save(f"{d}/ckpt"),
        restore=lambda d: ckpt.restore(tf.train.latest_checkpoint(d)),
    )


def make_stateful_model_and_optimizer_only() -> Setup:
    """Buggy: step counter, generator and iterator are not in the checkpoint."""
    return make_stateful(save_extra=False)


def make_stateful_builtin() -> Setup:
    """The stateful setup without its own save/restore: for the built-in methods and the matrix."""
    setup = make_stateful()
    setup.save = setup.restore = None
    return setup


def make_with_metric() -> Setup:
    """A running-mean metric of the loss in Setup.state, no save/restore of its own (built-in methods)."""
    model, optimizer = tiny_model(), keras.optimizers.Adam(0.01)
    mean_loss = keras.metrics.Mean()
    inner = _tape_step(model, optimizer)

    def train_step(batch):
        loss = inner(batch)
        mean_loss.update_state(loss)
        return loss

    return Setup(model=model, optimizer=optimizer, train_step=train_step, batch=batch_fn(),
                 state={"mean_loss": mean_loss})
