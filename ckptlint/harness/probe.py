"""Read the state the first update of a resumed run actually uses.

Right after a restore, part of the state may not exist yet: a subclassed model restored before its first
call has no variables (TF defers their restoration until they are created), and optimizers create their
slots on the first update. What counts is what that first update sees. The probe wraps each optimizer's
update entry points (`apply_gradients`, Keras 3's `apply`) and slot builders (`build`, tf_keras legacy's
`_create_all_weights`) for one training step: once the optimizer is built and before it changes anything,
it reads the model's variables and the optimizer's state. Inside a `tf.function` that moment is the trace,
where variables already hold their eager values, so the read is exact in graph mode too. It also records
which trainable variables the update received no gradient for: a restore into an unbuilt Keras 3 layer
can leave a second, unused kernel behind, which is not the variable the model trains.

Nothing is built or called that the user's own step would not build or call: the user's step creates the
model's variables and the slots, inside whatever strategy scope it runs in.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

import numpy as np

from ckptlint.harness import optimizers
from ckptlint.harness.contract import Setup
from ckptlint.harness.snapshot import (MODEL, Snapshot, _path, _read, model_variables, optimizer_components,
                                       slots_name)


class _Pending:
    """A value the traced step copies into `holder` on its first run."""

    def __init__(self, holder: Any) -> None:
        self.holder = holder


def _resolve(value: Any) -> np.ndarray:
    return _read(value.holder) if isinstance(value, _Pending) else value


class FirstUpdateProbe:
    """Context manager around one training step; `snapshot()` afterwards (None if no update happened)."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self._first_seen: dict[int, np.ndarray] = {}
        self._optimizer_snaps: dict[str, Snapshot] = {}
        self._no_gradient: set[int] = set()
        self._patched: list[tuple[Any, str]] = []
        self._pending: dict[str, list[tuple[Any, Any]]] = {}
        self._lock = threading.Lock()

    # -- patching ----------------------------------------------------------------------------------------

    def __enter__(self) -> "FirstUpdateProbe":
        for name, opt in self.setup.optimizers.items():
            for method in optimizers.update_method_names(opt):
                self._patch(opt, method, self._update_wrapper(name, opt, method))
            for method in optimizers.build_method_names(opt):
                self._patch(opt, method, self._build_wrapper(name, opt, method))
        return self

    def __exit__(self, *exc: Any) -> None:
        for opt, method in reversed(self._patched):
            try:
                object.__delattr__(opt, method)
            except AttributeError:
                pass
        self._patched.clear()

    def _patch(self, opt: Any, method: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        import tensorflow as tf

        original = getattr(opt, method)
        # called from inside the user's tf.function: autograph must run the probe as plain Python
        object.__setattr__(opt, method, tf.autograph.experimental.do_not_convert(make(original)))
        self._patched.append((opt, method))

    def _update_wrapper(self, name: str, opt: Any, method: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if method == "apply_gradients":
                    pairs = list(args[0] if args else kwargs.pop("grads_and_vars"))
                    args = (pairs, *args[1:])
                else:  # Keras 3 apply(grads, trainable_variables=None)
                    grads = list(args[0] if args else kwargs.get("grads", []))
                    variables = args[1] if len(args) > 1 else kwargs.get("trainable_variables")
                    pairs = list(zip(grads, variables)) if variables is not None else []
                self._pending.setdefault(name, pairs)
                if optimizers.is_built(opt) is True:
                    self._fire(name, opt)
                return original(*args, **kwargs)

            return wrapper

        return make

    def _build_wrapper(self, name: str, opt: Any, method: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                result = original(*args, **kwargs)
                if name in self._pending:  # built by an update, right before it changes anything
                    self._fire(name, opt)
                return result

            return wrapper

        return make

    # -- reading -----------------------------------------------------------------------------------------

    def _fire(self, name: str, opt: Any) -> None:
        import tensorflow as tf

        with self._lock:
            if name in self._optimizer_snaps:
                return
            tracing = tf.inside_function()
            with tf.init_scope():
                for v in model_variables(self.setup.model):
                    if id(v) not in self._first_seen:
                        self._first_seen[id(v)] = self._value_before_update(v, tracing)
                snap = Snapshot()
                optimizer_components(snap, name, opt)
            for key, v in zip(list(snap.values.get(slots_name(name), {})), optimizers.slot_variables(opt)):
                if snap.values[slots_name(name)][key].shape != tuple(v.shape):
                    snap.values[slots_name(name)][key] = self._value_before_update(v, tracing)
            self._optimizer_snaps[name] = snap
            for grad, variable in self._pending.get(name, []):
                if grad is None:
                    self._no_gradient.add(id(variable))

    def _value_before_update(self, variable: Any, tracing: bool) -> Any:
        """The variable's value now, read eagerly. A variable created while a tf.function is being traced
        may not hold its value until the function first runs; then a copy is taken by the graph itself,
        in program order before the update (TF orders ops on one variable as written), into a holder
        variable read after the step. The copy runs on the first call only."""
        import tensorflow as tf

        with tf.init_scope():
            value = _read(variable)
        if value.shape == tuple(variable.shape) or not tracing:
            return value
        try:
            with tf.init_scope():
                holder = tf.Variable(tf.zeros(variable.shape, variable.dtype), trainable=False)
                armed = tf.Variable(True, trainable=False)
            source = getattr(variable, "value", variable)

            def copy() -> Any:
                holder.assign(tf.identity(source))
                armed.assign(False)
                return tf.constant(True)

            tf.cond(armed, copy, lambda: tf.constant(False))
        except Exception:  # no holder possible here (e.g. a replica context): nothing better than now
            return value
        return _Pending(holder)

    @property
    def fired(self) -> bool:
        return bool(self._optimizer_snaps)

    def snapshot(self) -> Optional[Snapshot]:
        """Model weights as first seen by an update, plus each optimizer's state at its own first update."""
        if not self.fired:
            return None
        snap = Snapshot()
        seen = [v for v in model_variables(self.setup.model) if id(v) in self._first_seen]
        snap.values[MODEL] = {f"{i:03d} {_path(v)}": _resolve(self._first_seen[id(v)]) for i, v in enumerate(seen)}
        snap.kinds[MODEL] = "model"
        for opt_snap in self._optimizer_snaps.values():
            snap.values.update({c: {k: _resolve(v) for k, v in entries.items()} for c, entries in opt_snap.values.items()})
            snap.kinds.update(opt_snap.kinds)
        return snap

    def unused_variables(self) -> list[str]:
        """Keys (as in snapshot()) of model variables the first update had no gradient for: created, but
        not what the model computes with."""
        seen = [v for v in model_variables(self.setup.model) if id(v) in self._first_seen]
        return [f"{i:03d} {_path(v)}" for i, v in enumerate(seen) if id(v) in self._no_gradient]
