"""Regression model trained with `model.fit`; a BackupAndRestore callback lets a preempted job pick up
where it stopped when it is started again with the same --backup-dir.

Run: python train.py --epochs 4 --backup-dir runs/backup
"""

import argparse

import keras
import numpy as np

BACKUP_DIR = "runs/backup"
EPOCHS = 4
BATCH_SIZE = 16
SAMPLES = 80  # 5 batches per epoch


def build_model():
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1),
    ])
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=5, decay_rate=0.5)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    return model


def make_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def make_backup(directory):
    return keras.callbacks.BackupAndRestore(directory, save_freq="epoch")


def train(backup_dir, epochs=EPOCHS, callbacks=()):
    """Train (or resume) the model; returns it. `callbacks` are extra callbacks (monitoring, tests)."""
    model = build_model()
    x, y = make_data()
    model.fit(x, y, epochs=epochs, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
              callbacks=[make_backup(backup_dir), *callbacks])
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--backup-dir", default=BACKUP_DIR)
    args = parser.parse_args()
    model = train(args.backup_dir, args.epochs)
    print(f"trained {int(model.optimizer.iterations.numpy())} steps")


if __name__ == "__main__":
    main()
