"""Read legacy HDF5 models and weights (`model.save("m.h5")`, Keras 2 `save_weights("w.h5")`).

Layout (measured, Keras 3.15 writing legacy .h5): `model_weights/<layer>/<weight name>` with the layer
order in the `layer_names` attribute and the weight order in each layer's `weight_names`;
`optimizer_weights/<opt>/<var>_<slot kind>` with the optimizer's variable order in `weight_names`, which is
the same positional order `.keras` uses, so optimizer variables get the same `optimizer/vars/N` paths.
The `model_config`/`training_config` attributes are parsed as JSON only.
"""

from __future__ import annotations

from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.inspect.h5source import DatasetInfo, H5Source, check_declared_total, h5py_module
from ckptlint.inspect.inventory import ITERATIONS, MODEL, OPTIMIZER, Inventory, OptimizerInfo, Variable
from ckptlint.inspect.keras_zip import parse_json
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits
from ckptlint.inspect.safe_io import first_line


def is_legacy(source: H5Source) -> bool:
    try:
        return source.resolve("model_weights") is not None or "layer_names" in source.file.attrs
    except CkptlintError:
        raise
    except Exception as exc:
        raise CkptlintError(f"{source.label}: damaged HDF5 file ({first_line(exc)})") from None


def _names(source: H5Source, obj: Any, key: str) -> list[str]:
    raw = source.attribute(obj, key)
    if raw is None:
        return []
    items = raw.reshape(-1).tolist() if hasattr(raw, "reshape") else [raw]
    return [n.decode("utf-8", "backslashreplace") if isinstance(n, bytes) else str(n) for n in items]


def _declared(source: H5Source, limits: Limits) -> str | None:
    raw = source.attribute(source.file, "training_config", limits.max_json_bytes)
    if raw is None:
        return None
    try:
        cfg = parse_json(raw if isinstance(raw, (bytes, str)) else str(raw), f"{source.label}: training_config")
    except CkptlintError:
        return None  # the optimizer's name is a nicety; a broken config must not hide the weights
    opt = cfg.get("optimizer_config") if isinstance(cfg, dict) else None
    name = opt.get("class_name") if isinstance(opt, dict) else None
    if not name:
        return None
    return str(name).lower()[:100]


def _slot_kind(short: str, by_flat_name: dict[str, str]) -> tuple[str, str | None]:
    """`sequential_dense_kernel_momentum` -> ("momentum", "sequential/dense/kernel"): the longest model
    variable name (with `/` as `_`) that the slot name extends, tried from the longest prefix down."""
    cut = len(short)
    while (cut := short.rfind("_", 0, cut)) > 0:
        owner = by_flat_name.get(short[:cut])
        if owner is not None:
            return short[cut + 1 :], owner
    return short.rsplit("_", 1)[-1], None


def _dataset(source: H5Source, group_path: str, name: str) -> DatasetInfo:
    key = f"{group_path}/{name}".strip("/")
    obj = source.resolve(key)
    if obj is None:
        raise CkptlintError(f"{source.label}: {key} is named in weight_names but missing")
    return source.describe(key, obj)


def read_legacy_h5(path: str, source: H5Source, limits: Limits = DEFAULT_LIMITS) -> Inventory:
    h5py = h5py_module()
    variables: list[Variable] = []
    model_names: list[str] = []
    infos: list[DatasetInfo] = []
    try:
        weights = source.resolve("model_weights") or source.file
        if not isinstance(weights, h5py.Group):
            raise CkptlintError(f"{path}: damaged legacy HDF5 model (model_weights is not a group)")
        for layer in _names(source, weights, "layer_names"):
            group = source.resolve(f"{weights.name}/{layer}")
            if not isinstance(group, h5py.Group):
                raise CkptlintError(f"{path}: damaged legacy HDF5 model (layer {layer!r} is missing)")
            for wname in _names(source, group, "weight_names"):
                info = _dataset(source, group.name, wname)
                infos.append(info)
                variables.append(Variable(wname, info.key, info.shape, info.dtype, MODEL, order=len(model_names),
                                          readable=info.readable, _source=source))
                model_names.append(wname)
        optimizers: list[OptimizerInfo] = []
        group = source.resolve("optimizer_weights")
        if isinstance(group, h5py.Group):
            names = _names(source, group, "weight_names")
            opt_name = names[0].split("/", 1)[0] if names else None
            opt = OptimizerInfo(path="optimizer", name=opt_name)
            by_flat_name = {name.replace("/", "_"): name for name in model_names}
            owners: set[str] = set()
            for index, full in enumerate(names):
                info = _dataset(source, "optimizer_weights", full)
                infos.append(info)
                short = full.split("/", 1)[-1]
                var = Variable(f"optimizer/vars/{index}", info.key, info.shape, info.dtype, OPTIMIZER,
                               optimizer="optimizer", order=index, readable=info.readable, _source=source)
                if short in ("iteration", "iterations", "iter"):
                    var.path, var.component = "optimizer/iterations", ITERATIONS
                    opt.iterations_path = var.path
                elif short in ("learning_rate", "lr"):
                    var.path = "optimizer/learning_rate"
                elif var.shape == ():
                    var.path = f"optimizer/{short}"
                else:
                    kind, owner = _slot_kind(short, by_flat_name)
                    var.slot_kind, var.slot_for = kind, owner
                    opt.slot_kinds[kind] = opt.slot_kinds.get(kind, 0) + 1
                    if owner:
                        owners.add(owner)
                variables.append(var)
            opt.n_trainable = len(owners)
            optimizers.append(opt)
        check_declared_total(source.label, infos, source.stored_bytes, limits)
        declared = _declared(source, limits)
    except CkptlintError:
        raise
    except Exception as exc:
        raise CkptlintError(f"{path}: damaged legacy HDF5 model ({first_line(exc)})") from None
    if not variables:
        raise CkptlintError(f"{path}: legacy HDF5 file holds no weights")
    return Inventory(path=path, format="legacy-h5", read_path=path, variables=variables, optimizers=optimizers,
                     declared_optimizer=declared, _source=source)
