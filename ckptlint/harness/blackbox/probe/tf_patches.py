"""TensorFlow: seeds and op determinism, tf.train.Checkpoint / CheckpointManager saves and restores, and
the sources of randomness a checkpoint usually misses (stateful tf.random ops, tf.data shuffles)."""

from __future__ import annotations

import os
import threading
from typing import Any

from .files import checkpoint_files, fingerprint
from .patching import wrap

_restoring = threading.local()
_STATEFUL_RANDOM = ("normal", "uniform", "truncated_normal", "shuffle", "categorical", "gamma", "poisson")


def seed_and_determinism(probe: Any, tf: Any) -> None:
    tf.random.set_seed(probe.config.seed)
    tf.config.experimental.enable_op_determinism()


def install(probe: Any, tf: Any) -> None:
    from tensorflow.python.checkpoint import checkpoint as checkpoint_lib
    from tensorflow.python.checkpoint import checkpoint_management

    checkpoint = checkpoint_lib.Checkpoint
    wrap(checkpoint, "__init__", lambda original: _registering_init(probe, original))
    wrap(checkpoint, "save", lambda original: _save(probe, "tf.train.Checkpoint.save", original))
    wrap(checkpoint, "write", lambda original: _save(probe, "tf.train.Checkpoint.write", original))
    wrap(checkpoint, "restore", lambda original: _restore(probe, "tf.train.Checkpoint.restore", original))
    wrap(checkpoint, "read", lambda original: _restore(probe, "tf.train.Checkpoint.read", original))
    wrap(checkpoint_management.CheckpointManager, "save",
         lambda original: _manager_save(probe, original))
    wrap(checkpoint_management, "update_checkpoint_state_internal",
         lambda original: _state_file_update(probe, original))
    _watch_preemption_handler(probe)
    for name in _STATEFUL_RANDOM:
        wrap(tf.random, name, lambda original, name=name: _noting_randomness(probe, f"tf.random.{name}", original))  # type: ignore[misc]  # mypy cannot type a lambda with a default argument (python/mypy#15459)
    wrap(tf.data.Dataset, "shuffle", lambda original: _noting_shuffle(probe, original))


def _watch_preemption_handler(probe: Any) -> None:
    try:
        from tensorflow.python.distribute.failure_handling import failure_handling
    except ImportError:
        return

    def make(original: Any) -> Any:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            counter = getattr(self, "_checkpointed_runs", None)
            if counter is not None:
                probe.guard("preemption handler", probe.registry.add_bookkeeping, counter)

        return __init__

    wrap(failure_handling.PreemptionCheckpointHandler, "__init__", make)


def _registering_init(probe: Any, original: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        probe.guard("checkpoint registry", _register_checkpoint, probe, self, kwargs)

    return __init__


def _register_checkpoint(probe: Any, ckpt: Any, kwargs: dict[str, Any]) -> None:
    probe.registry.add("checkpoint", ckpt)
    probe.emit("checkpoint", keys={k: type(v).__name__ for k, v in kwargs.items()})


def _save(probe: Any, kind: str, original: Any) -> Any:
    def save(self: Any, file_prefix: Any, *args: Any, **kwargs: Any) -> Any:
        probe.guard("checkpoint registry", probe.registry.add, "checkpoint", self)
        probe.guard("save", probe.begin_save, kind, file_prefix)
        path, ok = None, False
        try:
            path = original(self, file_prefix, *args, **kwargs)
            ok = True
            return path
        finally:
            fp = probe.guard("save", fingerprint, checkpoint_files(path)) if ok else None
            probe.guard("save", probe.end_save, kind, path if ok else file_prefix, fp, ok)

    return save


def _manager_save(probe: Any, original: Any) -> Any:
    def save(self: Any, *args: Any, **kwargs: Any) -> Any:
        probe.guard("checkpoint registry", probe.registry.add, "checkpoint", self._checkpoint)
        probe.guard("save", probe.begin_save, "tf.train.CheckpointManager.save", self.directory)
        path, ok = None, False
        try:
            path = original(self, *args, **kwargs)
            ok = True
            return path
        finally:
            fp = probe.guard("save", fingerprint, checkpoint_files(path)) if ok and path else None
            probe.guard("save", probe.end_save, "tf.train.CheckpointManager.save", path or self.directory,
                        fp, ok and path is not None)

    return save


def _state_file_update(probe: Any, original: Any) -> Any:
    def update_checkpoint_state_internal(*args: Any, **kwargs: Any) -> Any:
        probe.guard("save", probe.torn_write_point,
                    "checkpoint data written, the 'checkpoint' state file not yet moved to it")
        return original(*args, **kwargs)

    return update_checkpoint_state_internal


def _restore(probe: Any, kind: str, original: Any) -> Any:
    def restore(self: Any, save_path: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_restoring, "value", False):  # restore() calls read(): note the outer call only
            return original(self, save_path, *args, **kwargs)
        _restoring.value = True
        try:
            return _noted_restore(self, save_path, *args, **kwargs)
        finally:
            _restoring.value = False

    def _noted_restore(self: Any, save_path: Any, *args: Any, **kwargs: Any) -> Any:
        probe.guard("checkpoint registry", probe.registry.add, "checkpoint", self)
        text = os.fspath(save_path) if save_path is not None and not isinstance(save_path, bytes) else save_path
        fp = probe.guard("restore", fingerprint, checkpoint_files(text)) if text else None
        probe.guard("restore", probe.note_restore, kind, text, fp)
        try:
            return original(self, save_path, *args, **kwargs)
        except BaseException as exc:
            probe.guard("restore", probe.emit, "restore_failed", api=kind,
                        message=f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"[:300])
            raise

    return restore


def _noting_randomness(probe: Any, api: str, original: Any) -> Any:
    noted: set[tuple[bool, bool, bool]] = set()

    def random_op(*args: Any, **kwargs: Any) -> Any:
        seeded = kwargs.get("seed") is not None
        in_graph = bool(probe.guard("randomness", _in_graph))
        key = (seeded, in_graph, probe.updates > 0)
        if key not in noted:
            noted.add(key)
            probe.guard("randomness", probe.emit, "rng_use", api=api, op_seed=seeded, n=probe.updates,
                        graph=in_graph)
        return original(*args, **kwargs)

    return random_op


def _in_graph() -> bool:
    import tensorflow as tf

    return not tf.executing_eagerly()


def _noting_shuffle(probe: Any, original: Any) -> Any:
    def shuffle(self: Any, buffer_size: Any, seed: Any = None, reshuffle_each_iteration: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        probe.guard("randomness", probe.emit, "shuffle", seed=seed is not None, reshuffle=reshuffle,
                    n=probe.updates)
        return original(self, buffer_size, seed, reshuffle_each_iteration, *args, **kwargs)

    return shuffle
