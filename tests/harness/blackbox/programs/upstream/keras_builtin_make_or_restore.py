"""The fault-tolerance recipe of the Keras guide "Training & evaluation with the built-in methods".

Source: https://keras.io/guides/training_with_built_in_methods/ (keras-team/keras-io
guides/training_with_built_in_methods.py, section "Checkpointing models"). Re-written here, not copied:
the same structure -- a functional MNIST classifier compiled with RMSprop and sparse categorical
cross-entropy, `make_or_restore_model()` loading the newest file of the checkpoint directory by
creation time with `keras.models.load_model`, `ModelCheckpoint("model-loss={loss:.2f}.keras",
save_freq=100)`, one `fit` epoch. Shrunk: random data of MNIST's shape (no download), 128 samples,
64 units instead of 64 (same), batch 16, a save every 3 batches instead of 100.
"""

import os
import sys

import keras
import numpy as np

checkpoint_dir = sys.argv[1]
rng = np.random.default_rng(0)
x_train = rng.random((128, 784)).astype("float32")
y_train = rng.integers(0, 10, size=(128,))


def get_compiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    return model


def make_or_restore_model():
    checkpoints = [checkpoint_dir + "/" + name for name in os.listdir(checkpoint_dir)]
    if checkpoints:
        latest_checkpoint = max(checkpoints, key=os.path.getctime)
        print("Restoring from", latest_checkpoint)
        return keras.models.load_model(latest_checkpoint)
    print("Creating a new model")
    return get_compiled_model()


model = make_or_restore_model()
callbacks = [keras.callbacks.ModelCheckpoint(filepath=checkpoint_dir + "/model-loss={loss:.2f}.keras", save_freq=3)]
model.fit(x_train, y_train, epochs=1, batch_size=16, callbacks=callbacks, verbose=0)
