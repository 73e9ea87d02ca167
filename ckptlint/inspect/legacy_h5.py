"""Read legacy HDF5 models and weights (`model.save("m.h5")`, Keras 2 `save_weights("w.h5")`).

Layout (measured, Keras 3.15 writing legacy .h5): `model_weights/<layer>/<weight name>` with the layer
order in the `layer_names` attribute and the weight order in each layer's `weight_names`;
`optimizer_weights/<opt>/<var>_<slot kind>` with the optimizer's variable order in `weight_names`, which is
the same positional order `.keras` uses, so optimizer variables get the same `optimizer/vars/N` paths.
The `model_config`/`training_config` attributes are parsed as JSON only.
"""

from __future__ import annotations

import json
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.inspect.h5source import H5Source, first_line
from ckptlint.inspect.inventory import ITERATIONS, MODEL, OPTIMIZER, Inventory, OptimizerInfo, Variable


def is_legacy(source: H5Source) -> bool:
    f = source.file
    return "model_weights" in f or "layer_names" in f.attrs


def _names(attrs: Any, key: str) -> list[str]:
    raw = attrs.get(key, [])
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in list(raw)]


def _declared(source: H5Source) -> str | None:
    raw = source.file.attrs.get("training_config")
    if raw is None:
        return None
    try:
        cfg = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
        opt = cfg.get("optimizer_config") or {}
        return str(opt.get("class_name") or "").lower() or None
    except (ValueError, AttributeError):
        return None


def _slot_kind(short: str, model_names: list[str]) -> tuple[str, str | None]:
    """`sequential_dense_kernel_momentum` -> ("momentum", "sequential/dense/kernel")."""
    best: str | None = None
    for name in model_names:
        flat = name.replace("/", "_")
        if short.startswith(flat + "_") and (best is None or len(flat) > len(best.replace("/", "_"))):
            best = name
    if best is None:
        return short.rsplit("_", 1)[-1], None
    return short[len(best.replace("/", "_")) + 1 :], best


def read_legacy_h5(path: str, source: H5Source) -> Inventory:
    f = source.file
    weights = f["model_weights"] if "model_weights" in f else f
    variables: list[Variable] = []
    model_names: list[str] = []
    try:
        for layer in _names(weights.attrs, "layer_names"):
            group = weights[layer]
            for wname in _names(group.attrs, "weight_names"):
                ds = group[wname]
                var = Variable(wname, f"{group.name}/{wname}".lstrip("/"), tuple(int(d) for d in ds.shape),
                               str(ds.dtype), MODEL, order=len(model_names), _loader=source.read)
                variables.append(var)
                model_names.append(wname)
        optimizers: list[OptimizerInfo] = []
        if "optimizer_weights" in f:
            group = f["optimizer_weights"]
            names = _names(group.attrs, "weight_names")
            opt_name = names[0].split("/", 1)[0] if names else None
            info = OptimizerInfo(path="optimizer", name=opt_name)
            owners: set[str] = set()
            for index, full in enumerate(names):
                ds = group[full]
                short = full.split("/", 1)[-1]
                var = Variable(f"optimizer/vars/{index}", f"optimizer_weights/{full}", tuple(int(d) for d in ds.shape),
                               str(ds.dtype), OPTIMIZER, optimizer="optimizer", order=index, _loader=source.read)
                if short in ("iteration", "iterations", "iter"):
                    var.path, var.component = "optimizer/iterations", ITERATIONS
                    info.iterations_path = var.path
                elif short in ("learning_rate", "lr"):
                    var.path = "optimizer/learning_rate"
                elif var.shape == ():
                    var.path = f"optimizer/{short}"
                else:
                    kind, owner = _slot_kind(short, model_names)
                    var.slot_kind, var.slot_for = kind, owner
                    info.slot_kinds[kind] = info.slot_kinds.get(kind, 0) + 1
                    if owner:
                        owners.add(owner)
                variables.append(var)
            info.n_trainable = len(owners)
            optimizers.append(info)
    except CkptlintError:
        raise
    except Exception as exc:
        raise CkptlintError(f"{path}: damaged legacy HDF5 model ({first_line(exc)})") from None
    if not variables:
        raise CkptlintError(f"{path}: legacy HDF5 file holds no weights")
    return Inventory(path=path, format="legacy-h5", read_path=path, variables=variables, optimizers=optimizers,
                     declared_optimizer=_declared(source), _source=source)
