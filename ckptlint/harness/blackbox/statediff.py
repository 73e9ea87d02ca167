"""Snapshot comparisons the verdict needs: equal within tolerance, the first differing variable, and
aligning optimizer component names across processes (Keras numbers unnamed optimizers from a
process-wide counter, so the same optimizer can be `adam` in one run and `adam_1` in the next)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ckptlint.harness.compare import close, max_abs_diff
from ckptlint.harness.snapshot import Snapshot

_OPTIMIZER_COMPONENT = re.compile(r"^(optimizer slots|optimizer iterations|learning rate)\[(.*)\]$")


@dataclass
class Difference:
    component: str
    key: str
    max_abs_diff: float

    def describe(self) -> str:
        diff = "shape or presence differs" if self.max_abs_diff == float("inf") else \
            f"max abs diff {self.max_abs_diff:.3g}"
        return f"{self.component}: {self.key} ({diff})"


def renamed_like(snapshot: Snapshot, own_order: list[str], reference_order: list[str]) -> Snapshot:
    """`snapshot` with its optimizer components renamed to the reference's names, matched by order."""
    mapping = {mine: ref for mine, ref in zip(own_order, reference_order)}
    if all(k == v for k, v in mapping.items()):
        return snapshot
    values, kinds = {}, {}
    for component, entries in snapshot.values.items():
        match = _OPTIMIZER_COMPONENT.match(component)
        name = f"{match.group(1)}[{mapping.get(match.group(2), match.group(2))}]" if match else component
        values[name] = entries
        kinds[name] = snapshot.kinds.get(component, "")
    return Snapshot(values, kinds, dict(snapshot.built_over))


def first_difference(a: Snapshot, b: Snapshot, atol: float = 0.0, rtol: float = 0.0,
                     components: Optional[set[str]] = None) -> Optional[Difference]:
    """The first variable (in a's order) whose value differs in b, or None when they agree."""
    for component, entries in a.values.items():
        if components is not None and component not in components:
            continue
        other = list(b.values.get(component, {}).items())
        for pos, (key, value) in enumerate(entries.items()):
            if pos >= len(other):
                return Difference(component, key, float("inf"))
            if not close(value, other[pos][1], atol, rtol):
                return Difference(component, key, max_abs_diff(value, other[pos][1]))
        if len(other) > len(entries):
            return Difference(component, other[len(entries)][0], float("inf"))
    for component in b.values:
        if component not in a.values and (components is None or component in components) and b.values[component]:
            return Difference(component, next(iter(b.values[component])), float("inf"))
    return None


def per_component_max_diff(a: Snapshot, b: Snapshot) -> dict[str, float]:
    worst: dict[str, float] = {}
    for component, entries in a.values.items():
        mine = list(entries.values())
        other = list(b.values.get(component, {}).values())
        value = 0.0 if len(mine) == len(other) else float("inf")
        for x, y in zip(mine, other):
            value = max(value, max_abs_diff(x, y))
        worst[component] = value
    return worst


def scalar_close(a: Optional[float], b: Optional[float], atol: float, rtol: float) -> bool:
    if a is None or b is None:
        return a is b
    return close(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), atol, rtol)
