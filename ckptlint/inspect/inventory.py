"""The format-independent description of what a checkpoint artifact holds.

Every reader produces an `Inventory`; verdicts, rendering and diffing only ever see this, so a new
format is one new reader and nothing else. Values are read on demand through a `ValueSource`, because
listing a large checkpoint must not load every tensor into memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ckptlint.inspect.limits import DEFAULT_LIMITS

# Component names (documented in ckptlint/inspect/__init__.py). Kept here so every module agrees.
MODEL = "model"
OPTIMIZER = "optimizer"
ITERATIONS = "iterations"
STEP_COUNTERS = "step counters"
SAVE_COUNTER = "save counter"
RNG = "rng"
DATA_ITERATOR = "data iterator"
OTHER = "other"

COMPONENTS: tuple[str, ...] = (MODEL, OPTIMIZER, ITERATIONS, STEP_COUNTERS, SAVE_COUNTER, RNG, DATA_ITERATOR, OTHER)


class ValueSource(Protocol):
    """Something that reads stored tensors by storage key (an open HDF5 file, a TF tensor bundle).

    `read` returns a whole tensor and refuses large ones; `chunks` yields a tensor's elements in C
    order a bounded number of bytes at a time, which is how anything but a scalar is compared.
    """

    def read(self, key: str) -> Any: ...

    def chunks(self, key: str, chunk_bytes: int) -> Iterator[Any]: ...

    def close(self) -> None: ...


@dataclass
class Variable:
    """One stored tensor, classified.

    `path` is the canonical, format-independent-where-possible name used to match variables across
    artifacts (optimizer variables are `<optimizer>/vars/N`, the positional index Keras 3 uses in every
    format); `key` is where the format actually stores it.
    """

    path: str
    key: str
    shape: tuple[int, ...]
    dtype: str
    component: str
    optimizer: str | None = None  # path of the owning optimizer, for optimizer/iterations variables
    slot_kind: str | None = None  # "momentum", "velocity", ... for optimizer slots
    slot_for: str | None = None  # path of the model variable a slot belongs to (None: no match)
    order: int = 0  # position among the artifact's model variables (model order), for positional matching
    readable: bool = True  # False for tensors numpy cannot hold (tf.data iterator state is a variant)
    shape_known: bool = True  # False when the format does not record it (Orbax np.ndarray leaves)
    why_unreadable: str | None = None  # said instead of the dtype when values cannot be read
    _source: ValueSource | None = field(default=None, repr=False, compare=False)

    @property
    def is_slot(self) -> bool:
        return self.slot_kind is not None

    def values(self) -> Any:
        """The tensor as a numpy array, read now (not cached: inventories of large models stay small).

        Tensors over `Limits.max_whole_read` are refused: read those with `chunks()`."""
        if self._source is None or not self.readable:
            raise ValueError(f"{self.path}: values cannot be read ({self.why_unreadable or self.dtype})")
        return self._source.read(self.key)

    def chunks(self, chunk_bytes: int = DEFAULT_LIMITS.chunk_bytes) -> Iterator[Any]:
        """The tensor's elements in C order as flat numpy arrays of at most about `chunk_bytes`."""
        if self._source is None or not self.readable:
            raise ValueError(f"{self.path}: values cannot be read ({self.why_unreadable or self.dtype})")
        return self._source.chunks(self.key, chunk_bytes)


@dataclass
class OptimizerInfo:
    """One optimizer found in the artifact: where it lives and the shape of its state."""

    path: str
    name: str | None  # "adam", "sgd", ... (from the config or the weights file), None if unknown
    slot_kinds: dict[str, int] = field(default_factory=dict)  # kind -> number of slot variables
    n_trainable: int | None = None  # number of model variables the slots are kept for
    iterations_path: str | None = None


@dataclass
class Inventory:
    """What one artifact holds.

    `format` is one of "tf-checkpoint", "savedmodel", "keras", "weights-h5", "legacy-h5", "orbax"; `read_path` is
    the file (or checkpoint prefix) actually read, which differs from `path` for directories.
    """

    path: str
    format: str
    read_path: str
    variables: list[Variable]
    optimizers: list[OptimizerInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    declared_optimizer: str | None = None  # optimizer named in the model's compile config, if any
    _source: ValueSource | None = field(default=None, repr=False, compare=False)
    _by_path: tuple[int, dict[str, Variable]] | None = field(default=None, repr=False, compare=False)

    def components_present(self) -> set[str]:
        """Names of the components with at least one variable; "optimizer" also when only `iterations`."""
        present = {v.component for v in self.variables}
        if self.optimizers or ITERATIONS in present:
            present.add(OPTIMIZER)
        return present

    def by_component(self, component: str) -> list[Variable]:
        return [v for v in self.variables if v.component == component]

    def by_path(self) -> dict[str, Variable]:
        """Variables by canonical path, built once (rebuilt if variables are added): rendering looks up
        every scalar, and a fresh dict per lookup made inspecting 8,000 variables quadratic."""
        if self._by_path is None or self._by_path[0] != len(self.variables):
            self._by_path = (len(self.variables), {v.path: v for v in self.variables})
        return self._by_path[1]

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def __enter__(self) -> Inventory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def slot_kind_from_attr(attr: str) -> str:
    """`_momentums` -> "momentum", `_velocities` -> "velocity": Keras 3 names slot lists in the plural."""
    name = attr.lstrip("_")
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name
