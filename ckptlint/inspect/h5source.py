"""Open HDF5 weights (a file, or the `model.weights.h5` member of a .keras zip) for on-demand reads.

h5py only reads datasets and attributes: no pickled objects, no code. Every h5py/zip failure becomes a
one-line CkptlintError naming the artifact.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from ckptlint.errors import CkptlintError


def h5py_module() -> Any:
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py ships with the [tf] extra
        raise CkptlintError("reading .keras/.h5 artifacts needs h5py: pip install 'ckptlint[tf]'") from None
    return h5py


class H5Source:
    """A read-only HDF5 file kept open while the inventory is in use."""

    def __init__(self, label: str, fileobj: Any) -> None:
        h5py = h5py_module()
        self.label = label
        try:
            self.file = h5py.File(fileobj, "r")
        except Exception as exc:  # h5py raises OSError, ValueError, KeyError for damaged files
            raise CkptlintError(f"{label}: unreadable HDF5 file ({_first_line(exc)})") from None

    def read(self, key: str) -> Any:
        try:
            return self.file[key][()]
        except Exception as exc:
            raise CkptlintError(f"{self.label}: cannot read {key} ({_first_line(exc)})") from None

    def close(self) -> None:
        try:
            self.file.close()
        except Exception:  # closing a damaged file must not turn into a traceback
            pass


def read_zip(path: str) -> dict[str, bytes]:
    """Members of a .keras archive that ckptlint needs (config.json, metadata.json, model.weights.h5)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            members = {n: zf.read(n) for n in ("config.json", "metadata.json", "model.weights.h5") if n in names}
            members["__names__"] = "\n".join(sorted(names)).encode()
            return members
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise CkptlintError(f"{path}: corrupt or truncated .keras archive ({_first_line(exc)})") from None
    except Exception as exc:  # zlib.error and friends from a damaged member
        raise CkptlintError(f"{path}: corrupt .keras archive ({_first_line(exc)})") from None


def open_weights_member(path: str, data: bytes) -> H5Source:
    return H5Source(f"{path}!model.weights.h5", io.BytesIO(data))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def first_line(exc: BaseException) -> str:
    """The first line of an exception message (C++ errors span many lines)."""
    return _first_line(exc)
