"""Build real checkpoint artifacts with TensorFlow 2.21 / Keras 3 for the inspector tests.

One call writes every format from the same trained models, so the tests can assert exact inventories
and exact cross-format diffs. Kept apart from conftest.py so it can also be run by hand:
`python tests/inspect/inspect_artifacts.py /tmp/out`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MARKER_ENV = "CKPTLINT_TEST_MARKER"


# Serialized into the artifact as marshalled bytecode (only a real `lambda` is; a named function is
# stored by name). Loading the model with safe_mode=False runs it, which touches the marker file.
TOUCH_MARKER = (  # noqa: E731  (a lambda on purpose: see above)
    lambda x: (
        __import__("pathlib").Path(__import__("os").environ["CKPTLINT_TEST_MARKER"]).touch()
        if "CKPTLINT_TEST_MARKER" in __import__("os").environ
        else None,
        x,
    )[1]
)


def _mlp(keras):
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])


def build(root: Path) -> dict[str, Path]:
    import warnings

    import numpy as np
    import tensorflow as tf
    import keras

    warnings.filterwarnings("ignore")
    keras.utils.set_random_seed(1)
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    x = np.random.RandomState(0).rand(10, 3).astype("float32")
    y = np.random.RandomState(1).rand(10, 1).astype("float32")

    # A compiled MLP with Adam, trained 5 steps (10 samples, batch 2), in every format.
    model = _mlp(keras)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, epochs=1, batch_size=2, verbose=0, shuffle=False)
    step = tf.Variable(7, dtype=tf.int64)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model, optimizer=model.optimizer, step=step),
                                         str(root / "ckpts"), max_to_keep=5)
    manager.save()
    manager.save()
    out["ckpt_dir"] = root / "ckpts"
    model.save(root / "adam.keras")
    out["keras"] = root / "adam.keras"
    model.save_weights(root / "adam.weights.h5")
    out["weights"] = root / "adam.weights.h5"
    model.save(root / "adam.h5")
    out["legacy"] = root / "adam.h5"
    tf.saved_model.save(model, str(root / "adam_savedmodel"))
    out["savedmodel"] = root / "adam_savedmodel"
    tf.train.Checkpoint(model=model).write(str(root / "model_only_compiled"))
    out["model_only_compiled"] = root / "model_only_compiled"
    # ... trained 5 more steps: every weight, slot and `iterations` moves.
    model.fit(x, y, epochs=1, batch_size=2, verbose=0, shuffle=False)
    model.save(root / "adam_later.keras")
    out["keras_later"] = root / "adam_later.keras"
    # ... and `iterations` reset to 0 while the moments are kept (a botched resume).
    model.optimizer.iterations.assign(0)
    model.save_weights(root / "reset.weights.h5")
    out["reset"] = root / "reset.weights.h5"

    # The same architecture, never compiled: no optimizer state anywhere.
    plain = _mlp(keras)
    plain.save(root / "plain.keras")
    out["plain_keras"] = root / "plain.keras"
    plain.save_weights(root / "plain.weights.h5")
    out["plain_weights"] = root / "plain.weights.h5"
    tf.train.Checkpoint(model=plain).write(str(root / "plain_ckpt"))
    out["plain_ckpt"] = root / "plain_ckpt"
    tf.saved_model.save(plain, str(root / "plain_savedmodel"))
    out["plain_savedmodel"] = root / "plain_savedmodel"

    # Compiled but never trained: the optimizer is saved unbuilt (iterations and learning_rate, no slots).
    unbuilt = _mlp(keras)
    unbuilt.compile(optimizer="adam", loss="mse")
    unbuilt.save(root / "unbuilt.keras")
    out["unbuilt_keras"] = root / "unbuilt.keras"

    # SGD with momentum and a schedule (no learning_rate variable), BatchNorm, RNG and a tf.data iterator.
    bn = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization(),
                           keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.9)
    bn.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.9), loss="mse", metrics=["mae"])
    bn.fit(x, y, epochs=1, batch_size=2, verbose=0, shuffle=False)
    gen = tf.random.Generator.from_seed(3)
    iterator = iter(tf.data.Dataset.range(10))
    next(iterator)
    tf.train.Checkpoint(model=bn, optimizer=bn.optimizer, gen=gen, it=iterator,
                        epoch=tf.Variable(3)).write(str(root / "sgd_ckpt"))
    out["sgd_ckpt"] = root / "sgd_ckpt"
    bn.save(root / "sgd.keras")
    out["sgd_keras"] = root / "sgd.keras"
    bn.save(root / "sgd.h5")
    out["sgd_legacy"] = root / "sgd.h5"

    # A GAN: two models, two Adam optimizers stepped 2 times, under their own checkpoint keys.
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    discriminator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    g_opt, d_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    for _ in range(2):
        with tf.GradientTape(persistent=True) as tape:
            score = tf.reduce_mean(discriminator(generator(tf.random.normal((4, 2)))))
            g_loss = -score
        d_opt.apply_gradients(zip(tape.gradient(score, discriminator.trainable_variables),
                                  discriminator.trainable_variables))
        g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables))
    tf.train.Checkpoint(generator=generator, discriminator=discriminator, g_optimizer=g_opt,
                        d_optimizer=d_opt).write(str(root / "gan_ckpt"))
    out["gan_ckpt"] = root / "gan_ckpt"
    # The optimizer alone: the generator's weights are saved only through the optimizer.
    tf.train.Checkpoint(optimizer=g_opt).write(str(root / "optimizer_only"))
    out["optimizer_only"] = root / "optimizer_only"

    # A model whose deserialization runs code: a Lambda layer holding marshalled bytecode.
    evil = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(TOUCH_MARKER), keras.layers.Dense(1)])
    evil.compile(optimizer="adam", loss="mse")
    evil.fit(x, y, epochs=1, batch_size=5, verbose=0, shuffle=False)
    evil.save(root / "evil.keras")
    out["evil_keras"] = root / "evil.keras"
    evil.save(root / "evil.h5")
    out["evil_legacy"] = root / "evil.h5"
    return out


if __name__ == "__main__":
    for name, path in build(Path(sys.argv[1])).items():
        print(f"{name:22} {path}")
