"""Dispatch a path to the reader for its format, and turn any unexpected failure into one line.

Readers raise CkptlintError for every problem they recognise. Anything else escaping a reader (a bug,
or a library failing in a way nobody anticipated on hostile input) is still reported as one line naming
the artifact and what failed, with exit code 2, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from ckptlint.errors import CkptlintError
from ckptlint.inspect.artifact_kind import locate
from ckptlint.inspect.inventory import Inventory
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits
from ckptlint.inspect.safe_io import first_line


def internal_error(label: str, what: str, exc: BaseException) -> CkptlintError:
    if isinstance(exc, MemoryError):
        return CkptlintError(f"{label}: out of memory while {what}")
    if isinstance(exc, RecursionError):
        return CkptlintError(f"{label}: structure nested too deeply while {what}")
    return CkptlintError(f"{label}: internal error while {what} ({type(exc).__name__}: {first_line(exc)})")


def read_artifact(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Inventory:
    """Read and classify an artifact without executing anything stored in it."""
    text = str(path)
    try:
        return _read(text, limits)
    except CkptlintError:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence; see the module docstring
        raise internal_error(text, "reading the artifact", exc) from None


def _read(path: str, limits: Limits) -> Inventory:
    where = locate(path, limits)
    try:
        import numpy  # noqa: F401 - every reader returns numpy arrays
    except ImportError:
        raise CkptlintError("reading checkpoint artifacts needs numpy and h5py: pip install 'ckptlint[tf]'") from None
    if where.kind in ("tf-checkpoint", "savedmodel"):
        from ckptlint.inspect.tf_reader import read_tf

        return read_tf(path, where.read_path, where.kind, limits)
    if where.kind == "orbax":
        from ckptlint.inspect.orbax_dir import read_orbax

        return read_orbax(path, where.read_path, limits)
    if where.kind == "keras":
        from ckptlint.inspect.keras_v3 import read_keras_archive

        return read_keras_archive(where.read_path, limits)
    if where.kind == "h5":
        from ckptlint.inspect.h5source import H5Source
        from ckptlint.inspect.keras_v3 import read_weights_h5
        from ckptlint.inspect.legacy_h5 import is_legacy, read_legacy_h5

        source = H5Source(where.read_path, where.read_path, os.stat(where.read_path).st_size, limits)
        try:
            if is_legacy(source):
                return read_legacy_h5(where.read_path, source, limits)
            return read_weights_h5(where.read_path, source, limits)
        except BaseException:
            source.close()
            raise
    raise CkptlintError(f"{path}: unsupported artifact kind {where.kind}")  # pragma: no cover
