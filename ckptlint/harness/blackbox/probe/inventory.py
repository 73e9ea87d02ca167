"""Read the training state the program holds, grouped into the harness's components, and write it.

The objects come from what the probe saw the program use: optimizers that applied updates, Keras models
that were fit, saved or loaded, and tf.train.Checkpoint objects (their children name step counters,
generators and anything else the program chose to save). Every variable lands in exactly one component:

  model weights                    variables an optimizer trains, then the models' other weights
  optimizer slots/iterations/learning rate[<optimizer name>]
  RNG                              Keras SeedGenerator states, tf.random.Generator states
  state[<checkpoint key>]          other variables a checkpoint holds (step and epoch counters)

Within a component variables keep a stable order, so two processes running the same program can be
compared position by position, as TF object checkpoints and Keras optimizers themselves match them.
The file format is the one ckptlint.harness.snapshot.Snapshot reads (.npz arrays + .json index).
"""

from __future__ import annotations

import gc
import json
import sys
from typing import Any, Optional

MODEL, RNG = "model weights", "RNG"


class Inventory:
    """Where each piece of state lives (variables, or a function computing the learning rate); read later,
    eagerly (`read`) or as graph tensors fed to a py_function (`tensors`), so that inside a train step the
    reads are ordered after the forward pass's own writes (BatchNorm statistics, seed generators)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, Any]] = []   # (component, key, variable or zero-argument function)
        self.kinds: dict[str, str] = {}
        self.optimizers: list[str] = []
        self._counts: dict[str, int] = {}
        self._seen: set[int] = set()

    def add(self, component: str, kind: str, source: Any, label: Optional[str] = None) -> None:
        if source is None or id(source) in self._seen:
            return
        self._seen.add(id(source))
        index = self._counts.get(component, 0)
        self._counts[component] = index + 1
        self.kinds.setdefault(component, kind)
        self.entries.append((component, f"{index:03d} {label or _path(source)}", source))

    def exclude(self, ids: set[int]) -> None:
        """Never add these objects (by id): they are not training state."""
        self._seen |= ids

    def seen(self, variable: Any) -> bool:
        return id(variable) in self._seen

    def read(self) -> list[Any]:
        return [_read(source() if _is_function(source) else source) for _c, _k, source in self.entries]

    def tensors(self) -> list[Any]:
        import tensorflow as tf

        out = []
        for _c, _k, source in self.entries:
            value = source() if _is_function(source) else _tensor(source)
            out.append(tf.identity(value))
        return out


def collect(registry: Any) -> Inventory:
    gc.collect()  # a model the program dropped (reference cycles keep Keras models alive) is not its state
    inv = Inventory()
    inv.exclude(registry.bookkeeping())
    stale = registry.stale
    optimizers = [o for o in registry.live("optimizer") if not stale(o)]
    models = [m for m in registry.live("model") if not stale(getattr(m, "optimizer", None))]
    checkpoints = [c for c in registry.live("checkpoint")
                   if not any(stale(child) or stale(getattr(child, "optimizer", None)) for _k, child in _children(c))]
    for ckpt in checkpoints:
        for _key, child in _children(ckpt):
            if _is_model(child) and child not in models:
                models.append(child)
            elif _is_optimizer(child) and child not in optimizers:
                optimizers.append(child)
    for model in models:
        opt = getattr(model, "optimizer", None)
        if _is_optimizer(opt) and opt not in optimizers:
            optimizers.append(opt)
    for opt in optimizers:
        for variable in _trained_variables(opt):
            inv.add(MODEL, "model", variable)
    for model in models:
        for variable in _safe_list(lambda: model.weights):
            inv.add(MODEL, "model", variable)
    for opt in optimizers:
        _add_optimizer(inv, opt)
    for model in models:
        for variable in _safe_list(lambda: model.variables):  # Keras 3: weights plus seed-generator states
            inv.add(RNG, "rng", variable)
    for ckpt in checkpoints:
        for key, child in _children(ckpt):
            _add_checkpoint_child(inv, key, child)
    _add_global_generators(inv)
    return inv


def write(inv: Inventory, values: list[Any], path: str, meta: dict[str, Any]) -> None:
    import numpy as np

    arrays: dict[str, Any] = {}  # Any: numpy's stub checks **arrays against savez's allow_pickle: bool
    index: list[list[str]] = []
    components: list[str] = []
    for (component, key, _source), value in zip(inv.entries, values):
        arrays[f"a{len(index)}"] = np.array(value)
        index.append([component, key])
        if component not in components:
            components.append(component)
    np.savez(path + ".npz", **arrays)
    document = {"index": index, "kinds": inv.kinds, "built_over": {}, "components": components,
                "optimizers": inv.optimizers, **meta}
    with open(path + ".json", "w", encoding="utf-8") as fh:
        json.dump(document, fh)


# -- optimizers ----------------------------------------------------------------------------------------------


def _add_optimizer(inv: Inventory, opt: Any) -> None:
    name = str(getattr(opt, "name", None) or type(opt).__name__)
    inv.optimizers.append(name)
    iterations = getattr(opt, "iterations", None)
    lr_variable = getattr(opt, "_learning_rate", None)
    if _is_variable(iterations):
        inv.add(f"optimizer iterations[{name}]", "iterations", iterations, "iterations")
    for variable in _optimizer_variables(opt):
        if variable is iterations or variable is lr_variable:
            continue
        inv.add(f"optimizer slots[{name}]", "slots", variable)
    if _is_variable(lr_variable):
        inv._seen.add(id(lr_variable))

    def learning_rate() -> Any:
        """The rate the next update will use (a schedule is evaluated at the current iteration)."""
        lr = opt.learning_rate
        return lr() if callable(lr) and not _is_variable(lr) else lr

    if hasattr(opt, "learning_rate"):
        inv.add(f"learning rate[{name}]", "lr", learning_rate, "learning_rate")


def _trained_variables(opt: Any) -> list[Any]:
    found = getattr(opt, "_trainable_variables", None)  # Keras 3
    if found is None:
        found = getattr(opt, "_var_list", None)  # tf_keras optimizers
    return list(found or [])


def _optimizer_variables(opt: Any) -> list[Any]:
    variables = getattr(opt, "variables", None)
    if callable(variables):  # tf_keras legacy OptimizerV2: a method
        variables = _safe_list(variables)
    return list(variables or [])


# -- checkpoints -----------------------------------------------------------------------------------------------


def _children(ckpt: Any) -> list[tuple[str, Any]]:
    try:
        children = ckpt._trackable_children()
    except Exception:
        return []
    return [(k, v) for k, v in children.items() if k != "save_counter"]


def _add_checkpoint_child(inv: Inventory, key: str, child: Any) -> None:
    tf = sys.modules.get("tensorflow")
    if _is_variable(child):
        inv.add(f"state[{key}]", "state:variable", child, key)
    elif tf is not None and isinstance(child, tf.random.Generator):
        inv.add(RNG, "rng", child.state, f"{key} (tf.random.Generator)")
    elif _is_model(child) or _is_optimizer(child):
        return
    elif tf is not None and isinstance(child, tf.__internal__.tracking.Trackable):
        try:
            nodes = tf.train.TrackableView(child).descendants()
        except Exception:
            return
        for node in nodes:
            if _is_variable(node) and not inv.seen(node):
                inv.add(f"state[{key}]", "state:trackable", node)


def _add_global_generators(inv: Inventory) -> None:
    ops = sys.modules.get("tensorflow.python.ops.stateful_random_ops")
    generator = getattr(ops, "global_generator", None) if ops is not None else None
    if generator is not None:
        inv.add(RNG, "rng", generator.state, "tf.random global generator")
    state = sys.modules.get("keras.src.backend.common.global_state")
    if state is not None:
        seed_generator = state.get_global_attribute("global_seed_generator")
        if seed_generator is not None:
            inv.add(RNG, "rng", getattr(seed_generator, "state", None), "keras global SeedGenerator")


# -- helpers ------------------------------------------------------------------------------------------------------


def _is_variable(obj: Any) -> bool:
    for module_name, attr in (("keras", "Variable"), ("tensorflow", "Variable")):
        module = sys.modules.get(module_name)
        cls = getattr(module, attr, None) if module is not None else None
        if cls is not None and isinstance(obj, cls):
            return True
    return False


def _is_model(obj: Any) -> bool:
    for module_name in ("keras", "tf_keras"):
        module = sys.modules.get(module_name)
        cls = getattr(module, "Model", None) if module is not None else None
        if cls is not None and isinstance(obj, cls):
            return True
    return False


def _is_optimizer(obj: Any) -> bool:
    if obj is None:
        return False
    return hasattr(obj, "apply_gradients") and hasattr(obj, "iterations")


def _safe_list(getter: Any) -> list[Any]:
    try:
        return list(getter() or [])
    except Exception:
        return []


def _path(variable: Any) -> str:
    return str(getattr(variable, "path", None) or getattr(variable, "name", "?")).removesuffix(":0")


def _is_function(source: Any) -> bool:
    return callable(source) and not _is_variable(source) and not hasattr(source, "numpy")


def _tensor(variable: Any) -> Any:
    value = getattr(variable, "value", None)
    return value() if callable(value) else (value if value is not None else variable)


def _read(variable: Any) -> Any:
    import numpy as np

    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return np.array(value)
