"""The manual-checkpointing program of the TensorFlow "Training checkpoints" guide, as a script.

Source: https://www.tensorflow.org/guide/checkpoint (tensorflow/docs site/en/guide/checkpoint.ipynb,
sections "Manual checkpointing" and "Restore and continue training"). Re-written here, not copied: the
same structure and the same API calls in the same order -- a subclassed `Net` (one Dense(5)) built by its
first call, the toy dataset, Adam(0.1), Checkpoint(step, optimizer, net, iterator) under a
CheckpointManager(max_to_keep=3), restore of the latest checkpoint before the loop, an eager train step,
a save every N steps. Shrunk: 20 steps instead of 50, a save every 5 steps instead of 10; the checkpoint
directory is the first argument instead of ./tf_ckpts.
"""

import sys

import tensorflow as tf


class Net(tf.keras.Model):
    """One linear layer; its variables exist only after the first call."""

    def __init__(self):
        super().__init__()
        self.l1 = tf.keras.layers.Dense(5)

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
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


net = Net()
opt = tf.keras.optimizers.Adam(0.1)
iterator = iter(toy_dataset())
ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=opt, net=net, iterator=iterator)
manager = tf.train.CheckpointManager(ckpt, sys.argv[1], max_to_keep=3)


def train_and_checkpoint(net, manager):
    ckpt.restore(manager.latest_checkpoint)
    print("Restored from", manager.latest_checkpoint) if manager.latest_checkpoint else print("From scratch")
    for _ in range(20):
        loss = train_step(net, next(iterator), opt)
        ckpt.step.assign_add(1)
        if int(ckpt.step) % 5 == 0:
            print("saved", manager.save(), "loss", float(loss))


train_and_checkpoint(net, manager)
