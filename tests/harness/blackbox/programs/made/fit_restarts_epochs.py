"""Made to fail on extra updates: resumes with load_model of the latest .keras but calls
fit(epochs=3) without initial_epoch, so every epoch is trained again. Usage: python fit_restarts_epochs.py OUT"""

import os
import sys

import keras
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
path = os.path.join(out, "model.keras")
if os.path.exists(path):
    model = keras.models.load_model(path)
else:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
          callbacks=[keras.callbacks.ModelCheckpoint(path)])
