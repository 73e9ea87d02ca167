"""Made to pass under `ckptlint verify --workers 2`: a MultiWorkerMirroredStrategy custom loop whose chief
checkpoints the model, the optimizer and the step counter to the real directory while every other worker
writes a scratch directory of its own (and removes it), and where every worker restores the chief's
latest checkpoint, as TF's "Custom training loop with Keras and MultiWorkerMirroredStrategy" tutorial
does. Each flag makes one bug the suite expects named:

  --without-optimizer       the optimizer is left out of the checkpoint
  --every-worker-writes-out every worker saves into OUT_DIR itself, the chief's directory
                            (tensorflow/tensorflow#38635)
  --restore-own-directory   every worker restores the latest checkpoint of the directory it writes, so the
                            workers other than the chief (whose scratch directory is gone) restore nothing

Usage: python custom_loop.py --out OUT_DIR [flags]   (TF_CONFIG names the cluster)
"""

import argparse
import json
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--without-optimizer", action="store_true")
parser.add_argument("--every-worker-writes-out", action="store_true")
parser.add_argument("--restore-own-directory", action="store_true")
parser.add_argument("--steps", type=int, default=12)
args = parser.parse_args()

strategy = tf.distribute.MultiWorkerMirroredStrategy()
task = json.loads(os.environ["TF_CONFIG"])["task"]
index, workers = task["index"], strategy.num_replicas_in_sync
is_chief = index == 0

rng = np.random.default_rng(0)
x = rng.normal(size=(128, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
x_mine, y_mine = x[index::workers], y[index::workers]  # each worker its own shard of the data

with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.01)
    step = tf.Variable(0, dtype=tf.int64)
state = dict(model=model, step=step) if args.without_optimizer else dict(model=model, optimizer=optimizer, step=step)
checkpoint = tf.train.Checkpoint(**state)
shares_out = is_chief or args.every_worker_writes_out
directory = args.out if shares_out else os.path.join(args.out, "scratch", f"worker-{index}")
manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
latest = tf.train.latest_checkpoint(directory if args.restore_own_directory else args.out)
if latest:
    checkpoint.restore(latest).assert_existing_objects_matched()


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


while int(step.numpy()) < args.steps:
    i = int(step.numpy()) % 8
    loss = train_step(x_mine[i * 8:(i + 1) * 8], y_mine[i * 8:(i + 1) * 8])
    step.assign_add(1)
    if int(step.numpy()) % 3 == 0:
        manager.save()  # every worker saves (the save may synchronise); only the chief's is kept
        if not shares_out:
            shutil.rmtree(directory, ignore_errors=True)
print(f"worker {index}: step {int(step.numpy())}, local loss {float(strategy.experimental_local_results(loss)[0]):.6f}")
