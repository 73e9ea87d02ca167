"""Dispatch a path to the reader for its format."""

from __future__ import annotations

from pathlib import Path

from ckptlint.errors import CkptlintError
from ckptlint.inspect.inventory import Inventory
from ckptlint.inspect.artifact_kind import locate


def read_artifact(path: str | Path) -> Inventory:
    """Read and classify an artifact without executing anything stored in it."""
    where = locate(path)
    text = str(path)
    if where.kind in ("tf-checkpoint", "savedmodel"):
        from ckptlint.inspect.tf_reader import read_tf

        return read_tf(text, where.read_path, where.kind)
    if where.kind == "keras":
        from ckptlint.inspect.keras_v3 import read_keras_archive

        return read_keras_archive(where.read_path)
    if where.kind == "h5":
        from ckptlint.inspect.h5source import H5Source
        from ckptlint.inspect.keras_v3 import read_weights_h5
        from ckptlint.inspect.legacy_h5 import is_legacy, read_legacy_h5

        source = H5Source(where.read_path, where.read_path)
        try:
            if is_legacy(source):
                return read_legacy_h5(where.read_path, source)
            return read_weights_h5(where.read_path, source)
        except BaseException:
            source.close()
            raise
    raise CkptlintError(f"{path}: unsupported artifact kind {where.kind}")  # pragma: no cover
