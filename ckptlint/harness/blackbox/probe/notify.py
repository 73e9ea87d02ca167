"""Tell the probe about an optimizer update from wherever the update runs.

Eagerly, the probe is called directly. Inside a TensorFlow graph (a `tf.function`, `model.fit`'s train
function) Python runs only while tracing, so the probe is called from a `tf.py_function` placed in the
graph: before the update (with the update ops depending on it) and after it (fed a checksum that reads
every updated variable, so it runs once they are written). XLA-compiled steps and other backends
cannot call back into Python mid-step; there `model.fit`'s batch callback does the counting instead.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any, Optional


def backend_is_tensorflow() -> bool:
    keras = sys.modules.get("keras")
    if keras is None:
        return "tensorflow" in sys.modules
    try:
        return keras.backend.backend() == "tensorflow"
    except Exception:
        return False


def _in_xla(tf: Any) -> bool:
    try:
        from tensorflow.python.ops import control_flow_util

        return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))
    except Exception:
        return False


def before_update(probe: Any) -> Optional[Any]:
    """Returns a tensor the update must wait for (graph mode), or None (called now, or not callable)."""
    tf = sys.modules.get("tensorflow")
    if tf is None or not backend_is_tensorflow() or tf.executing_eagerly():
        probe.guard("before update", probe.before_update)
        return None
    if _in_xla(tf):
        _uncounted(probe)
        return None

    from .inventory import collect

    # The state is read by graph ops fed to the py_function: TF orders each read after the step's own
    # writes to that variable, which a read from inside the callback would not be.
    inventory = collect(probe.registry)
    tensors = inventory.tensors()

    def callback(*values: Any) -> Any:
        if probe.halt_due() or probe.pre_update_snapshot_due() is not None:
            probe.guard("before update", probe.before_update, (inventory, [v.numpy() for v in values]))
        return 0

    return tf.py_function(callback, tensors, Tout=tf.int64)


def after_update(probe: Any, variables: list[Any], optimizer: Any = None) -> None:
    tf = sys.modules.get("tensorflow")
    if tf is None or not backend_is_tensorflow() or tf.executing_eagerly():
        probe.guard("after update", probe.after_update, _python_checksum(variables), optimizer)
        return
    if _in_xla(tf):
        _uncounted(probe)
        return
    parts = [tf.reduce_sum(tf.cast(_tensor(v), tf.float64)) for v in variables]
    checksum = tf.add_n(parts) if parts else tf.constant(0.0, tf.float64)

    owner = weakref.ref(optimizer) if optimizer is not None else (lambda: None)

    def callback(value: Any) -> Any:
        probe.guard("after update", probe.after_update, float(value.numpy()), owner())
        return 0

    tf.py_function(callback, [checksum], Tout=tf.int64)


def _uncounted(probe: Any) -> None:
    if not probe.graph_uncounted:
        probe.graph_uncounted = True
        probe.guard("update count", probe.emit, "uncounted", where="an XLA-compiled step", n=probe.updates)


def _tensor(variable: Any) -> Any:
    value = getattr(variable, "value", None)
    return value() if callable(value) else (value if value is not None else variable)


def _python_checksum(variables: list[Any]) -> Optional[float]:
    try:
        import numpy as np

        return float(sum(np.sum(np.asarray(v.numpy() if hasattr(v, "numpy") else v), dtype=np.float64)
                         for v in variables))
    except Exception:
        return None
