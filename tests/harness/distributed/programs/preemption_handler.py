"""Made for `ckptlint verify --workers 2 --signal term`: TF's PreemptionCheckpointHandler under
MultiWorkerMirroredStrategy, as in TF's "Custom training loop with Keras and MultiWorkerMirroredStrategy"
tutorial (its fault-tolerance section). The handler restores the checkpoint when it is built, saves on every
worker at one agreed step once any worker receives SIGTERM, and exits the program; the loop starts where the
handler's `total_run_calls` says the last run stopped. `--ignore-run-calls` starts every run from step 0
instead (the bug the suite expects named: the restored steps run again).

Usage: python preemption_handler.py --out OUT_DIR [--ignore-run-calls]   (TF_CONFIG names the cluster)
"""

import argparse
import json
import os

import keras
import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--ignore-run-calls", action="store_true")
args = parser.parse_args()
EPOCHS, STEPS_PER_EPOCH = 3, 4

strategy = tf.distribute.MultiWorkerMirroredStrategy()
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
workers = strategy.num_replicas_in_sync
rng = np.random.default_rng(0)
x = rng.normal(size=(128, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
x_mine, y_mine = x[index::workers], y[index::workers]

with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.01)
checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
# Restores the latest checkpoint of args.out, if any; the chief saves there, the other workers elsewhere.
handler = tf.distribute.experimental.PreemptionCheckpointHandler(strategy.cluster_resolver, checkpoint, args.out)


@tf.function
def train_step(xb, yb):
    def replica_step(xb, yb):
        with tf.GradientTape() as tape:
            per_example = tf.reduce_mean((model(xb) - yb) ** 2, axis=1)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=8 * workers)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return strategy.run(replica_step, args=(xb, yb))


done = 0 if args.ignore_run_calls else handler.total_run_calls
for epoch in range(done // STEPS_PER_EPOCH, EPOCHS):
    first = done % STEPS_PER_EPOCH if epoch == done // STEPS_PER_EPOCH else 0
    for step in range(first, STEPS_PER_EPOCH):
        i = (epoch * STEPS_PER_EPOCH + step) % 8
        handler.run(train_step, x_mine[i * 8:(i + 1) * 8], y_mine[i * 8:(i + 1) * 8])
print(f"worker {index}: {handler.total_run_calls} steps")
