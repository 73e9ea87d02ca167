"""BackupAndRestore(save_freq=2): Keras 3.15 re-runs the interrupted epoch from its first batch, and
rewrites latest.weights.h5 in place on every backup. Usage: python backup_and_restore_steps.py OUT_DIR"""

import sys

import keras
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(48, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
          callbacks=[keras.callbacks.BackupAndRestore(out, save_freq=2, delete_checkpoint=False)])
