"""Made for --signal term: it checkpoints only at the end and when told to stop (SIGTERM), then exits,
as preemptible jobs do. Usage: python saves_on_sigterm.py OUT_DIR"""

import signal
import sys

import keras
import numpy as np
import tensorflow as tf

out = sys.argv[1]
stop = []
signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam(0.01)
step = tf.Variable(0, dtype=tf.int64)
checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
manager = tf.train.CheckpointManager(checkpoint, out, max_to_keep=1)
checkpoint.restore(manager.latest_checkpoint)
while int(step) < 10:
    i = int(step) % 8
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x[i * 8:(i + 1) * 8]) - y[i * 8:(i + 1) * 8]) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    step.assign_add(1)
    if stop:
        manager.save()
        sys.exit(0)
manager.save()
