"""Programs that misbehave in the ways a fuzz campaign and a new user found: a factory that hangs, a hang
only after the restart, `os._exit` in user code, output that is not UTF-8, a flood of prints, `model=None`,
a TensorFlow error deep inside a `tf.function` train step."""

from __future__ import annotations

import os
import sys
import time

import keras
import tensorflow as tf

from ckptlint.harness import Setup

from tests.harness.setups.common import batch_fn, tiny_model

RESUMED_MARK = "CKPTLINT_TEST_RESUMED"


def _compiled(loud: bool = False) -> Setup:
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return Setup(model=model, batch=batch_fn())


def make_hangs() -> Setup:
    time.sleep(3600)
    raise AssertionError("never reached")


def make_hangs_after_restore() -> Setup:
    """Hangs in the first train step after the restore (the fresh process has restored by then)."""
    setup = _compiled()
    train_on_batch = setup.model.train_on_batch
    restored = {"done": False}

    def restore(directory):
        setup.model.load_weights(f"{directory}/w.weights.h5")
        restored["done"] = True

    def step(batch):
        if restored["done"]:
            time.sleep(3600)
        return train_on_batch(*batch)

    return Setup(model=setup.model, batch=setup.batch, train_step=step,
                 save=lambda d: setup.model.save_weights(f"{d}/w.weights.h5"), restore=restore)


def make_exits() -> Setup:
    """os._exit(3) in the train step: no Python exception, the process is simply gone."""
    setup = _compiled()

    def step(batch):
        os._exit(3)

    setup.train_step = step
    return setup


def make_noisy() -> Setup:
    """Prints bytes that are not UTF-8 on stdout and stderr, and many lines, at every step."""
    setup = _compiled()
    train_on_batch = setup.model.train_on_batch

    def step(batch):
        sys.stdout.buffer.write(b"\xff\xfe not utf-8 \x80\n" * 200)
        sys.stdout.flush()
        sys.stderr.buffer.write(b"\xc3\x28 warning\n")
        sys.stderr.flush()
        print("loss is", "{" * 50)
        return train_on_batch(*batch)

    setup.train_step = step
    return setup


def make_no_model() -> Setup:
    return Setup(model=None, train_step=lambda batch: 0.0, batch=batch_fn())


def make_graph_error() -> Setup:
    """An index out of range inside a tf.function: TF says only "Graph execution error" at first."""
    model = tiny_model()
    optimizer = keras.optimizers.Adam(0.01)

    @tf.function
    def train_step(batch):
        x, y = batch
        picked = tf.gather(x, tf.constant(99))  # batches hold 8 rows
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2) + tf.reduce_sum(picked) * 0.0
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return Setup(model=model, optimizer=optimizer, train_step=train_step, batch=batch_fn())


def make_forks() -> Setup:
    """Forks a process that outlives the step (a data worker, a logger): it inherits every open file of the
    training process, the supervisor's control pipe included, and would run for an hour."""
    setup = _compiled()
    train_on_batch = setup.model.train_on_batch
    forked = []

    def step(batch):
        if not forked:
            forked.append(os.fork())
            if forked[0] == 0:
                time.sleep(3600)
                os._exit(0)
        return train_on_batch(*batch)

    setup.train_step = step
    return setup


def make_closes_its_pipe_and_hangs() -> Setup:
    """Closes every pipe it writes to (the supervisor's control pipe among them), then hangs: nothing it
    does reaches the supervisor any more, not even the end of its phase."""
    import fcntl

    setup = _compiled()

    def step(batch):
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                writes = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
                if fd > 2 and writes and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                    os.close(fd)
            except OSError:
                continue
        time.sleep(3600)

    setup.train_step = step
    return setup
