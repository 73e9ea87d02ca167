"""Find training state the Setup does not declare: what the train step reaches through its closure, the
globals it names, and the attributes of the objects it is bound to.

Real programs keep their data iterator inside a trainer object (Orbit's `StandardTrainer` creates
`self._train_iter` on the first `train()`), draw noise from a `tf.random.Generator` held by a class, and
compile their step with `tf.function`. Without finding these, a restarted iterator shows up only as a
divergence, and the report blames whichever component happens to differ. The walk is bounded (depth
and object count) and only reads attributes; it calls nothing.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 5
MAX_OBJECTS = 5000


@dataclass
class Found:
    """What the walk found, each with a readable path from the Setup ("train_step -> trainer._train_iter")."""

    iterators: dict[str, Any] = field(default_factory=dict)
    generators: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, Any] = field(default_factory=dict)  # tf.function objects
    layers: dict[str, Any] = field(default_factory=dict)  # Keras layers/models outside Setup.model


def discover(setup: Any) -> Found:
    """Walk from Setup.train_step (and Setup.batch) and collect stateful TF objects, each once."""
    import keras
    import tensorflow as tf

    found = Found()
    seen: set[int] = set()
    declared = {id(v) for v in setup.state.values()}
    model_ids = {id(setup.model)}
    iterator_types = (tf.data.Iterator, tf.distribute.DistributedIterator)
    function_type = tf.types.experimental.GenericFunction

    def visit(obj: Any, path: str, depth: int) -> None:
        if id(obj) in seen or len(seen) > MAX_OBJECTS or depth > MAX_DEPTH:
            return
        seen.add(id(obj))
        if isinstance(obj, iterator_types):
            if id(obj) not in declared:
                found.iterators[path] = obj
            return
        if isinstance(obj, tf.random.Generator):
            if id(obj) not in declared:
                found.generators[path] = obj
            return
        if isinstance(obj, function_type):
            found.functions[path] = obj
            python = getattr(obj, "python_function", None)
            if python is not None:
                visit(python, path, depth + 1)
            return
        if isinstance(obj, keras.layers.Layer):
            if id(obj) not in model_ids:
                found.layers[path] = obj
            return  # a model's own variables and seed generators are read from the model itself
        if isinstance(obj, (tf.Variable, keras.Variable, type, types.ModuleType, str, bytes, int, float, bool)):
            return
        if isinstance(obj, types.MethodType):
            visit(obj.__self__, path, depth + 1)
            visit(obj.__func__, path, depth + 1)
            return
        if isinstance(obj, types.FunctionType):
            for name, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
                try:
                    visit(cell.cell_contents, f"{path} -> {name}", depth + 1)
                except ValueError:  # an empty cell
                    continue
            for name in obj.__code__.co_names:
                if name in obj.__globals__:
                    visit(obj.__globals__[name], f"{path} -> {name}", depth + 1)
            return
        if isinstance(obj, dict):
            for key, value in list(obj.items())[:200]:
                visit(value, f"{path}[{key!r}]", depth + 1)
            return
        if isinstance(obj, (list, tuple, set)):
            for i, value in enumerate(list(obj)[:200]):
                visit(value, f"{path}[{i}]", depth + 1)
            return
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict) and _is_program_object(obj):
            for name, value in list(attributes.items()):
                visit(value, f"{path}.{name}", depth + 1)

    for root_name in ("train_step", "batch"):
        root = getattr(setup, root_name, None)
        if root is not None:
            visit(root, root_name, 0)
    fit = getattr(setup, "fit", None)
    if isinstance(fit, dict):
        for key, value in fit.items():
            visit(value, f"fit[{key!r}]", 1)
    return found


def _is_program_object(obj: Any) -> bool:
    """Objects of the training program's own classes (a trainer, a runner), including those built on
    tf.Module such as Orbit's trainers; not the internals of TensorFlow or Keras objects."""
    module = type(obj).__module__ or ""
    return not module.startswith(("tensorflow.", "keras.", "tf_keras.", "numpy", "builtins", "h5py"))


def discover_cached(setup: Any) -> Found:
    """discover(), once per Setup object (the walk is repeated for every snapshot otherwise)."""
    found = setup.__dict__.get("_ckptlint_found")
    if found is None:
        found = discover(setup)
        setup.__dict__["_ckptlint_found"] = found
    return found


def forget(setup: Any) -> None:
    """Drop the cached walk (after training created what the first step creates lazily)."""
    setup.__dict__.pop("_ckptlint_found", None)
