"""Inventory of a TF object-based checkpoint or a SavedModel's `variables/variables`.

The tensor bundle is read by `tf_bundle` (no TensorFlow import: nothing from the artifact reaches TF's
C++ readers, and no TF start-up time, memory or log lines), the object graph by `tf_graph`, and the
tensors are classified by `tf_classify`. `saved_model.pb` is never read. Every tensor's checksum is
verified up front, in chunks, so a truncated or corrupt checkpoint is a one-line error before any report.
"""

from __future__ import annotations

from ckptlint.errors import CkptlintError
from ckptlint.inspect.inventory import Inventory
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits, human
from ckptlint.inspect.protowire import WireError
from ckptlint.inspect.tf_bundle import TensorBundle
from ckptlint.inspect.tf_classify import GraphError, classify, classify_by_name
from ckptlint.inspect.tf_graph import ObjectGraph, decode_object_graph

GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def _object_graph(bundle: TensorBundle, limits: Limits) -> ObjectGraph:
    entry = bundle.entries[GRAPH_KEY]
    if entry.dtype.name != "string" or entry.shape != ():
        raise CkptlintError(f"{bundle.prefix}: corrupt object graph in checkpoint (a {entry.dtype.name} "
                            f"{list(entry.shape)} tensor, not a string)")
    if entry.size > limits.max_object_graph_bytes:
        raise CkptlintError(f"{bundle.prefix}: object graph of {human(entry.size)} is over the "
                            f"{human(limits.max_object_graph_bytes)} limit")
    data = bundle.read(GRAPH_KEY).item()
    try:
        return decode_object_graph(data)
    except WireError as exc:
        raise CkptlintError(f"{bundle.prefix}: corrupt object graph in checkpoint ({exc})") from None


def read_tf(path: str, prefix: str, fmt: str, limits: Limits = DEFAULT_LIMITS) -> Inventory:
    """Inventory of a TF checkpoint prefix (`fmt` "tf-checkpoint" or "savedmodel")."""
    bundle = TensorBundle(prefix, limits)
    try:
        entries = {k: e for k, e in bundle.entries.items() if k != GRAPH_KEY}
        shapes = {k: e.shape for k, e in entries.items()}
        dtypes = {k: e.dtype.name for k, e in entries.items()}
        if GRAPH_KEY in bundle.entries:
            try:
                result = classify(_object_graph(bundle, limits), shapes, dtypes, bundle)
            except GraphError as exc:
                raise CkptlintError(f"{prefix}: corrupt object graph in checkpoint ({exc})") from None
        else:
            result = classify_by_name(shapes, dtypes, bundle)
        for var in result.variables:
            bundle.verify(var.key)
        partitioned = [k for k, e in entries.items() if e.sliced]
        if partitioned:
            result.notes.append(f"{len(partitioned)} partitioned (sliced) variable(s) listed without their values: "
                                + ", ".join(partitioned[:3]))
        return Inventory(path=path, format=fmt, read_path=prefix, variables=result.variables,
                         optimizers=result.optimizers, notes=result.notes, _source=bundle)
    except BaseException:
        bundle.close()
        raise
