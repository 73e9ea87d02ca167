"""The BackupAndRestore section of TensorFlow's "Multi-worker training with Keras" tutorial, one worker.

Source: https://www.tensorflow.org/tutorials/distribute/multi_worker_with_keras (tensorflow/docs
site/en/tutorials/distribute/multi_worker_with_keras.ipynb, "Fault tolerance" / "BackupAndRestore
callback"). Re-written here, not copied: a MultiWorkerMirroredStrategy (no TF_CONFIG: a single local
worker), the tutorial's MNIST pipeline shape -- `from_tensor_slices(...).shuffle(...).repeat().batch(...)`
--, a small CNN built and compiled in the strategy scope with SGD(0.001), and
`fit(epochs=3, steps_per_epoch=..., callbacks=[BackupAndRestore(backup_dir)])` with the default
per-epoch backup. Shrunk: 8x8 random images instead of MNIST 28x28 (no download), 256 samples, batch 16,
5 steps per epoch instead of 70, 4 conv filters instead of 32.
"""

import sys

import numpy as np
import tensorflow as tf

backup_dir = sys.argv[1]


def mnist_dataset(batch_size):
    rng = np.random.default_rng(0)
    x_train = rng.random((256, 8, 8)).astype(np.float32)
    y_train = rng.integers(0, 10, size=(256,)).astype(np.int64)
    return tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(256).repeat().batch(batch_size)


def build_and_compile_cnn_model():
    model = tf.keras.Sequential([
        tf.keras.layers.InputLayer(input_shape=(8, 8)),
        tf.keras.layers.Reshape(target_shape=(8, 8, 1)),
        tf.keras.layers.Conv2D(4, 3, activation="relu"),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(16, activation="relu"),
        tf.keras.layers.Dense(10),
    ])
    model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=tf.keras.optimizers.SGD(learning_rate=0.001), metrics=["accuracy"])
    return model


strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    multi_worker_model = build_and_compile_cnn_model()
callbacks = [tf.keras.callbacks.BackupAndRestore(backup_dir=backup_dir)]
multi_worker_model.fit(mnist_dataset(16), epochs=3, steps_per_epoch=5, callbacks=callbacks, verbose=0)
