"""Untrusted HDF5 weights (a file, or the `model.weights.h5` member of a .keras zip), read defensively.

h5py only reads datasets and attributes (no pickled objects, no code), but an HDF5 file can still
declare a 20000x20000 dataset in 6 KB (unallocated: reading it allocates and fills 1.6 GB), keep a
dataset's data in another file on disk (external storage, virtual datasets, external links: /dev/zero,
a FIFO), need a filter plugin, or hold an attribute of any size. So every dataset is described and
checked before it is read: its declared bytes must be backed by stored bytes (or a plausible
compression ratio), its data must live in this file, and values are read in bounded chunks. Any
h5py/HDF5 failure becomes a one-line CkptlintError naming the artifact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from ckptlint.errors import CkptlintError
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits, human
from ckptlint.inspect.safe_io import first_line

# HDF5's own filters plus LZF (registered by h5py): decoding them loads no plugin library.
_BUILTIN_FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf"}
_NUMERIC_KINDS = "biufc"
_MAX_LINK_HOPS = 16


def h5py_module() -> Any:
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py ships with the [tf] extra
        raise CkptlintError("reading .keras/.h5 artifacts needs h5py: pip install 'ckptlint[tf]'") from None
    return h5py


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    shape: tuple[int, ...]
    dtype: str
    readable: bool  # numeric, stored in this file, no plugin filter
    declared_bytes: int
    note: str = ""  # why it is not readable


class H5Source:
    """A read-only HDF5 file kept open while the inventory is in use.

    `stored_bytes` is the size of the HDF5 data on disk, the yardstick for declared sizes. `on_close`
    releases what backs the file object (the .keras zip, a spooled temporary file).
    """

    def __init__(self, label: str, fileobj: Any, stored_bytes: int, limits: Limits = DEFAULT_LIMITS,
                 on_close: Any = None) -> None:
        h5py = h5py_module()
        self.label = label
        self.limits = limits
        self.stored_bytes = stored_bytes
        self._on_close = on_close
        self._infos: dict[str, DatasetInfo] = {}
        self._groups: dict[str, Any] = {}  # group paths resolved through hard links only
        try:
            self.file = h5py.File(fileobj, "r")
        except Exception as exc:  # h5py raises OSError, ValueError, KeyError, RuntimeError for damaged files
            self._release()
            raise CkptlintError(f"{label}: unreadable HDF5 file ({first_line(exc)})") from None

    # -- structure ---------------------------------------------------------------------------------

    def resolve(self, path: str) -> Any:
        """The object at `path`, following soft links inside the file only; None when absent.

        h5py follows external links (into any file on disk) silently, so each path component is looked
        up as a link first and anything but a hard or soft link is refused.
        """
        h5py = h5py_module()
        parts = [p for p in path.split("/") if p]
        # the parent group is usually resolved already (datasets are read group by group)
        parent: str | None  # None: resolved from the file's root
        parent = "/".join(parts[:-1])
        node = self._groups.get(parent)
        if node is not None:
            parts = parts[-1:]
        else:
            node, parent = self.file, None
        hops = 0
        walked: list[str] = []
        while parts:
            name = parts.pop(0)
            if not isinstance(node, h5py.Group):
                return None
            link = node.get(name, getlink=True)
            if link is None:
                return None
            if isinstance(link, h5py.SoftLink):
                hops += 1
                if hops > _MAX_LINK_HOPS:
                    raise CkptlintError(f"{self.label}: {path}: soft links nested more than {_MAX_LINK_HOPS} deep")
                target = [p for p in link.path.split("/") if p]
                node = self.file if link.path.startswith("/") else node
                parts = target + parts
                walked = []
                continue
            if not isinstance(link, h5py.HardLink):
                raise CkptlintError(f"{self.label}: {path}: {type(link).__name__} to another file: not followed")
            node = node[name]
            walked.append(name)
        if parent is None and hops == 0 and isinstance(node, h5py.Dataset) and len(walked) > 1:
            self._groups["/".join(walked[:-1])] = node.parent
        return node

    def attribute(self, obj: Any, name: str, limit: int | None = None) -> Any:
        """An attribute's value, or None; its declared size is checked before h5py allocates it."""
        if name not in obj.attrs:
            return None
        attr = obj.attrs.get_id(name)
        shape = attr.shape or ()
        declared = prod(shape) * attr.dtype.itemsize
        cap = limit or self.limits.max_attribute_bytes
        if declared > cap:
            raise CkptlintError(f"{self.label}: attribute {name!r} of {obj.name} declares {human(declared)}, over the "
                                f"{human(cap)} limit")
        return obj.attrs[name]

    def describe(self, key: str, dataset: Any = None) -> DatasetInfo:
        """Shape, dtype and readability of a dataset; a declared size no stored bytes back is an error."""
        cached = self._infos.get(key)
        if cached is not None:
            return cached
        h5py = h5py_module()
        ds = dataset if dataset is not None else self.resolve(key)
        if not isinstance(ds, h5py.Dataset):
            raise CkptlintError(f"{self.label}: {key} is not a dataset")
        shape = tuple(int(d) for d in ds.shape) if ds.shape is not None else ()
        dtype = ds.dtype
        declared = prod(shape) * dtype.itemsize
        note = ""
        if ds.is_virtual or ds.external:
            raise CkptlintError(f"{self.label}: {key} keeps its data outside this file "
                                f"({'virtual dataset' if ds.is_virtual else 'external storage'}): not read")
        plist = ds.id.get_create_plist()
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        stored = ds.id.get_storage_size()
        expansion = self.limits.max_expansion if filters else 1
        if declared > max(stored * expansion, self.limits.bomb_floor):
            what = "compressed into" if filters else "but stores only"
            raise CkptlintError(f"{self.label}: {key} declares {list(shape)} {dtype} ({human(declared)}) {what} "
                                f"{human(stored)}: refusing to allocate it (unallocated dataset or decompression bomb)")
        if ds.shape is None:
            note = "empty dataspace"
        elif dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
            note = f"{dtype} values are not read"
        elif any(code not in _BUILTIN_FILTERS for code in filters):
            note = f"needs HDF5 filter plugin {[c for c in filters if c not in _BUILTIN_FILTERS]}: values not read"
        info = DatasetInfo(key, shape, str(dtype), not note, declared, note)
        self._infos[key] = info
        return info

    # -- values ------------------------------------------------------------------------------------

    def _dataset(self, key: str) -> tuple[Any, DatasetInfo]:
        info = self.describe(key)
        if not info.readable:
            raise CkptlintError(f"{self.label}: cannot read {key} ({info.note})")
        return self.resolve(key), info

    def read(self, key: str) -> Any:
        try:
            ds, info = self._dataset(key)
            if info.declared_bytes > self.limits.max_whole_read:
                raise CkptlintError(f"{self.label}: {key}: {human(info.declared_bytes)} is too large to read whole; "
                                    "it is read in chunks")
            return ds[()]
        except CkptlintError:
            raise
        except Exception as exc:
            raise CkptlintError(f"{self.label}: cannot read {key} ({first_line(exc)})") from None

    def chunks(self, key: str, chunk_bytes: int) -> Iterator[Any]:
        try:
            ds, info = self._dataset(key)
            itemsize = max(1, np.dtype(info.dtype).itemsize)
            for index in blocks(info.shape, max(1, chunk_bytes // itemsize)):
                yield np.asarray(ds[index]).reshape(-1)
        except CkptlintError:
            raise
        except Exception as exc:
            raise CkptlintError(f"{self.label}: cannot read {key} ({first_line(exc)})") from None

    def close(self) -> None:
        try:
            self.file.close()
        except Exception:  # closing a damaged file must not turn into a traceback
            pass
        self._release()

    def _release(self) -> None:
        if self._on_close is not None:
            try:
                self._on_close()
            finally:
                self._on_close = None


def blocks(shape: tuple[int, ...], max_elements: int) -> Iterator[tuple[Any, ...]]:
    """Index tuples selecting consecutive C-order blocks of at most `max_elements` (rows of the first axis
    whose trailing size fits, else positions of leading axes and slices of a later one)."""
    if not shape:
        yield ()
        return
    if prod(shape) == 0:
        return
    axis = 0
    while axis < len(shape) - 1 and prod(shape[axis + 1 :]) > max_elements:
        axis += 1
    step = max(1, max_elements // prod(shape[axis + 1 :]))
    for outer in np.ndindex(*shape[:axis]):
        for start in range(0, shape[axis], step):
            yield tuple(int(i) for i in outer) + (slice(start, min(start + step, shape[axis])),)


def check_declared_total(label: str, infos: list[DatasetInfo], stored_bytes: int, limits: Limits) -> None:
    """Many names for one small dataset (hard links, repeated weight names) must not add up to a bomb."""
    total = sum(i.declared_bytes for i in infos)
    if total > max(stored_bytes * limits.max_expansion, limits.bomb_floor):
        raise CkptlintError(f"{label}: its datasets declare {human(total)} in a {human(stored_bytes)} file: "
                            "refusing to read them (the same data named many times, or a decompression bomb)")
