"""Random-number state: where a training step draws randomness from, and whether a checkpoint can hold it.

Sources read as the `rng` component (each one a variable of it):
  - Keras 3 `SeedGenerator` states of the model's layers (Dropout, GaussianNoise, random augmentation).
    They are not in `model.weights`, so neither `tf.train.Checkpoint(model=...)` nor the Keras file formats
    save them: a resumed run draws other masks.
  - `tf.random.Generator`s found in the train step's reach, and TensorFlow's global generator.
  - NumPy's and Python's global random state, when training consumed them.
Sources that cannot be read at all: stateful `tf.random.*` ops (`tf.random.normal` inside a `tf.function`)
keep a position inside the op kernel, seeded from the global and op seeds; a fresh process starts those
streams again and no checkpoint can hold them. They are found by reading the traced graphs.

`carry_over` copies saved RNG state into a restored setup: if the resumed run is then identical, the RNG
streams explain the whole divergence (the report says so, and what would hold them).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

RNG = "rng"

STATEFUL_RANDOM_OPS = frozenset({
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "RandomShuffle",
    "Multinomial", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "ParameterizedTruncatedNormal",
    "RandomCrop",
})


@dataclass
class RngSource:
    key: str  # "dropout: seed generator", "tf.random global generator", "numpy global random state"
    kind: str  # seed-generator | generator | global-generator | numpy | python
    read: Callable[[], np.ndarray]
    write: Callable[[np.ndarray], None]


def rng_sources(setup: Any) -> list[RngSource]:
    """Every RNG state the setup's training can draw from, in a stable order."""
    import tensorflow as tf

    sources: list[RngSource] = []
    for key, generator in _seed_generators(setup):
        sources.append(RngSource(key, "seed-generator", _reader(generator.state), _assigner(generator.state)))
    from ckptlint.harness.discover import discover_cached

    for path, gen in discover_cached(setup).generators.items():
        sources.append(RngSource(f"{path}: tf.random.Generator", "generator", _reader(gen.state), _resetter(gen)))
    if getattr(tf.random, "get_global_generator", None) is not None:
        gen = tf.random.get_global_generator()
        sources.append(RngSource("tf.random global generator", "global-generator", _reader(gen.state),
                                 _resetter(gen)))
    sources.append(RngSource("numpy global random state", "numpy", _numpy_state, _set_numpy_state))
    sources.append(RngSource("python random module state", "python", _python_state, _set_python_state))
    return sources


