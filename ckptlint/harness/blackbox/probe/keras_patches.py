"""Keras 3: optimizer updates, `fit` (epochs, per-batch loss), and the saving library's saves and loads."""

from __future__ import annotations

import os
import threading
from typing import Any

from . import notify
from .files import checkpoint_files, fingerprint
from .patching import wrap

_depth = threading.local()  # nested apply() calls (LossScaleOptimizer -> inner optimizer) count once


def install(probe: Any, keras: Any) -> None:
    from keras.src.optimizers import base_optimizer
    from keras.src.saving import saving_lib

    wrap(base_optimizer.BaseOptimizer, "apply", lambda original: _apply(probe, original))
    model_class = keras.Model
    wrap(model_class, "fit", lambda original: _fit(probe, keras, original))
    wrap(model_class, "train_on_batch", lambda original: _registering(probe, original))
    wrap(saving_lib, "save_model", lambda original: _save(probe, "keras model.save", original))
    wrap(saving_lib, "save_weights_only", lambda original: _save(probe, "keras save_weights", original))
    wrap(saving_lib, "load_model", lambda original: _load(probe, "keras load_model", original))
    wrap(saving_lib, "load_weights_only", lambda original: _load(probe, "keras load_weights", original))
    wrap(saving_lib.H5IOStore, "close", lambda original: _h5_close(probe, original))
    try:
        from keras.src.legacy.saving import legacy_h5_format
    except ImportError:
        return
    wrap(legacy_h5_format, "save_model_to_hdf5", lambda original: _save(probe, "keras legacy h5 save", original))
    wrap(legacy_h5_format, "load_model_from_hdf5", lambda original: _load(probe, "keras legacy h5 load", original))


def _apply(probe: Any, original: Any) -> Any:
    def apply(self: Any, grads: Any, trainable_variables: Any = None) -> Any:
        depth = getattr(_depth, "value", 0)
        if probe.disabled or depth > 0 or len(grads) == 0:
            return original(self, grads, trainable_variables)
        if probe.guard("optimizer update", _traced_statelessly):
            # JAX's fit: a stateless apply traced by jax.jit, whose values are tracers no hook may read;
            # the fit callback counts the batch instead, once the model's state is synced back
            probe.guard("optimizer update", probe.registry.add, "optimizer", self)
            return original(self, grads, trainable_variables)
        _depth.value = depth + 1
        try:
            gate = probe.guard("optimizer update", _before, probe, self, trainable_variables)
            if gate is not None:
                import tensorflow as tf

                with tf.control_dependencies([gate]):
                    result = original(self, grads, trainable_variables)
            else:
                result = original(self, grads, trainable_variables)
            variables = list(trainable_variables) if trainable_variables is not None else \
                list(getattr(self, "_trainable_variables", []))
            probe.guard("optimizer update", notify.after_update, probe, variables, self)
            return result
        finally:
            _depth.value = depth

    return apply


def _traced_statelessly() -> bool:
    """Inside a Keras StatelessScope on the JAX backend (what `fit`'s jitted train step uses)."""
    from keras.src import backend
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    return backend.backend() == "jax" and in_stateless_scope()


def _before(probe: Any, optimizer: Any, trainable_variables: Any) -> Any:
    """Register the optimizer; build it first if unbuilt (its first apply() would), so slots restored
    lazily by a checkpoint exist when the state training resumes from is read."""
    probe.registry.add("optimizer", optimizer)
    probe.registry.optimizer_starts(optimizer, probe.updates)
    if not optimizer.built and trainable_variables is not None:
        from keras.src import backend

        with backend.name_scope(optimizer.name, caller=optimizer):
            optimizer.build(list(trainable_variables))
        optimizer.built = True
    return notify.before_update(probe)


def _registering(probe: Any, original: Any) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        probe.guard("model registry", probe.registry.add, "model", self)
        return original(self, *args, **kwargs)

    return method


