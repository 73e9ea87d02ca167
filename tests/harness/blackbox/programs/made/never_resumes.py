"""Made to never resume: it writes checkpoints but never reads them, so a rerun trains from scratch
(and ends bitwise where the uninterrupted run ended). Usage: python never_resumes.py OUT_DIR"""

import sys

import keras
import numpy as np
import tensorflow as tf

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam(0.01)
checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(checkpoint, out, max_to_keep=2)
for step in range(1, 11):
    i = step % 8
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x[i * 8:(i + 1) * 8]) - y[i * 8:(i + 1) * 8]) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    if step % 2 == 0:
        manager.save()
