"""The fault-tolerance recipe of the Keras guide "Multi-GPU distributed training with TensorFlow".

Source: https://keras.io/guides/distributed_training_with_tensorflow/ (keras-team/keras-io
guides/distributed_training_with_tensorflow.py, section "Using callbacks to ensure fault tolerance").
Re-written here, not copied: the same structure -- `run_training(epochs)` opens a MirroredStrategy
scope, `make_or_restore_model()` loads the newest file of the checkpoint directory by creation time or
builds a compiled model, `ModelCheckpoint(ckpt-{epoch}.keras, save_freq="epoch")`, `fit(epochs=epochs)`,
and the guide calls `run_training(epochs=1)` twice in a row. Shrunk: random data of MNIST's shape (no
download), 96 samples, batch 16, a 32-unit MLP; the checkpoint directory is the first argument.
"""

import os
import sys

import keras
import numpy as np
import tensorflow as tf

checkpoint_dir = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.random((96, 784)).astype("float32")
y = rng.integers(0, 10, size=(96,))
train_dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)


def get_compiled_model():
    inputs = keras.Input(shape=(784,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    outputs = keras.layers.Dense(10)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def make_or_restore_model():
    checkpoints = [checkpoint_dir + "/" + name for name in os.listdir(checkpoint_dir)]
    if checkpoints:
        latest_checkpoint = max(checkpoints, key=os.path.getctime)
        print("Restoring from", latest_checkpoint)
        return keras.models.load_model(latest_checkpoint)
    print("Creating a new model")
    return get_compiled_model()


def run_training(epochs=1):
    strategy = tf.distribute.MirroredStrategy()
    with strategy.scope():
        model = make_or_restore_model()
    callbacks = [keras.callbacks.ModelCheckpoint(filepath=checkpoint_dir + "/ckpt-{epoch}.keras", save_freq="epoch")]
    model.fit(train_dataset, epochs=epochs, callbacks=callbacks, verbose=2)


run_training(epochs=1)
run_training(epochs=1)
