"""Read Keras 3 native artifacts: `.keras` archives and `.weights.h5` files.

Both use the Keras 3 weights store: every saveable object is an HDF5 group with a `vars` subgroup of
datasets named by position (`layers/dense/vars/0`, `optimizer/vars/3`). `config.json` is parsed as JSON
only; nothing it names is imported or deserialized, so Lambda layers and custom objects stay inert.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.inspect import keras_layout
from ckptlint.inspect.h5source import H5Source, h5py_module, open_weights_member, read_zip
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

_VARS = re.compile(r"^(?P<owner>.*?)/?vars/(?P<index>\d+)$")


def natural_key(text: str) -> list[Any]:
    """`dense_2` before `dense_10`: h5py lists groups alphabetically, not in creation order."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", text)]


def _snake(name: str) -> str:
    """Keras' `naming.to_snake_case`, which names layer groups in the weights store."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def layer_order(config: Any, prefix: str = "") -> list[str]:
    """Weights-store group paths of the model's layers, in model order, from config.json (JSON only)."""
    if not isinstance(config, dict):
        return []
    layers = (config.get("config") or {}).get("layers")
    if not isinstance(layers, list):
        return []
    used: dict[str, int] = {}
    out: list[str] = []
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("class_name") == "InputLayer":
            continue
        name = _snake(str(layer.get("class_name", "layer")))
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        path = f"{prefix}layers/{name}"
        out.append(path)
        out.extend(layer_order(layer, prefix=path + "/"))
    return out


def declared_optimizer(config: Any) -> str | None:
    """The optimizer named in compile_config, as a lowercase name ("adam"), or None."""
    if not isinstance(config, dict):
        return None
    compile_config = config.get("compile_config")
    if not isinstance(compile_config, dict):
        return None
    opt = compile_config.get("optimizer")
    if isinstance(opt, str):
        return opt.lower()
    if isinstance(opt, dict):
        return str(opt.get("class_name") or (opt.get("config") or {}).get("name") or "optimizer").lower()
    return None


def _datasets(source: H5Source) -> list[tuple[str, tuple[int, ...], str, dict[str, Any]]]:
    h5py = h5py_module()
    found: list[tuple[str, tuple[int, ...], str, dict[str, Any]]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found.append((name, tuple(int(d) for d in obj.shape), str(obj.dtype), dict(obj.parent.attrs)))

    try:
        source.file.visititems(visit)
    except Exception as exc:
        raise CkptlintError(f"{source.label}: damaged HDF5 file ({exc})") from None
    return found


def _is_optimizer_group(owner: str, tensors: list[keras_layout.StoredTensor]) -> bool:
    """An optimizer stores `iterations` (an int scalar) first and is never inside a layer."""
    if not owner or owner.startswith("layers/") or "/layers/" in owner or not tensors:
        return False
    return tensors[0].shape == () and "int" in tensors[0].dtype


def read_store(path: str, fmt: str, source: H5Source, config: Any = None) -> Inventory:
    """Classify every dataset of a Keras 3 weights store (shared by .keras and .weights.h5)."""
    groups: dict[str, list[tuple[int, keras_layout.StoredTensor, str | None]]] = {}
    unexpected: list[str] = []
    for name, shape, dtype, attrs in _datasets(source):
        match = _VARS.match(name)
        if not match:
            unexpected.append(name)
            continue
        owner = match.group("owner")
        label = attrs.get("name")
        groups.setdefault(owner, []).append(
            (int(match.group("index")), keras_layout.StoredTensor(name, shape, dtype), str(label) if label else None)
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
            var = Variable(t.key, t.key, t.shape, t.dtype, component, _loader=source.read)
            if component == MODEL:
                var.order = len(model_vars)
                model_vars.append(var)
            variables.append(var)
    model_shapes = [v.shape for v in model_vars]
    for opt_index, owner in enumerate(optimizer_groups):
        entries = sorted(groups[owner], key=lambda e: e[0])
        name = entries[0][2]
        opt_path = owner or "optimizer"
        lay = keras_layout.layout(name, [t for _, t, _ in entries], model_shapes)
        info = OptimizerInfo(path=opt_path, name=name, n_trainable=lay.n_trainable)
        for index, t, _ in entries:
            var = Variable(f"{opt_path}/vars/{index}", t.key, t.shape, t.dtype, OPTIMIZER, optimizer=opt_path,
                           order=opt_index * 1_000_000 + index, _loader=source.read)
            if index == lay.iterations:
                var.path, var.component = f"{opt_path}/iterations", ITERATIONS
                info.iterations_path = var.path
            elif index == lay.learning_rate:
                var.path = f"{opt_path}/learning_rate"
            elif index in lay.slots:
                kind, owner_index = lay.slots[index]
                var.slot_kind = kind
                var.slot_for = model_vars[owner_index].path if owner_index is not None else None
                info.slot_kinds[kind] = info.slot_kinds.get(kind, 0) + 1
            variables.append(var)
        optimizers.append(info)
    inv = Inventory(path=path, format=fmt, read_path=path, variables=variables, optimizers=optimizers,
                    declared_optimizer=declared_optimizer(config), _source=source)
    if unexpected:
        inv.notes.append(f"{len(unexpected)} dataset(s) outside the Keras weights layout were skipped: "
                         + ", ".join(unexpected[:3]))
    return inv


def read_keras_archive(path: str) -> Inventory:
    members = read_zip(path)
    if "model.weights.h5" not in members:
        names = members["__names__"].decode().split("\n")
        raise CkptlintError(f"{path}: not a Keras 3 .keras archive (no model.weights.h5; members: "
                            f"{', '.join(n for n in names if n)[:200] or 'none'})")
    config = _json_member(path, members, "config.json")
    metadata = _json_member(path, members, "metadata.json")
    source = open_weights_member(path, members["model.weights.h5"])
    try:
        inv = read_store(path, "keras", source, config)
    except BaseException:
        source.close()
        raise
    inv.read_path = f"{path} (model.weights.h5)"
    if isinstance(metadata, dict) and metadata.get("keras_version"):
        inv.notes.append(f"saved by Keras {metadata['keras_version']}")
    return inv


def read_weights_h5(path: str, source: H5Source) -> Inventory:
    return read_store(path, "weights-h5", source, None)


def _json_member(path: str, members: dict[str, bytes], name: str) -> Any:
    if name not in members:
        return None
    try:
        return json.loads(members[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CkptlintError(f"{path}: {name} is not valid JSON ({exc})") from None
