"""Made to be inconclusive: the initial weights come from a NumPy generator seeded by OS entropy, so two
uninterrupted runs differ. Usage: python unseeded.py OUT_DIR"""

import sys

import keras
import numpy as np
import tensorflow as tf

out = sys.argv[1]
entropy = np.random.default_rng()
x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.set_weights([entropy.normal(size=w.shape).astype("float32") for w in model.get_weights()])
optimizer = keras.optimizers.Adam(0.01)
checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(checkpoint, out, max_to_keep=2)
checkpoint.restore(manager.latest_checkpoint)
for step in range(int(optimizer.iterations), 8):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    if (step + 1) % 2 == 0:
        manager.save()