def _seed_generators(setup: Any) -> list[tuple[str, Any]]:
    """Keras 3 SeedGenerators of the model's layers (and of layers found outside Setup.model)."""
    import keras

    from ckptlint.harness.discover import discover_cached

    roots: list[Any] = []

    def add_roots(obj: Any) -> None:
        if isinstance(obj, keras.layers.Layer):
            roots.append(obj)
        elif isinstance(obj, dict):
            for value in obj.values():
                add_roots(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                add_roots(value)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            import tensorflow as tf

            if isinstance(obj, tf.Module):  # a tf.Module holding Keras models (a GAN container)
                for value in vars(obj).values():
                    if isinstance(value, keras.layers.Layer):
                        roots.append(value)

    add_roots(setup.model)
    roots += list(discover_cached(setup).layers.values())
    found: list[tuple[str, Any]] = []
    seen: set[int] = set()
    for root in roots:
        layers = root._flatten_layers() if hasattr(root, "_flatten_layers") else [root]
        for layer in layers:
            for generator in getattr(layer, "_seed_generators", []) or []:
                if id(generator) not in seen and getattr(generator, "state", None) is not None:
                    seen.add(id(generator))
                    found.append((f"{layer.name}: seed generator", generator))
    return found


def _reader(variable: Any) -> Callable[[], np.ndarray]:
    return lambda: np.array(variable.numpy())


def _assigner(variable: Any) -> Callable[[np.ndarray], None]:
    return lambda value: variable.assign(value)


def _resetter(generator: Any) -> Callable[[np.ndarray], None]:
    return lambda value: generator.reset(value)


def _numpy_state() -> np.ndarray:
    state = np.random.get_state(legacy=True)  # the default, spelled out: numpy's stubs assume legacy=False
    assert isinstance(state, tuple)  # the global RandomState is an MT19937, whose legacy state is a tuple
    name, keys, pos, has_gauss, cached = state
    return np.concatenate([keys.astype(np.int64), [pos, has_gauss], np.array([cached]).view(np.int64)])


def _set_numpy_state(value: np.ndarray) -> None:
    keys = value[:624].astype(np.uint32)
    cached = value[626:627].view(np.float64)[0]
    np.random.set_state(("MT19937", keys, int(value[624]), int(value[625]), float(cached)))


def _python_state() -> np.ndarray:
    version, internal, gauss = random.getstate()
    flag = [0, 0] if gauss is None else [1, int(np.array([gauss]).view(np.int64)[0])]
    return np.array([version, *internal, *flag], dtype=np.int64)


def _set_python_state(value: np.ndarray) -> None:
    ints = [int(v) for v in value]
    gauss = None if ints[-2] == 0 else float(np.array([ints[-1]]).view(np.float64)[0])
    random.setstate((ints[0], tuple(ints[1:-2]), gauss))


def read_rng(setup: Any) -> dict[str, np.ndarray]:
    """Current value of every RNG source, keyed like the other snapshot components ("000 <key>")."""
    return {f"{i:03d} {s.key}": s.read() for i, s in enumerate(rng_sources(setup))}


def carry_over(setup: Any, saved: dict[str, np.ndarray]) -> list[str]:
    """Write saved RNG values into `setup`'s sources (matched by position and key); returns the keys written."""
    written = []
    for (key, value), source in zip(saved.items(), rng_sources(setup)):
        if key.split(" ", 1)[1] == source.key and source.read().shape == value.shape:
            source.write(value)
            written.append(source.key)
    return written


@dataclass
class RandomOp:
    op: str  # "RandomStandardNormal"
    function: str  # the tf.function it was traced in
    where: Optional[str]  # the user's file and line that created it


def stateful_random_ops(setup: Any) -> list[RandomOp]:
    """Stateful tf.random ops in the traced graphs of the functions training runs (the train step's
    tf.functions and a compiled model's train_function). Their position lives in the op kernel."""
    from ckptlint.harness.discover import discover_cached
    from ckptlint.harness.userfault import is_user_file

    functions = dict(discover_cached(setup).functions)
    for name, model in _models(setup):
        train_function = getattr(model, "train_function", None)
        if train_function is not None and hasattr(train_function, "python_function"):
            functions[f"{name}.train_function"] = train_function
    ops: list[RandomOp] = []
    seen: set[tuple[str, str]] = set()
    for fname, function in functions.items():
        for concrete in _concrete_functions(function):
            for op in concrete.graph.get_operations():
                if op.type not in STATEFUL_RANDOM_OPS:
                    continue
                where = None
                for frame in reversed(getattr(op, "traceback", None) or []):
                    if is_user_file(frame.filename):
                        where = f"{frame.filename}:{frame.lineno} in {frame.name}"
                        break
                if (op.type, str(where)) not in seen:
                    seen.add((op.type, str(where)))
                    ops.append(RandomOp(op.type, fname, where))
    return ops


def _models(setup: Any) -> list[tuple[str, Any]]:
    import keras

    if isinstance(setup.model, keras.Model):
        return [("model", setup.model)]
    return []


def _concrete_functions(function: Any) -> list[Any]:
    for name in ("_list_all_concrete_functions", "_list_all_concrete_functions_for_serialization"):
        lister = getattr(function, name, None)
        if lister is not None:
            try:
                return list(lister())
            except Exception:  # a function TF cannot list: nothing to read
                return []
    return []
