"""What the probe does when each framework finishes importing (see postimport.py)."""

from __future__ import annotations

import atexit
from typing import Any

from . import inventory


def on_numpy(probe: Any, numpy: Any) -> None:
    numpy.random.seed(probe.config.seed)
    if probe.snapshot_hook is None:
        probe.snapshot_hook = lambda path, meta, prepared: _write_snapshot(probe, path, meta, prepared)
        from .files import install_open_wrapper

        install_open_wrapper(probe)


def on_tensorflow(probe: Any, tf: Any) -> None:
    from . import tf_patches

    tf_patches.seed_and_determinism(probe, tf)
    tf_patches.install(probe, tf)
    probe.emit("framework", name="tensorflow", version=getattr(tf, "__version__", "?"))
    _final_snapshot_at_exit(probe)


def on_keras(probe: Any, keras: Any) -> None:
    from . import keras_patches

    keras_patches.seed(probe, keras)
    keras_patches.install(probe, keras)
    probe.emit("framework", name="keras", version=getattr(keras, "__version__", "?"),
               backend=keras.backend.backend())
    _final_snapshot_at_exit(probe)


def on_tf_keras(probe: Any, tf_keras: Any) -> None:
    from . import tf_keras_patches

    tf_keras_patches.install(probe, tf_keras)
    probe.emit("framework", name="tf_keras", version=getattr(tf_keras, "__version__", "?"))


def _write_snapshot(probe: Any, path: str, meta: dict[str, Any], prepared: Any) -> str:
    if prepared is not None:
        inv, values = prepared
    else:
        inv = inventory.collect(probe.registry)
        values = inv.read()
    inventory.write(inv, values, path, meta)
    return path


_registered: set[int] = set()


def _final_snapshot_at_exit(probe: Any) -> None:
    """Registered after the framework's own exit handlers, so it runs before them (atexit is LIFO)."""
    if id(probe) in _registered:
        return
    _registered.add(id(probe))
    atexit.register(lambda: probe.guard("final snapshot", probe.snapshot, "final"))
