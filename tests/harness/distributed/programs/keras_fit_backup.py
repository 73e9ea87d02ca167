"""Made to pass the black-box mode on any Keras 3 backend (the suite runs it with KERAS_BACKEND=jax): a
Keras-only `fit` with BackupAndRestore at the end of each epoch, the data in a fixed order, so a resumed
run starts the epoch after the last backup exactly where the uninterrupted run did. `--steps-backup`
backs up every 2 steps instead (the bug the suite expects named): killed at update 6, the run resumes
from the backup made at update 4, the last batch of the first epoch, and Keras 3.15 then begins its epoch
count again at the first epoch, training 4 updates more than the uninterrupted run.

Usage: python keras_fit_backup.py OUT_DIR [--steps-backup]
"""

import argparse

import keras
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--steps-backup", action="store_true")
args = parser.parse_args()

rng = np.random.default_rng(0)
x = rng.normal(size=(32, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
backup = keras.callbacks.BackupAndRestore(args.out, save_freq=2 if args.steps_backup else "epoch")
model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[backup])
