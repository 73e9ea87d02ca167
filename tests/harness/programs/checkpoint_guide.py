"""The TensorFlow "Training checkpoints" guide (tensorflow/docs site/en/guide/checkpoint.ipynb): a
subclassed `Net` with one Dense(5) layer, a toy dataset iterator, a step variable, a CheckpointManager.
The guide restores into a new, unbuilt `Net` before its first call (deferred restoration).

On Keras 3.15 that restore is broken: the layer ends up with two kernels, and the one the model uses is
freshly initialised. The harness must say "re-initialised" (not "missing", not a pass).
`make_setup_built` calls the model once before restoring, and resumes exactly.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ckptlint.harness import Setup


class Net(keras.Model):
    """A simple linear model."""

    def __init__(self):
        super().__init__()
        self.l1 = keras.layers.Dense(5)

    def call(self, x):
        return self.l1(x)


def toy_dataset():
    inputs = tf.range(10.0)[:, None]
    labels = inputs * 5.0 + tf.range(5.0)[None, :]
    return tf.data.Dataset.from_tensor_slices(dict(x=inputs, y=labels)).repeat().batch(2)


def train_step(net, example, optimizer):
    with tf.GradientTape() as tape:
        output = net(example["x"])
        loss = tf.reduce_mean(tf.abs(output - example["y"]))
    variables = net.trainable_variables
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


def make_setup(build_first: bool = False) -> Setup:
    opt = keras.optimizers.Adam(0.1)
    net = Net()
    iterator = iter(toy_dataset())
    ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=opt, net=net, iterator=iterator)

    def save(directory):
        tf.train.CheckpointManager(ckpt, directory, max_to_keep=3).save()

    def restore(directory):
        if build_first:
            net(tf.zeros((1, 1)))
        ckpt.restore(tf.train.CheckpointManager(ckpt, directory, max_to_keep=3).latest_checkpoint)

    def step():
        loss = train_step(net, next(iterator), opt)
        ckpt.step.assign_add(1)
        return loss

    return Setup(model=net, optimizer=opt, train_step=step, state={"step": ckpt.step, "iterator": iterator},
                 save=save, restore=restore)


def make_setup_built() -> Setup:
    return make_setup(build_first=True)
