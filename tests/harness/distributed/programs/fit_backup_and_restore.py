"""Made for `ckptlint verify --workers 2 --signal term`: `fit` under MultiWorkerMirroredStrategy with
BackupAndRestore, shaped as TF's "Multi-worker training with Keras" tutorial (its fault-tolerance section):
the model built and compiled in the strategy's scope, a dataset the strategy shards by data, and
`fit(..., callbacks=[BackupAndRestore(backup_dir)])`, every worker given the same backup directory.

On tf_keras (Keras 2), whose BackupAndRestore lets only the chief write the real directory. Keras 3's
`fit` does not run under MultiWorkerMirroredStrategy with more than one worker (keras-team/keras#20585:
"Attempt to convert a value (PerReplica...)" before the first step), so a multi-worker `fit` needs tf_keras.

The backup is made at the end of each epoch, and an epoch is one pass over the data, so the data position
at a backup is the start of the dataset. (tf_keras's `save_before_preemption=True` would back up where
SIGTERM arrives, but it turns itself off unless a GCE metadata server answers: it asks
metadata.google.internal first.) `--shuffle` feeds the tutorial's `shuffle(...).repeat()` pipeline, whose
order starts over in every new process (the bug the suite expects named); without it the order is fixed.

A program without PreemptionCheckpointHandler still has its SIGTERM caught under MultiWorkerMirroredStrategy
(TF's coordination service takes it as a preemption notice), so it trains on until the scheduler's SIGKILL at
the end of the grace period. `--step-seconds S` makes each step last S seconds, as a real step lasts long
enough for that SIGKILL to land mid-training; without it these 12 tiny steps end before any grace period.

Usage: python fit_backup_and_restore.py --out OUT_DIR [--shuffle] [--step-seconds S]
"""

import argparse
import os
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--shuffle", action="store_true")
parser.add_argument("--step-seconds", type=float, default=0.0)
args = parser.parse_args()

strategy = tf.distribute.MultiWorkerMirroredStrategy()
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
dataset = tf.data.Dataset.from_tensor_slices((x, y))
if args.shuffle:
    dataset = dataset.shuffle(64)
dataset = dataset.repeat().batch(16)  # sharded by data across the workers: 4 steps a pass

with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
slow_steps = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: time.sleep(args.step_seconds))
model.fit(dataset, epochs=3, steps_per_epoch=4, verbose=0,
          callbacks=[keras.callbacks.BackupAndRestore(os.path.join(args.out, "backup")), slow_steps])
