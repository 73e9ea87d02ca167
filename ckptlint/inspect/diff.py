"""Compare two inventories variable by variable.

Matching is by canonical path first. Paths differ across format families for model variables
(`model/_functional/_operations/1/_kernel` in a TF checkpoint, `layers/dense/vars/0` in a .keras) and for
an optimizer saved under another key (`model/optimizer` vs `optimizer`), so what is left unmatched in a
component is then matched by position in model order, but only when both sides have the same number of
leftovers with the same shapes; otherwise it is reported as only-in-A / only-in-B and a note says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ckptlint.inspect.inventory import COMPONENTS, Inventory, Variable
from ckptlint.inspect.limits import DEFAULT_LIMITS

EQUAL, CHANGED, ONLY_A, ONLY_B, NOT_COMPARED = "equal", "changed", "only in A", "only in B", "not compared"


@dataclass
class VariableDiff:
    status: str
    component: str
    path_a: str | None
    path_b: str | None
    shape_a: tuple[int, ...] | None = None
    shape_b: tuple[int, ...] | None = None
    dtype_a: str | None = None
    dtype_b: str | None = None
    max_abs: float | None = None
    max_rel: float | None = None
    note: str = ""

    @property
    def path(self) -> str:
        if self.path_a and self.path_b and self.path_a != self.path_b:
            return f"{self.path_a} ~ {self.path_b}"
        return self.path_a or self.path_b or ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "component": self.component, "path": self.path, "path_a": self.path_a,
            "path_b": self.path_b, "shape_a": list(self.shape_a) if self.shape_a is not None else None,
            "shape_b": list(self.shape_b) if self.shape_b is not None else None, "dtype_a": self.dtype_a,
            "dtype_b": self.dtype_b, "max_abs": self.max_abs, "max_rel": self.max_rel, "note": self.note,
        }


@dataclass
class DiffResult:
    a: str
    b: str
    format_a: str
    format_b: str
    atol: float
    rtol: float
    entries: list[VariableDiff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # False when a format keeps values out of reach (Orbax): "same" then means names and shapes only
    values_read: bool = True

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def same(self) -> bool:
        """True when both hold the same variables with equal values (within tolerance)."""
        return all(e.status in (EQUAL, NOT_COMPARED) for e in self.entries)

    def summary(self) -> str:
        verdict = "same" if self.same else "DIFFERENT"
        if self.same and not self.values_read:
            verdict = "same names and shapes (values not read)"
        parts = [f"{self.count(s)} {s}" for s in (EQUAL, CHANGED, ONLY_A, ONLY_B, NOT_COMPARED) if self.count(s)]
        return f"{verdict}: {', '.join(parts) or 'no variables'} (atol={self.atol:g}, rtol={self.rtol:g})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "format_a": self.format_a, "format_b": self.format_b,
            "atol": self.atol, "rtol": self.rtol, "same": self.same, "values_read": self.values_read,
            "summary": self.summary(),
            "counts": {s: self.count(s) for s in (EQUAL, CHANGED, ONLY_A, ONLY_B, NOT_COMPARED)},
            "notes": list(self.notes), "variables": [e.to_dict() for e in self.entries],
        }


def _paired(left: Iterator[Any], right: Iterator[Any]) -> Iterator[tuple[Any, Any]]:
    """Equal-length pieces of two flat element streams whose chunk sizes differ (an HDF5 row block
    against a byte range of a TF shard); each side holds at most one chunk plus a remainder."""
    import numpy as np

    a_buf = b_buf = None
    a_done = b_done = False
    while True:
        if not a_done and (a_buf is None or len(a_buf) == 0):
            a_buf = next(left, None)
            a_done = a_buf is None
        if not b_done and (b_buf is None or len(b_buf) == 0):
            b_buf = next(right, None)
            b_done = b_buf is None
        if a_done or b_done:
            if (a_buf is not None and len(a_buf)) or (b_buf is not None and len(b_buf)):
                raise ValueError("the two tensors hold different numbers of elements")
            return
        assert a_buf is not None and b_buf is not None  # neither stream has ended
        n = min(len(a_buf), len(b_buf))
        yield np.asarray(a_buf[:n]), np.asarray(b_buf[:n])
        a_buf, b_buf = a_buf[n:], b_buf[n:]


def compare_values(va: Variable, vb: Variable, atol: float, rtol: float,
                   chunk_bytes: int = DEFAULT_LIMITS.chunk_bytes) -> VariableDiff:
    """Compare two tensors chunk by chunk: memory stays bounded whatever their size."""
    import numpy as np

    entry = VariableDiff(CHANGED, va.component, va.path, vb.path, va.shape, vb.shape, va.dtype, vb.dtype)
    if not (va.readable and vb.readable):
        unread = va if not va.readable else vb
        entry.status, entry.note = NOT_COMPARED, f"values cannot be read ({unread.why_unreadable or unread.dtype})"
        if va.shape_known and vb.shape_known and va.shape != vb.shape:  # a shape change is known without values
            entry.status, entry.note = CHANGED, f"shape {list(va.shape)} vs {list(vb.shape)}"
        return entry
    if va.shape != vb.shape:
        entry.note = f"shape {list(va.shape)} vs {list(vb.shape)}"
        return entry
    equal, max_abs, max_rel, numeric, nan_one_side = True, 0.0, 0.0, True, False
    with np.errstate(all="ignore"):
        for a, b in _paired(va.chunks(chunk_bytes), vb.chunks(chunk_bytes)):
            if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
                numeric = False
                equal = equal and a.shape == b.shape and bool(np.all(a == b))
                continue
            if not a.size:
                continue
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            a_nan, b_nan = np.isnan(a64), np.isnan(b64)
            same = (a64 == b64) | (a_nan & b_nan)  # equal infinities are equal, not inf - inf = NaN apart
            delta = np.where(same, 0.0, np.abs(a64 - b64))  # NaN where exactly one side is NaN
            known = np.where(np.isnan(delta), 0.0, delta)
            rel = np.where(known == 0, 0.0, known / np.abs(b64))
            max_abs = max(max_abs, float(known.max()))
            max_rel = max(max_rel, float(np.where(np.isnan(rel), np.inf, rel).max()))
            nan_one_side = nan_one_side or bool(np.any(a_nan != b_nan))
            equal = equal and bool(np.all(same | (delta <= atol + rtol * np.abs(b64))))
    entry.status = EQUAL if equal and not nan_one_side else CHANGED
    if numeric:
        entry.max_abs, entry.max_rel = max_abs, max_rel
    notes = [f"dtype {va.dtype} vs {vb.dtype}"] if va.dtype != vb.dtype else []
    if nan_one_side:
        notes.append("NaN on one side only")
    entry.note = "; ".join(notes)
    return entry


def _positional(left_a: list[Variable], left_b: list[Variable]) -> list[tuple[Variable, Variable]] | None:
    if not left_a or len(left_a) != len(left_b):
        return None
    pairs = list(zip(sorted(left_a, key=lambda v: v.order), sorted(left_b, key=lambda v: v.order)))
    if any(x.shape != y.shape for x, y in pairs):
        return None
    return pairs


def diff_inventories(ia: Inventory, ib: Inventory, atol: float = 0.0, rtol: float = 0.0) -> DiffResult:
    result = DiffResult(ia.path, ib.path, ia.format, ib.format, atol, rtol)
    by_b = ib.by_path()
    matched: list[tuple[Variable, Variable]] = []
    left_a: list[Variable] = []
    for va in ia.variables:
        vb = by_b.pop(va.path, None)
        if vb is not None:
            matched.append((va, vb))
        else:
            left_a.append(va)
    left_b = list(by_b.values())
    only_a: list[Variable] = []
    only_b: list[Variable] = []
    for component in COMPONENTS:
        ca = [v for v in left_a if v.component == component]
        cb = [v for v in left_b if v.component == component]
        pairs = _positional(ca, cb)
        if pairs:
            matched.extend(pairs)
            result.notes.append(f"{component}: {len(pairs)} variable(s) matched by position and shape "
                                f"(paths differ: e.g. {pairs[0][0].path} ~ {pairs[0][1].path})")
            continue
        if ca and cb:
            result.notes.append(f"{component}: could not match {len(ca)} variable(s) of A with {len(cb)} of B "
                                "(different count or shapes)")
        only_a.extend(ca)
        only_b.extend(cb)
    for va, vb in matched:
        result.entries.append(compare_values(va, vb, atol, rtol))
    unread = [v for v in ia.variables + ib.variables if v.why_unreadable]
    if unread:
        result.values_read = False
        result.notes.append(f"{len(unread)} variable(s) compared by name and shape only: values "
                            f"{unread[0].why_unreadable}")
    for va in only_a:
        result.entries.append(VariableDiff(ONLY_A, va.component, va.path, None, va.shape, None, va.dtype, None))
    for vb in only_b:
        result.entries.append(VariableDiff(ONLY_B, vb.component, None, vb.path, None, vb.shape, None, vb.dtype))
    rank = {c: i for i, c in enumerate(COMPONENTS)}
    result.entries.sort(key=lambda e: rank.get(e.component, len(rank)))  # stable: keeps A's order
    return result
