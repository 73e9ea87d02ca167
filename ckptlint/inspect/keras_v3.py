"""Read Keras 3 native artifacts: `.keras` archives and `.weights.h5` files.

Both use the Keras 3 weights store: every saveable object is an HDF5 group with a `vars` subgroup of
datasets named by position (`layers/dense/vars/0`, `optimizer/vars/3`). `config.json` is parsed as JSON
only; nothing it names is imported or deserialized, so Lambda layers and custom objects stay inert.
"""

from __future__ import annotations

import re
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.inspect import keras_layout
from ckptlint.inspect.h5source import DatasetInfo, H5Source, check_declared_total, h5py_module
from ckptlint.inspect.inventory import (
    ITERATIONS,
    MODEL,
    OPTIMIZER,
    RNG,
    STEP_COUNTERS,
    Inventory,
    OptimizerInfo,
    Variable,
)
from ckptlint.inspect.keras_zip import open_keras_archive
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits
from ckptlint.inspect.safe_io import first_line

_VARS = re.compile(r"^(?P<owner>.*?)/?vars/(?P<index>[0-9]+)$")


def natural_key(text: str) -> list[Any]:
    """`dense_2` before `dense_10`: h5py lists groups alphabetically, not in creation order.

    Pieces alternate text / number, so two keys always compare like with like."""
    parts = re.split(r"([0-9]+)", text)
    return [int(part) if i % 2 else part for i, part in enumerate(parts)]


def _snake(name: str) -> str:
    """Keras' `naming.to_snake_case`, which names layer groups in the weights store."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def _get(obj: Any, key: str) -> Any:
    """obj[key] when obj is a dict: config.json is untrusted, any value may have any type."""
    return obj.get(key) if isinstance(obj, dict) else None


_MAX_NESTING = 100  # Keras models nest a handful of levels; a crafted config can nest thousands


def layer_order(config: Any, prefix: str = "") -> list[str]:
    """Weights-store group paths of the model's layers, in model order, from config.json (JSON only)."""
    out: list[str] = []
    # depth-first, in order, without recursion: (layers still to visit, their group prefix, depth)
    stack: list[tuple[list[Any], dict[str, int], str, int]] = []
    layers = _get(_get(config, "config"), "layers")
    if isinstance(layers, list):
        stack.append((list(reversed(layers)), {}, prefix, 0))
    while stack:
        pending, used, group, depth = stack[-1]
        if not pending:
            stack.pop()
            continue
        layer = pending.pop()
        if not isinstance(layer, dict) or layer.get("class_name") == "InputLayer":
            continue
        name = _snake(str(layer.get("class_name", "layer")))
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        path = f"{group}layers/{name}"
        out.append(path)
        inner = _get(_get(layer, "config"), "layers")
        if isinstance(inner, list) and depth + 1 < _MAX_NESTING:
            stack.append((list(reversed(inner)), {}, path + "/", depth + 1))
    return out


def declared_optimizer(config: Any) -> str | None:
    """The optimizer named in compile_config, as a lowercase name ("adam"), or None."""
    opt = _get(_get(config, "compile_config"), "optimizer")
    if isinstance(opt, str):
        return opt.lower()[:100]
    if isinstance(opt, dict):
        name = opt.get("class_name") or _get(opt.get("config"), "name") or "optimizer"
        return str(name).lower()[:100]
    return None


