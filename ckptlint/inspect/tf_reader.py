"""Read TF object-based checkpoints and SavedModel variables with TF's checkpoint reader.

`py_checkpoint_reader` only reads the tensor bundle (index + data shards): it never loads a graph or runs
an op, so an untrusted checkpoint is safe to open. For SavedModel directories only
`variables/variables` is read; `saved_model.pb` is never loaded. TF is imported here and only here, after
TF_CPP_MIN_LOG_LEVEL silences its C++ log spam; every C++ error becomes a one-line CkptlintError.
"""

from __future__ import annotations

import os
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.inspect.h5source import first_line
from ckptlint.inspect.inventory import Inventory
from ckptlint.inspect.tf_classify import classify, classify_by_name

GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def _tf_modules() -> tuple[Any, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from tensorflow.core.protobuf import trackable_object_graph_pb2
        from tensorflow.python.training import py_checkpoint_reader
    except ImportError:
        raise CkptlintError(
            "reading TF checkpoints and SavedModels needs TensorFlow: pip install 'ckptlint[tf]'"
        ) from None
    return py_checkpoint_reader, trackable_object_graph_pb2


class TFSource:
    """An open checkpoint reader; values are read per key on demand."""

    def __init__(self, prefix: str) -> None:
        reader_mod, _ = _tf_modules()
        self.prefix = prefix
        try:
            self.reader = reader_mod.NewCheckpointReader(prefix)
        except Exception as exc:  # tf.errors.OpError subclasses, or ValueError for odd paths
            raise CkptlintError(f"{prefix}: unreadable TF checkpoint ({first_line(exc)})") from None

    def read(self, key: str) -> Any:
        try:
            return self.reader.get_tensor(key)
        except Exception as exc:  # DataLossError for a truncated data shard
            raise CkptlintError(
                f"{self.prefix}: truncated or corrupt checkpoint data: cannot read {key} ({first_line(exc)})"
            ) from None

    def close(self) -> None:
        self.reader = None


def read_tf(path: str, prefix: str, fmt: str) -> Inventory:
    """Inventory of a TF checkpoint prefix (`fmt` "tf-checkpoint" or "savedmodel")."""
    _, graph_pb2 = _tf_modules()
    source = TFSource(prefix)
    try:
        shapes = {k: tuple(int(d) for d in v) for k, v in source.reader.get_variable_to_shape_map().items()}
        dtypes = {k: v.name for k, v in source.reader.get_variable_to_dtype_map().items()}
    except Exception as exc:
        raise CkptlintError(f"{prefix}: unreadable TF checkpoint index ({first_line(exc)})") from None
    graph_bytes = None
    if GRAPH_KEY in shapes:
        graph_bytes = source.read(GRAPH_KEY)
        del shapes[GRAPH_KEY]
        dtypes.pop(GRAPH_KEY, None)
    if graph_bytes is not None:
        graph = graph_pb2.TrackableObjectGraph()
        try:
            graph.ParseFromString(graph_bytes)
        except Exception as exc:
            raise CkptlintError(f"{prefix}: corrupt object graph in checkpoint ({first_line(exc)})") from None
        result = classify(graph, shapes, dtypes, source.read)
    else:
        result = classify_by_name(shapes, dtypes, source.read)
    # Read every tensor once up front (one at a time), so a truncated data shard is an error here,
    # not a traceback in the middle of a report.
    for var in result.variables:
        if var.readable:
            source.read(var.key)
    return Inventory(path=path, format=fmt, read_path=prefix, variables=result.variables,
                     optimizers=result.optimizers, notes=result.notes, _source=source)
