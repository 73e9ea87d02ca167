"""TensorFlow process set-up: logical devices, op determinism, seeding, the distribution strategy.

Everything here imports TensorFlow lazily; callers decide when a process pays for it.
"""

from __future__ import annotations

import os
import random
from typing import Any, Optional

DEFAULT_SEED = 1234
STRATEGIES = ("mirrored",)


def quiet_tf_logs() -> None:
    """Keep TF's C++ start-up chatter out of the user's terminal (only if the user did not choose)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def configure_devices(strategy: Optional[str]) -> bool:
    """Split the CPU into two logical devices for `mirrored`. Must run before TF initializes.

    Returns False when TF was already initialized with fewer than two CPU devices (the caller then
    runs the work in a fresh process instead).
    """
    if strategy is None:
        return True
    if strategy not in STRATEGIES:
        from ckptlint.errors import CkptlintError

        raise CkptlintError(f"unknown --strategy {strategy!r} (choose from: {', '.join(STRATEGIES)})")
    quiet_tf_logs()
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
    except RuntimeError:
        pass  # already initialized; fine if it already has two logical CPUs
    return len(tf.config.list_logical_devices("CPU")) >= 2


def make_strategy(strategy: Optional[str]) -> Any:
    """The strategy object handed to the factory: MirroredStrategy over two CPUs, else TF's default."""
    import tensorflow as tf

    if strategy == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def enable_determinism() -> None:
    """Ops must be deterministic for a bitwise A-vs-B comparison to mean anything."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def fresh_start(seed: int = DEFAULT_SEED) -> None:
    """Reset Keras' global state (layer name counters) and seed every RNG before each fresh setup.

    Identical names and seeds make run A, run B and the cold start build bit-identical initial states,
    in this process and in the worker.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    keras.backend.clear_session()
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.random.set_global_generator(tf.random.Generator.from_seed(seed))


def require_tensorflow() -> None:
    """A one-line error, before anything imports numpy or TensorFlow, when TensorFlow is not installed."""
    import importlib.util

    from ckptlint.errors import CkptlintError

    try:
        found = importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        found = False
    if not found:
        raise CkptlintError("verify needs TensorFlow, which is not installed here: pip install 'ckptlint[tf]'")
