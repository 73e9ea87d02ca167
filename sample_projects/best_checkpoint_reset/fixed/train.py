"""Regression trained with `model.fit` on a small, noisy data set: the run keeps the model with the
lowest validation loss in `best.keras`, and a BackupAndRestore callback lets a preempted job pick up
where it stopped when it is started again with the same --run-dir.

Run: python train.py --epochs 12 --run-dir runs/exp1
"""

import argparse
import os

import keras
import numpy as np

RUN_DIR = "runs/best"
EPOCHS = 12
BATCH_SIZE = 8


def build_model():
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    return model


def make_data():
    """Few noisy training samples: the validation loss falls, then rises as the model overfits."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 8)).astype("float32")
    y = x[:, :1] + rng.normal(scale=1.0, size=(32, 1)).astype("float32")
    x_val = rng.normal(size=(256, 8)).astype("float32")
    return x, y, x_val, x_val[:, :1]


def best_so_far(path, x_val, y_val):
    """The validation loss of the best model a previous run of this job saved (None on a fresh start):
    a restarted ModelCheckpoint must compare against it, not against +inf."""
    if not os.path.exists(path):
        return None
    return keras.models.load_model(path).evaluate(x_val, y_val, verbose=0)


def make_callbacks(run_dir, x_val, y_val):
    path = os.path.join(run_dir, "best.keras")
    best = keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True,
                                           initial_value_threshold=best_so_far(path, x_val, y_val))
    backup = keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup"))
    return [backup, best]


def train(run_dir, epochs=EPOCHS, callbacks=()):
    """Train (or resume) the model; returns it. `callbacks` are extra callbacks (monitoring, tests)."""
    model = build_model()
    x, y, x_val, y_val = make_data()
    model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE, shuffle=False,
              verbose=0, callbacks=[*make_callbacks(run_dir, x_val, y_val), *callbacks])
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--run-dir", default=RUN_DIR)
    args = parser.parse_args()
    train(args.run_dir, args.epochs)
    x, y, x_val, y_val = make_data()
    best = keras.models.load_model(os.path.join(args.run_dir, "best.keras"))
    print(f"best model: val_loss {best.evaluate(x_val, y_val, verbose=0):.4f}")


if __name__ == "__main__":
    main()
