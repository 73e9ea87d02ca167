"""Made to pass: a custom loop whose CheckpointManager holds the model, the optimizer, the step counter
and the data iterator, restored before training. Usage: python manager_loop.py OUT_DIR"""

import sys

import keras
import numpy as np
import tensorflow as tf

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
dataset = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(8)
iterator = iter(dataset)

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam(0.01)
step = tf.Variable(0, dtype=tf.int64)
checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step, iterator=iterator)
manager = tf.train.CheckpointManager(checkpoint, out, max_to_keep=3)
checkpoint.restore(manager.latest_checkpoint)


@tf.function
def train_step(xb, yb):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(xb) - yb) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


while int(step) < 12:
    loss = train_step(*next(iterator))
    step.assign_add(1)
    if int(step) % 3 == 0:
        manager.save()
print(f"step {int(step)} loss {float(loss):.6f}")