def _datasets(source: H5Source) -> list[tuple[DatasetInfo, str | None]]:
    """Every dataset (each object once, however many hard links name it), checked, with the `name`
    attribute of its group (Keras 3 stores an optimizer's name there)."""
    h5py = h5py_module()
    found: list[tuple[str, Any]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found.append((name, obj))

    try:
        source.file.visititems(visit)
        out = []
        for name, obj in found:
            info = source.describe(name, obj)
            label = source.attribute(obj.parent, "name")
            out.append((info, _text(label)))
        return out
    except CkptlintError:
        raise
    except Exception as exc:
        raise CkptlintError(f"{source.label}: damaged HDF5 file ({first_line(exc)})") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")[:200]
    if hasattr(value, "shape") and getattr(value, "shape", ()) != ():
        return None
    return str(value)[:200] or None


def _is_optimizer_group(owner: str, tensors: list[keras_layout.StoredTensor]) -> bool:
    """An optimizer stores `iterations` (an int scalar) first and is never inside a layer."""
    if not owner or owner.startswith("layers/") or "/layers/" in owner or not tensors:
        return False
    return tensors[0].shape == () and "int" in tensors[0].dtype


def read_store(path: str, fmt: str, source: H5Source, config: Any = None,
               limits: Limits = DEFAULT_LIMITS) -> Inventory:
    """Classify every dataset of a Keras 3 weights store (shared by .keras and .weights.h5)."""
    groups: dict[str, list[tuple[int, keras_layout.StoredTensor, str | None]]] = {}
    unexpected: list[str] = []
    datasets = _datasets(source)
    check_declared_total(source.label, [info for info, _ in datasets], source.stored_bytes, limits)
    readable = {info.key: info.readable for info, _ in datasets}
    for info, label in datasets:
        name = info.key
        match = _VARS.match(name)
        if not match:
            unexpected.append(name)
            continue
        owner = match.group("owner")
        groups.setdefault(owner, []).append(
            (int(match.group("index")), keras_layout.StoredTensor(name, info.shape, info.dtype), label)
        )
    if not groups:
        found = f"; it holds {', '.join(unexpected[:3])}" if unexpected else ""
        raise CkptlintError(f"{path}: HDF5 file holds no Keras weights (no `vars` datasets{found})")
    order = {p: i for i, p in enumerate(layer_order(config))}

    def owner_key(owner: str) -> tuple[int, list[Any]]:
        return (order.get(owner, len(order)), natural_key(owner))

    variables: list[Variable] = []
    optimizers: list[OptimizerInfo] = []
    model_vars: list[Variable] = []
    optimizer_groups: list[str] = []
    for owner in sorted(groups, key=owner_key):
        entries = sorted(groups[owner], key=lambda e: e[0])
        tensors = [t for _, t, _ in entries]
        if _is_optimizer_group(owner, tensors):
            optimizer_groups.append(owner)
            continue
        for _index, t, _ in entries:
            component = RNG if "seed_generator" in owner else MODEL
            if component == MODEL and t.shape == () and "int" in t.dtype:
                component = STEP_COUNTERS
            var = Variable(t.key, t.key, t.shape, t.dtype, component, readable=readable[t.key], _source=source)
            if component == MODEL:
                var.order = len(model_vars)
                model_vars.append(var)
            variables.append(var)
    model_shapes = [v.shape for v in model_vars]
    for opt_index, owner in enumerate(optimizer_groups):
        entries = sorted(groups[owner], key=lambda e: e[0])
        opt_name = entries[0][2]
        opt_path = owner or "optimizer"
        lay = keras_layout.layout(opt_name, [t for _, t, _ in entries], model_shapes)
        opt_info = OptimizerInfo(path=opt_path, name=opt_name, n_trainable=lay.n_trainable)
        for index, t, _ in entries:
            var = Variable(f"{opt_path}/vars/{index}", t.key, t.shape, t.dtype, OPTIMIZER, optimizer=opt_path,
                           order=opt_index * 1_000_000 + index, readable=readable[t.key], _source=source)
            if index == lay.iterations:
                var.path, var.component = f"{opt_path}/iterations", ITERATIONS
                opt_info.iterations_path = var.path
            elif index == lay.learning_rate:
                var.path = f"{opt_path}/learning_rate"
            elif index in lay.slots:
                kind, owner_index = lay.slots[index]
                var.slot_kind = kind
                var.slot_for = model_vars[owner_index].path if owner_index is not None else None
                opt_info.slot_kinds[kind] = opt_info.slot_kinds.get(kind, 0) + 1
            variables.append(var)
        optimizers.append(opt_info)
    inv = Inventory(path=path, format=fmt, read_path=path, variables=variables, optimizers=optimizers,
                    declared_optimizer=declared_optimizer(config), _source=source)
    if unexpected:
        inv.notes.append(f"{len(unexpected)} dataset(s) outside the Keras weights layout were skipped: "
                         + ", ".join(unexpected[:3]))
    return inv


def read_keras_archive(path: str, limits: Limits = DEFAULT_LIMITS) -> Inventory:
    archive, source = open_keras_archive(path, limits)
    try:
        inv = read_store(path, "keras", source, archive.config, limits)
    except BaseException:
        source.close()
        raise
    inv.read_path = f"{path} (model.weights.h5)"
    inv.notes.extend(archive.notes)
    version = _get(archive.metadata, "keras_version")
    if version:
        inv.notes.append(f"saved by Keras {str(version)[:40]}")
    return inv


def read_weights_h5(path: str, source: H5Source, limits: Limits = DEFAULT_LIMITS) -> Inventory:
    return read_store(path, "weights-h5", source, None, limits)
