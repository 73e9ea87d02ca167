"""Made to fail on RNG: Dropout draws its masks from a Keras SeedGenerator whose state is not in
Checkpoint(model=, optimizer=, step=), so the resumed run draws other masks. Usage: python dropout_checkpoint.py OUT"""

import sys

import keras
import numpy as np
import tensorflow as tf

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3),
                          keras.layers.Dense(1)])
optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
step = tf.Variable(0, dtype=tf.int64)
checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
manager = tf.train.CheckpointManager(checkpoint, out, max_to_keep=2)
checkpoint.restore(manager.latest_checkpoint)


@tf.function
def train_step(xb, yb):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(xb, training=True) - yb) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    return loss


while int(step) < 10:
    i = int(step) % 8
    train_step(x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8])
    step.assign_add(1)
    if int(step) % 2 == 0:
        manager.save()