def _fit(probe: Any, keras: Any, original: Any) -> Any:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        callback = probe.guard("fit callback", _fit_callback, probe, keras, self, kwargs)
        if callback is not None:
            given = kwargs.get("callbacks")
            kwargs["callbacks"] = [callback, *(given or [])]
        return original(self, *args, **kwargs)

    return fit


def _fit_callback(probe: Any, keras: Any, model: Any, kwargs: dict[str, Any]) -> Any:
    given = kwargs.get("callbacks")
    if given is not None and not isinstance(given, (list, tuple)):
        return None  # a CallbackList built by the program: leave it alone
    probe.registry.add("model", model)
    probe.emit("fit", epochs=kwargs.get("epochs"), initial_epoch=kwargs.get("initial_epoch", 0), n=probe.updates)

    on_jax = keras.backend.backend() == "jax"

    class CkptlintProbe(keras.callbacks.Callback):
        """First in the list, so it sees each batch before the program's own callbacks save."""

        def __init__(self) -> None:
            super().__init__()
            self._counted_at_batch_start = 0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            probe.guard("fit callback", probe.emit, "epoch", epoch=int(epoch), n=probe.updates)

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self._counted_at_batch_start = probe.updates
            if on_jax:
                probe.guard("fit callback", self._batch_begin_on_jax)

        def _batch_begin_on_jax(self) -> None:
            """JAX's jitted step never calls back: the state before this batch's update is read here, once
            the previous steps' values are synced back into the model's variables."""
            self.model.jax_state_sync()
            probe.before_update()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            probe.guard("fit callback", self._batch_end, logs)

        def _batch_end(self, logs: Any) -> None:
            if on_jax:
                self.model.jax_state_sync()
                probe.after_update(None)
            elif probe.updates == self._counted_at_batch_start:
                # the step could not call back (XLA, another backend): count the batch here
                sync = getattr(self.model, "jax_state_sync", None)
                if callable(sync):
                    sync()
                probe.before_update()
                probe.after_update(None)
            loss = (logs or {}).get("loss")
            if loss is not None:
                import numpy as np

                probe.note_loss(float(np.asarray(loss)))

    return CkptlintProbe()


def _save(probe: Any, kind: str, original: Any) -> Any:
    def save(model: Any, filepath: Any, *args: Any, **kwargs: Any) -> Any:
        probe.guard("save", probe.registry.add, "model", model)
        probe.guard("save", probe.begin_save, kind, filepath)
        ok = False
        try:
            result = original(model, filepath, *args, **kwargs)
            ok = True
            return result
        finally:
            fp = probe.guard("save", fingerprint, checkpoint_files(_path(filepath))) if ok else None
            probe.guard("save", probe.end_save, kind, filepath, fp, ok)

    return save


def _load(probe: Any, kind: str, original: Any) -> Any:
    def load(*args: Any, **kwargs: Any) -> Any:
        filepath = kwargs.get("filepath", args[1] if kind == "keras load_weights" and len(args) > 1 else
                              (args[0] if args else None))
        fp = probe.guard("restore", fingerprint, checkpoint_files(_path(filepath)))
        probe.guard("restore", probe.note_restore, kind, filepath, fp)
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:
            probe.guard("restore", probe.emit, "restore_failed", api=kind, message=_one_line(exc))
            raise
        model = result if kind.endswith("load_model") else (args[0] if args else kwargs.get("model"))
        if model is not None:
            probe.guard("restore", probe.registry.add, "model", model)
        return result

    return load


def _h5_close(probe: Any, original: Any) -> Any:
    def close(self: Any) -> Any:
        if getattr(self, "mode", None) == "w" and probe.armed:
            target = getattr(self, "path_or_io", "")
            name = os.path.basename(str(target)) if not hasattr(target, "getvalue") else "an in-memory file"
            probe.guard("save", probe.torn_write_point, f"HDF5 file {name} written but not closed")
        return original(self)

    return close


def _path(filepath: Any) -> Any:
    try:
        return os.fspath(filepath)
    except TypeError:
        return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def seed(probe: Any, keras: Any) -> None:
    keras.utils.set_random_seed(probe.config.seed)


