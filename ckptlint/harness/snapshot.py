"""Take an inventory of every piece of training state, grouped into named components.

Component names (stable; rule tests and the JSON report use them):
  "model weights"                 every variable of the model (trainable and non-trainable, e.g. BatchNorm stats)
  "optimizer slots[<name>]"       the optimizer's per-variable state (Adam m/v, momentum), in position order
  "optimizer iterations[<name>]"  the optimizer's step count
  "learning rate[<name>]"         the learning rate the optimizer will use at its next step
  "state[<key>]"                  each entry of Setup.state (step counters, RNG state, metrics, iterators)
  "rng"                           random-number state the setup draws from without declaring it: Keras seed
                                  generators of the layers, tf.random Generators in the train step's reach,
                                  TensorFlow's global generator, NumPy's and Python's global state (rng.py)
  "data position"                 only when Setup.batch is None: the next batch of every tf.data iterator in
                                  Setup.state or found in the train step's reach (discover.py), or not
                                  observable when there is none

Variables are matched across processes by position inside their component (as TF object checkpoints and
Keras optimizers themselves do), each shown with its current path. A tf.data iterator's "value" is the next
element it would yield, read without consuming it (the iterator is checkpointed to a temporary directory,
read once, and rewound).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ckptlint.harness.contract import Setup

MODEL = "model weights"
DATA = "data position"


def slots_name(name: str) -> str:
    return f"optimizer slots[{name}]"


def iterations_name(name: str) -> str:
    return f"optimizer iterations[{name}]"


def lr_name(name: str) -> str:
    return f"learning rate[{name}]"


def state_name(key: str) -> str:
    return f"state[{key}]"


@dataclass
class Snapshot:
    """component -> ordered {variable key -> value}, plus what each component is."""

    values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    # kept for readers built on the earlier layout (the black-box mode passes it on); the factory mode no
    # longer builds optimizers itself, so it leaves this empty
    built_over: dict[str, Optional[list[int]]] = field(default_factory=dict)

    def save(self, path: str) -> None:
        arrays: dict[str, Any] = {}  # Any: numpy's stub checks **arrays against savez's allow_pickle: bool
        index: list[list[str]] = []
        for component, entries in self.values.items():
            for key, value in entries.items():
                arrays[f"a{len(index)}"] = value
                index.append([component, key])
        np.savez(path + ".npz", **arrays)
        meta = {"index": index, "kinds": self.kinds, "built_over": self.built_over, "components": list(self.values)}
        with open(path + ".json", "w", encoding="utf-8") as fh:
            json.dump(meta, fh)

    def filled_from(self, reference: "Snapshot") -> "Snapshot":
        """This snapshot, with positions it lacks taken from `reference` (another fresh setup: fresh setups
        are bit-identical, which the freshness check makes sure of)."""
        values = {c: dict(entries) for c, entries in self.values.items()}
        for component, ref_entries in reference.values.items():
            mine = values.setdefault(component, {})
            for pos, (key, value) in enumerate(ref_entries.items()):
                if pos >= len(mine):
                    mine[key] = value
        return Snapshot(values, {**reference.kinds, **self.kinds}, dict(self.built_over))

    @classmethod
    def load(cls, path: str) -> "Snapshot":
        with open(path + ".json", encoding="utf-8") as fh:
            meta = json.load(fh)
        snap = cls(values={c: {} for c in meta["components"]}, kinds=meta["kinds"],
                   built_over=meta.get("built_over", {}))
        with np.load(path + ".npz", allow_pickle=False) as data:
            for i, (component, key) in enumerate(meta["index"]):
                snap.values[component][key] = data[f"a{i}"]
        return snap


def model_variables(model: Any) -> list[Any]:
    """The model's variables in a stable order: Keras `.weights`, containers in order, else the object graph."""
    import keras
    import tensorflow as tf

    found: list[Any] = []
    seen: set[int] = set()

    def add(v: Any) -> None:
        if id(v) not in seen:
            seen.add(id(v))
            found.append(v)

    def walk(obj: Any) -> None:
        if isinstance(obj, (keras.Variable, tf.Variable)):
            add(obj)
        elif isinstance(obj, keras.layers.Layer) or _is_tf_keras_layer(obj):
            for v in obj.weights:
                add(v)
        elif isinstance(obj, dict):
            for value in obj.values():
                walk(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                walk(value)
        elif isinstance(obj, tf.__internal__.tracking.Trackable):
            for node in tf.train.TrackableView(obj).descendants():
                if isinstance(node, (keras.Variable, tf.Variable)):
                    add(node)
        else:
            raise TypeError(f"Setup.model is a {type(obj).__name__}, not a Keras model or trackable")

    walk(model)
    return found


def _is_tf_keras_layer(obj: Any) -> bool:
    """A tf_keras (Keras 2) layer or model: its `weights` are the model's; walking its object graph would
    also reach the optimizer it tracks."""
    return type(obj).__module__.startswith("tf_keras.") or any(
        c.__module__.startswith("tf_keras.") for c in type(obj).__mro__)


def weights_vector(setup: Setup) -> np.ndarray:
    """All model variables flattened into one float64 vector (for the per-step weight-difference curve)."""
    parts = [np.asarray(_read(v), dtype=np.float64).ravel() for v in model_variables(setup.model)]
    return np.concatenate(parts) if parts else np.zeros(0)


def take_snapshot(setup: Setup, data_position: bool, *, rng: bool = True) -> Snapshot:
    """Read every component's current values (host copies; nothing in TF is changed).

    Works inside a `tf.function` trace too (the first-update probe runs there): values are read eagerly.
    """
    import tensorflow as tf

    from ckptlint.harness.discover import discover_cached

    with tf.init_scope():
        snap = Snapshot()
        model_vars = model_variables(setup.model)
        snap.values[MODEL] = _keyed(model_vars)
        snap.kinds[MODEL] = "model"
        for name, opt in setup.optimizers.items():
            optimizer_components(snap, name, opt)
        iterators: dict[str, np.ndarray] = {}
        for key, obj in setup.state.items():
            try:
                kind, entries = _state_entries(obj)
            except TypeError as exc:
                raise TypeError(f"Setup.state[{key!r}]: {exc}") from None
            snap.values[state_name(key)] = entries
            snap.kinds[state_name(key)] = f"state:{kind}"
            if kind == "iterator":
                iterators.update({f"{key}/{k}": v for k, v in entries.items()})
        if rng:
            from ckptlint.harness.rng import RNG, read_rng

            snap.values[RNG] = read_rng(setup)
            snap.kinds[RNG] = "rng"
        if data_position:
            for path, iterator in discover_cached(setup).iterators.items():
                try:
                    iterators[f"{path}/next batch"] = peek_iterator(iterator)
                except (TypeError, ValueError, tf.errors.OpError):
                    continue
            snap.values[DATA] = iterators
            snap.kinds[DATA] = "data" if iterators else "data:unobservable"
    return snap


def optimizer_components(snap: Snapshot, name: str, opt: Any) -> None:
    """Slots, step count and next learning rate of one optimizer (any family: see optimizers.py)."""
    from ckptlint.harness import optimizers

    snap.values[slots_name(name)] = _keyed(optimizers.slot_variables(opt))
    snap.kinds[slots_name(name)] = "slots"
    iterations = optimizers.iterations_variable(opt)
    snap.values[iterations_name(name)] = {"iterations": _read(iterations)} if iterations is not None else {}
    snap.kinds[iterations_name(name)] = "iterations"
    try:
        lr = np.asarray(_read(optimizers.next_learning_rate(opt)), dtype=np.float64)
        snap.values[lr_name(name)] = {"learning_rate": lr}
    except Exception:  # an optimizer without a readable learning rate: nothing to compare
        snap.values[lr_name(name)] = {}
    snap.kinds[lr_name(name)] = "lr"


def _state_entries(obj: Any) -> tuple[str, dict[str, np.ndarray]]:
    import keras
    import tensorflow as tf

    if isinstance(obj, tf.random.Generator):
        return "generator", {"state": _read(obj.state)}
    if _is_iterator(obj):
        try:
            return "iterator", {"next batch": peek_iterator(obj)}
        except (TypeError, ValueError, tf.errors.OpError):
            return "iterator", {}  # this iterator cannot be checkpointed: its position is not observable
    if isinstance(obj, (keras.Variable, tf.Variable)):
        return "variable", {"value": _read(obj)}
    if isinstance(obj, keras.metrics.Metric):
        return "metric", _keyed(obj.variables)
    if isinstance(obj, (keras.layers.Layer, dict, list, tuple, tf.__internal__.tracking.Trackable)):
        return "trackable", _keyed(model_variables(obj))
    raise TypeError(f"a {type(obj).__name__} holds no TensorFlow state")


def _is_iterator(obj: Any) -> bool:
    import tensorflow as tf

    return isinstance(obj, (tf.data.Iterator, tf.distribute.DistributedIterator))


def peek_iterator(iterator: Any) -> np.ndarray:
    """The next element, flattened to float64, read without moving the iterator (checkpoint, read, rewind)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="ckptlint-peek-") as tmp:
        ckpt = tf.train.Checkpoint(iterator=iterator)
        path = ckpt.write(os.path.join(tmp, "it"))
        try:
            element = next(iterator)
        except StopIteration:
            return np.array([np.nan])  # exhausted: a value no real batch has
        finally:
            ckpt.read(path).expect_partial()
    parts = []
    for t in tf.nest.flatten(element):
        if hasattr(t, "values") and not hasattr(t, "numpy"):  # PerReplica
            t = tf.concat(list(t.values), axis=0)
        arr = np.asarray(t.numpy() if hasattr(t, "numpy") else t)
        if arr.dtype.kind in "SUO":
            arr = np.frombuffer(b"".join(np.asarray(arr).ravel().astype(bytes)), dtype=np.uint8)
        parts.append(arr.astype(np.float64).ravel())
    return np.concatenate(parts) if parts else np.zeros(0)


def keyed(variables: list[Any]) -> dict[str, np.ndarray]:
    """Variables as an ordered {"000 path": value} dict: the position makes duplicate paths distinct."""
    return _keyed(variables)


def _keyed(variables: list[Any]) -> dict[str, np.ndarray]:
    return {f"{i:03d} {_path(v)}": _read(v) for i, v in enumerate(variables)}


def _path(v: Any) -> str:
    return str(getattr(v, "path", None) or getattr(v, "name", "?")).removesuffix(":0")


def _read(v: Any) -> np.ndarray:
    try:
        value = v.numpy() if hasattr(v, "numpy") else v
        return np.array(value)
    except Exception as exc:
        # Keras on JAX: inside the jitted train step a variable reads as a tracer, while its `_value`
        # still holds the concrete value from before the step (synced back only after it)
        if type(exc).__name__ != "TracerArrayConversionError" or getattr(v, "_value", None) is None:
            raise
        return np.array(v._value)
