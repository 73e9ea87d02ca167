"""tf_keras (Keras 2, `TF_USE_LEGACY_KERAS=1`): optimizer updates and `fit`'s epochs and losses.

Its checkpoints go through tf.train.Checkpoint (covered by tf_patches); its `.h5`/`.keras` files are
noted as plain-file saves.
"""

from __future__ import annotations

import threading
from typing import Any

from . import notify
from .patching import wrap

_depth = threading.local()


def install(probe: Any, tf_keras: Any) -> None:
    classes = []
    try:
        from tf_keras.src.optimizers import optimizer as new_optimizer

        classes.append(new_optimizer.Optimizer)
    except ImportError:
        pass
    try:
        from tf_keras.src.optimizers.legacy import optimizer_v2

        classes.append(optimizer_v2.OptimizerV2)
    except ImportError:
        pass
    for cls in classes:
        wrap(cls, "apply_gradients", lambda original: _apply_gradients(probe, original))
    wrap(tf_keras.Model, "fit", lambda original: _fit(probe, tf_keras, original))


def _apply_gradients(probe: Any, original: Any) -> Any:
    def apply_gradients(self: Any, grads_and_vars: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_depth, "value", 0)
        if probe.disabled or depth > 0:
            return original(self, grads_and_vars, *args, **kwargs)
        pairs = list(grads_and_vars)
        variables = [v for _g, v in pairs]
        _depth.value = depth + 1
        try:
            gate = probe.guard("optimizer update", _before, probe, self, variables)
            if gate is not None:
                import tensorflow as tf

                with tf.control_dependencies([gate]):
                    result = original(self, pairs, *args, **kwargs)
            else:
                result = original(self, pairs, *args, **kwargs)
            probe.guard("optimizer update", notify.after_update, probe, variables, self)
            return result
        finally:
            _depth.value = depth

    return apply_gradients


def _before(probe: Any, optimizer: Any, variables: list[Any]) -> Any:
    probe.registry.add("optimizer", optimizer)
    probe.registry.optimizer_starts(optimizer, probe.updates)
    if hasattr(optimizer, "_create_all_weights"):  # legacy OptimizerV2 creates its slots lazily
        optimizer._create_all_weights(variables)
    elif hasattr(optimizer, "build") and not getattr(optimizer, "_built", True):
        optimizer.build(variables)
    return notify.before_update(probe)


def _fit(probe: Any, tf_keras: Any, original: Any) -> Any:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        callback = probe.guard("fit callback", _callback, probe, tf_keras, self, kwargs)
        if callback is not None:
            kwargs["callbacks"] = [callback, *(kwargs.get("callbacks") or [])]
        return original(self, *args, **kwargs)

    return fit


def _callback(probe: Any, tf_keras: Any, model: Any, kwargs: dict[str, Any]) -> Any:
    if kwargs.get("callbacks") is not None and not isinstance(kwargs["callbacks"], (list, tuple)):
        return None
    probe.registry.add("model", model)
    probe.emit("fit", epochs=kwargs.get("epochs"), initial_epoch=kwargs.get("initial_epoch", 0), n=probe.updates)

    class CkptlintProbe(tf_keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            probe.guard("fit callback", probe.emit, "epoch", epoch=int(epoch), n=probe.updates)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is not None:
                probe.guard("fit callback", probe.note_loss, float(loss))

    return CkptlintProbe()
