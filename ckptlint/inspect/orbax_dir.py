"""Read Orbax checkpoint directories (`keras.callbacks.OrbaxCheckpoint`, orbax-checkpoint's
`CheckpointManager` and `PyTreeCheckpointer`) from their JSON metadata only.

Layout (measured with orbax-checkpoint 0.12 and Keras 3.15)::

    root/                     a CheckpointManager / OrbaxCheckpoint directory: one directory per step
      3/                      a step: `_CHECKPOINT_METADATA` names its items
        pytree/               an item (`default` for CheckpointManager, `pytree` for Keras): `_METADATA`
          _METADATA           holds the tree (every leaf's keys and value type, jax.Array shapes)
          manifest.ocdbt, d/, ocdbt.process_0/   the arrays, in a zstd-compressed OCDBT key-value store
          <param>/.zarray     (without OCDBT) zarr v2 array metadata, or <param>/zarr.json for zarr v3
        model_config/         Keras only: the model config as a string leaf (`_strings.json`)
      4.orbax-checkpoint-tmp/ a save in progress or interrupted: never read

Only JSON is parsed, each file read whole up to `Limits.max_json_bytes`; nothing from orbax, jax or
tensorstore is imported. Array values and, inside OCDBT, dtypes live in zstd-compressed data that the
standard library cannot read, so they are reported as unknown, never guessed. Keras' state tree names
every variable (`optimizer_variables/adam/iteration`, `..._kernel_momentum`), which is what classifies
them; a plain orbax tree is classified by the usual key names (`params`, `opt_state`, `step`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.inspect.inventory import (
    ITERATIONS,
    MODEL,
    OPTIMIZER,
    OTHER,
    RNG,
    STEP_COUNTERS,
    Inventory,
    OptimizerInfo,
    Variable,
)
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits
from ckptlint.inspect.safe_io import is_directory, is_regular_file, read_limited

STEP_METADATA = "_CHECKPOINT_METADATA"
TREE_METADATA = "_METADATA"
IN_PROGRESS = ".orbax-checkpoint-tmp"
UNKNOWN = "unknown"
NOT_READ = "in Orbax's zstd-compressed store, not read"
_NOT_ARRAYS = ("string", "Dict", "List", "Tuple", "None")
_MAX_KEYS = 100  # keys per leaf; real trees nest a handful of levels
_MAX_STEPS_LISTED = 10
_ZARR2_DTYPES = {"b1": "bool", "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64", "u1": "uint8",
                 "u2": "uint16", "u4": "uint32", "u8": "uint64", "f2": "float16", "f4": "float32", "f8": "float64",
                 "c8": "complex64", "c16": "complex128"}
# Keras' slot names are `<variable path with / as _>_<kind>`; the kinds Keras 3 optimizers create.
_SLOT_SUFFIX = re.compile(r"^(?P<owner>.+)_(?P<kind>momentum|velocity|velocity_hat|m|u|accumulator|linear|"
                          r"accumulated_grad|accumulated_delta_var|average_gradient)$")


def is_orbax_file_name(name: str) -> bool:
    return name in (STEP_METADATA, TREE_METADATA)


def looks_like_orbax(directory: Path, entries: list[str]) -> bool:
    """A step or item directory (its own metadata file), or a root holding step directories."""
    if any(is_orbax_file_name(name) for name in entries):
        return True  # the reader refuses a metadata "file" that is a FIFO or a directory, by name
    return any(_step_number(name) is not None and is_regular_file(directory / name / STEP_METADATA)
               for name in entries) or any(name.endswith(IN_PROGRESS) for name in entries)


def _step_number(name: str) -> int | None:
    return int(name) if name.isdigit() and len(name) < 20 else None


def _list(directory: Path, limits: Limits) -> list[str]:
    """Directory entries, refused past `max_zip_members` (the same bound as an archive's member count)."""
    names: list[str] = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                names.append(entry.name)
                if len(names) > limits.max_zip_members:
                    raise CkptlintError(f"{directory}: more than {limits.max_zip_members:,} entries")
    except OSError as exc:
        raise CkptlintError(f"{directory}: cannot list the directory: {exc.strerror or exc}") from None
    return sorted(names)


def _json(path: Path, limits: Limits) -> Any:
    """A metadata file parsed as JSON data (bounded size; nesting too deep is an error, not a crash)."""
    raw = read_limited(path, limits.max_json_bytes, f"{path}: Orbax metadata")
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise CkptlintError(f"{path}: Orbax metadata is nested too deeply to parse") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CkptlintError(f"{path}: Orbax metadata is not valid JSON ({str(exc)[:200]})") from None


def _steps(root: Path, names: list[str]) -> tuple[list[int], int]:
    """Committed step numbers, ascending, and how many saves are still in progress (or interrupted)."""
    steps = sorted(n for name in names if (n := _step_number(name)) is not None and is_directory(root / name))
    return steps, sum(1 for name in names if name.endswith(IN_PROGRESS))


def resolve_step(directory: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Path, list[str]]:
    """The step directory to read (the latest when given a root) and notes on the steps found."""
    names = _list(directory, limits)
    if STEP_METADATA in names or TREE_METADATA in names:
        return directory, []
    steps, pending = _steps(directory, names)
    notes = [f"{pending} save(s) in progress or interrupted (*{IN_PROGRESS}) were not read"] if pending else []
    if not steps:
        raise CkptlintError(f"{directory}: Orbax checkpoint directory without a committed step")
    shown = ", ".join(map(str, steps[-_MAX_STEPS_LISTED:]))
    more = f"{len(steps) - _MAX_STEPS_LISTED} earlier, " if len(steps) > _MAX_STEPS_LISTED else ""
    notes.insert(0, f"Orbax steps: {more}{shown}; reading the latest, {steps[-1]}")
    return directory / str(steps[-1]), notes


def _items(step: Path, limits: Limits) -> list[tuple[str, Path]]:
    """(item name, directory) for every item holding a tree; the step itself when it is the item."""
    if os.path.lexists(step / TREE_METADATA):
        return [("", step)]
    items = [(name, step / name) for name in _list(step, limits) if is_regular_file(step / name / TREE_METADATA)]
    if not items:
        raise CkptlintError(f"{step}: Orbax step without an item holding {TREE_METADATA}")
    return items


def _leaves(item_dir: Path, limits: Limits) -> tuple[list[tuple[tuple[str, ...], dict[str, Any]]], bool]:
    """(keys, value metadata) for every leaf of an item's tree, and whether its arrays are in OCDBT."""
    meta_path = item_dir / TREE_METADATA
    meta = _json(meta_path, limits)
    tree = meta.get("tree_metadata") if isinstance(meta, dict) else None
    if not isinstance(tree, dict):
        raise CkptlintError(f"{meta_path}: not Orbax tree metadata (no tree_metadata object)")
    leaves = []
    for label, leaf in tree.items():
        key_metadata = leaf.get("key_metadata") if isinstance(leaf, dict) else None
        if not isinstance(key_metadata, list) or not key_metadata or len(key_metadata) > _MAX_KEYS:
            raise CkptlintError(f"{meta_path}: leaf {str(label)[:100]!r} has no usable key_metadata")
        keys = tuple(str(k.get("key") if isinstance(k, dict) else k)[:200] for k in key_metadata)
        value = leaf.get("value_metadata")
        leaves.append((keys, value if isinstance(value, dict) else {}))
    return leaves, bool(meta.get("use_ocdbt", True))


def _dims(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value):
        return tuple(value)
    return None


def _zarr_dtype(text: Any) -> str:
    """`<f4` -> "float32"; zarr v3 and orbax's own names ("bfloat16") pass through."""
    if not isinstance(text, str):
        return UNKNOWN
    return _ZARR2_DTYPES.get(text.lstrip("<>|="), text[:40])


def _array_file(item_dir: Path, keys: tuple[str, ...], limits: Limits) -> tuple[tuple[int, ...] | None, str]:
    """Shape and dtype from a zarr array's own metadata (written only without OCDBT)."""
    param = item_dir / ".".join(keys)
    for name, shape_key, dtype_key in ((".zarray", "shape", "dtype"), ("zarr.json", "shape", "data_type")):
        if is_regular_file(param / name):
            meta = _json(param / name, limits)
            if isinstance(meta, dict):
                return _dims(meta.get(shape_key)), _zarr_dtype(meta.get(dtype_key))
    return None, UNKNOWN


def _component(keys: tuple[str, ...]) -> str:
    """Classify by name: Keras' state tree (`trainable_variables`, ...) or a plain training state."""
    top = keys[0]
    if top in ("trainable_variables", "non_trainable_variables"):
        return RNG if any("seed_generator" in k for k in keys) else MODEL
    if top == "optimizer_variables" or top in ("opt_state", "optimizer", "optimizer_state"):
        return ITERATIONS if keys[-1] in ("iteration", "iterations", "count") else OPTIMIZER
    if top == "metrics_variables":
        return OTHER
    if len(keys) == 1 and top in ("step", "epoch", "global_step"):
        return STEP_COUNTERS
    if top in ("rng", "rngs", "key", "seed"):
        return RNG
    return MODEL


def _string_leaf(item_dir: Path, limits: Limits) -> Any:
    """Keras' `model_config` item: the config JSON string, parsed as data (never deserialized)."""
    strings = item_dir / "_strings.json"
    if not is_regular_file(strings):
        return None
    outer = _json(strings, limits)
    text = outer.get("config") if isinstance(outer, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _is_array(value: dict[str, Any]) -> bool:
    """Strings (Keras' model config) and empty containers (`non_trainable_variables: {}`, stored as a
    `Dict` leaf that is skipped on restore) are leaves of the tree but not tensors."""
    return value.get("value_type") not in _NOT_ARRAYS and value.get("skip_deserialize") is not True


def _variables(items: list[tuple[str, Path]], limits: Limits) -> list[tuple[tuple[str, ...], Variable]]:
    """(tree keys, variable) for every array leaf; paths carry the item name only when two items hold
    arrays (Keras' `pytree` item beside its string-only `model_config` does not)."""
    tensors = []
    for item, item_dir in items:
        leaves, ocdbt = _leaves(item_dir, limits)
        arrays = [(keys, value) for keys, value in leaves if _is_array(value)]
        if arrays:
            tensors.append((item, item_dir, ocdbt, arrays))
    out = []
    for item, item_dir, ocdbt, arrays in tensors:
        for keys, value in arrays:
            shape = _dims(value.get("write_shape"))
            dtype = UNKNOWN
            if not ocdbt:
                file_shape, dtype = _array_file(item_dir, keys, limits)
                shape = shape if shape is not None else file_shape
            if shape is None and value.get("value_type") == "scalar":
                shape = ()
            path = "/".join(((item,) if len(tensors) > 1 and item else ()) + keys)
            key = f"{item}/{'.'.join(keys)}" if item else ".".join(keys)
            out.append((keys, Variable(path, key, shape or (), dtype, _component(keys), readable=False,
                                       shape_known=shape is not None, why_unreadable=NOT_READ)))
    return out


def _attach_optimizers(variables: list[tuple[tuple[str, ...], Variable]]) -> list[OptimizerInfo]:
    """Group optimizer variables by owner and pair Keras slots with their model variables by name."""
    by_flat_name = {"_".join(keys[1:]): v.path for keys, v in variables if v.component == MODEL}
    optimizers: dict[str, OptimizerInfo] = {}
    for keys, var in variables:
        if var.component not in (OPTIMIZER, ITERATIONS):
            continue
        # Keras: optimizer_variables/<optimizer name>/<variable>; a plain tree: opt_state/...
        named = keys[0] == "optimizer_variables" and len(keys) == 3
        item_prefix = var.path[: len(var.path) - len("/".join(keys))]
        owner = item_prefix + "/".join(keys[:2] if named else keys[:1])
        info = optimizers.setdefault(owner, OptimizerInfo(path=owner, name=keys[1] if named else None))
        var.optimizer = owner
        if var.component == ITERATIONS:
            info.iterations_path = var.path
            continue
        match = _SLOT_SUFFIX.match(keys[-1]) if named else None
        if match:
            var.slot_kind = match.group("kind")
            var.slot_for = by_flat_name.get(match.group("owner"))
            info.slot_kinds[var.slot_kind] = info.slot_kinds.get(var.slot_kind, 0) + 1
    for info in optimizers.values():
        counts = set(info.slot_kinds.values())
        info.n_trainable = counts.pop() if len(counts) == 1 else None
    return list(optimizers.values())


def read_orbax(path: str, directory: str, limits: Limits = DEFAULT_LIMITS) -> Inventory:
    """Inventory of the latest step of an Orbax checkpoint directory (or of the step given)."""
    from ckptlint.inspect.keras_v3 import declared_optimizer

    step, notes = resolve_step(Path(directory), limits)
    pairs = _variables(_items(step, limits), limits)
    if not pairs:
        raise CkptlintError(f"{step}: Orbax checkpoint without arrays")
    variables = [var for _, var in pairs]
    order = 0
    for var in variables:
        if var.component == MODEL:
            var.order, order = order, order + 1
    config = _string_leaf(step / "model_config", limits)
    inv = Inventory(path=path, format="orbax", read_path=str(step), variables=variables,
                    optimizers=_attach_optimizers(pairs), declared_optimizer=declared_optimizer(config))
    inv.notes.extend(notes)
    if all(v.dtype == UNKNOWN for v in variables):
        inv.notes.append("dtypes and values are inside Orbax's zstd-compressed OCDBT store and were not read "
                         "(shown as unknown)")
    return inv
