"""Made to fail on data order: model.fit over a tf.data shuffle (reshuffled each epoch), saving a .keras
file each epoch and resuming with load_model + initial_epoch. Model, optimizer and epoch come back
exactly; the reshuffle sequence starts over in the new process. Usage: python fit_shuffle.py OUT_DIR"""

import os
import re
import sys

import keras
import numpy as np
import tensorflow as tf

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(48, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(48, seed=7).batch(16)

saved = sorted((int(m.group(1)), name) for name in os.listdir(out)
               if (m := re.fullmatch(r"epoch-(\d+)\.keras", name)))
if saved:
    initial_epoch, name = saved[-1]
    model = keras.models.load_model(os.path.join(out, name))
else:
    initial_epoch = 0
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
model.fit(dataset, epochs=4, initial_epoch=initial_epoch, verbose=0,
          callbacks=[keras.callbacks.ModelCheckpoint(os.path.join(out, "epoch-{epoch}.keras"))])
