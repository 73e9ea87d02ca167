"""Made to crash on resume: the progress file is written at the start of an epoch, before the epoch
counter moves, and the resume path divides by the number of finished epochs. Usage: python crash_on_resume.py OUT"""

import json
import os
import sys

import keras
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
progress = os.path.join(out, "progress.json")
weights = os.path.join(out, "latest.weights.h5")
first_epoch = 0
if os.path.exists(progress):
    with open(progress) as fh:
        state = json.load(fh)
    model.load_weights(weights)
    first_epoch = state["epochs_done"]
    print("average updates per epoch so far:", state["updates"] / state["epochs_done"])


class SaveAtEpochStart(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch > first_epoch:
            self.model.save_weights(weights)
            with open(progress, "w") as fh:
                json.dump({"epochs_done": epoch - 1, "updates": int(self.model.optimizer.iterations)}, fh)


model.fit(x, y, batch_size=8, epochs=4, initial_epoch=first_epoch, shuffle=False, verbose=0,
          callbacks=[SaveAtEpochStart()])
