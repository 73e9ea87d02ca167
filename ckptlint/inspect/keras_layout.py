"""Interpret a Keras 3 optimizer stored positionally (`optimizer/vars/N` in .keras and .weights.h5).

Keras 3 writes `optimizer.variables` by position only: `iterations`, then `learning_rate` when it is a
variable (not a schedule), then the slots, interleaved per trainable variable (Adam: m0, v0, m1, v1, ...;
measured on Keras 3.15). Nothing in the file says which slot belongs to which weight, so this module
recovers it by aligning the slot shapes with the model's variable shapes, and names the slot kinds from
the optimizer's name when it is a known Keras optimizer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# optimizer name -> {slots per variable -> slot kinds in build order} (keras/src/optimizers/*.py build())
SLOT_KINDS: dict[str, dict[int, tuple[str, ...]]] = {
    "adam": {2: ("momentum", "velocity"), 3: ("momentum", "velocity", "velocity_hat")},
    "adamw": {2: ("momentum", "velocity"), 3: ("momentum", "velocity", "velocity_hat")},
    "nadam": {2: ("momentum", "velocity")},
    "lamb": {2: ("momentum", "velocity")},
    "adamax": {2: ("m", "u")},
    "sgd": {1: ("momentum",)},
    "lion": {1: ("momentum",)},
    "adagrad": {1: ("accumulator",)},
    "adadelta": {2: ("accumulated_grad", "accumulated_delta_var")},
    "ftrl": {2: ("accumulator", "linear")},
    "rmsprop": {1: ("velocity",), 3: ("velocity", "momentum", "average_gradient")},
}


@dataclass(frozen=True)
class StoredTensor:
    key: str
    shape: tuple[int, ...]
    dtype: str


@dataclass
class Layout:
    """Where each positional optimizer variable goes."""

    iterations: int | None  # index into the optimizer's vars
    learning_rate: int | None
    slots: dict[int, tuple[str, int | None]]  # var index -> (slot kind, index of the model variable or None)
    extra: list[int]  # optimizer variables that are neither (e.g. Nadam's u_product)
    slots_per_variable: int
    n_trainable: int


def _is_int_scalar(t: StoredTensor) -> bool:
    return t.shape == () and ("int" in t.dtype)


def _is_float_scalar(t: StoredTensor) -> bool:
    return t.shape == () and "float" in t.dtype


def _subsequence(wanted: list[tuple[int, ...]], model_shapes: list[tuple[int, ...]]) -> list[int] | None:
    """Indices of `model_shapes` matching `wanted` in order (greedy), or None."""
    out: list[int] = []
    j = 0
    for shape in wanted:
        while j < len(model_shapes) and model_shapes[j] != shape:
            j += 1
        if j == len(model_shapes):
            return None
        out.append(j)
        j += 1
    return out


def _align(slot_shapes: list[tuple[int, ...]], k: int, model_shapes: list[tuple[int, ...]]) -> list[int] | None:
    if k <= 0 or not slot_shapes or len(slot_shapes) % k:
        return None
    groups = [slot_shapes[i : i + k] for i in range(0, len(slot_shapes), k)]
    if any(len(set(g)) != 1 for g in groups):
        return None
    return _subsequence([g[0] for g in groups], model_shapes)


def base_name(name: str | None) -> str:
    """`adam_1` -> "adam": Keras numbers the default names of second and later optimizers."""
    return re.sub(r"_\d+$", "", (name or "").lower())


def _kinds(name: str | None, k: int) -> tuple[str, ...]:
    known = SLOT_KINDS.get(base_name(name), {}).get(k)
    return known if known else tuple(f"slot{i}" for i in range(k))


def layout(name: str | None, tensors: list[StoredTensor], model_shapes: list[tuple[int, ...]]) -> Layout:
    """Assign each of an optimizer's positional variables (given in index order) a role."""
    iterations = 0 if tensors and _is_int_scalar(tensors[0]) else None
    start = 0 if iterations is None else 1
    lr_candidates = [start + 1, start] if start < len(tensors) and _is_float_scalar(tensors[start]) else [start]
    preferred = sorted(SLOT_KINDS.get(base_name(name), {}))
    ks = preferred + [k for k in (1, 2, 3, 4) if k not in preferred]
    model_has_scalars = () in model_shapes
    for first in lr_candidates:
        rest = tensors[first:]
        # trailing scalars (Nadam's u_product) are not slots unless the model has scalar weights
        end = len(rest)
        while end > 0 and rest[end - 1].shape == () and not model_has_scalars:
            end -= 1
        slot_shapes = [t.shape for t in rest[:end]]
        for k in ks:
            owners = _align(slot_shapes, k, model_shapes) if model_shapes else None
            if owners is None:
                continue
            kinds = _kinds(name, k)
            slots: dict[int, tuple[str, int | None]] = {
                first + i: (kinds[i % k], owners[i // k]) for i in range(len(slot_shapes))}
            return Layout(
                iterations=iterations,
                learning_rate=start if first == start + 1 else None,
                slots=slots,
                extra=list(range(first + end, len(tensors))),
                slots_per_variable=k,
                n_trainable=len(owners),
            )
    # No alignment with the model (it changed, or lost layers): a slot is attributed only to a model
    # variable whose shape no other model variable shares; the rest have no matching model variable.
    first = lr_candidates[0]
    counts = Counter(model_shapes)
    unique = {s: i for i, s in enumerate(model_shapes) if counts[s] == 1}
    slots = {i: ("slot", unique.get(tensors[i].shape)) for i in range(first, len(tensors)) if tensors[i].shape != ()}
    extra = [i for i in range(first, len(tensors)) if i not in slots]
    return Layout(
        iterations=iterations,
        learning_rate=start if first == start + 1 else None,
        slots=slots,
        extra=extra,
        slots_per_variable=0,
        n_trainable=0,
    )
