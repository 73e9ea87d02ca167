"""Classify every variable after restore, compare the resumed run with the uninterrupted one, and judge
the negative control. Pure functions over Snapshots and loss logs: no TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from ckptlint.harness.snapshot import Snapshot

RESTORED, NOT_RESTORED, DIFFERS, MISSING, UNEXPECTED = "restored", "NOT restored", "differs", "missing", "unexpected"
# created after the restore (an unbuilt model's layer, deferred restoration) and holding a fresh value
REINITIALISED = "re-initialised"
VARIABLE_STATUSES = (RESTORED, NOT_RESTORED, REINITIALISED, DIFFERS, MISSING, UNEXPECTED)
COUNT_KEYS = {RESTORED: "restored", NOT_RESTORED: "not_restored", REINITIALISED: "reinitialised",
              DIFFERS: "differs", MISSING: "missing", UNEXPECTED: "unexpected"}
# component statuses
C_RESTORED, C_LOST, C_DIFFERS, C_ERROR, C_NA = "restored", "lost", "differs", "error", "n/a"
NOT_OK = frozenset({C_LOST, C_DIFFERS, C_ERROR})

UNOBSERVABLE_DATA = (
    "not observable: train_step() reads its own data; put its tf.data iterator in Setup.state to see the "
    "position (resume equivalence still covers it)"
)


@dataclass
class VariableDiff:
    key: str
    status: str
    max_abs_diff: Optional[float]
    shape: list[int]
    unchanged: bool = False  # training never changed it, so "restored" cannot be told from "not restored"


@dataclass
class Component:
    name: str
    kind: str
    status: str
    counts: dict[str, int]
    worst_diff: Optional[float]
    holdable: bool = True
    note: str = ""
    variables: list[VariableDiff] = field(default_factory=list)


def equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise-equal values (NaN equals NaN); different shapes are never equal."""
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def classify(saved: Optional[np.ndarray], initial: Optional[np.ndarray], restored: Optional[np.ndarray],
             key: str) -> VariableDiff:
    if saved is None:
        assert restored is not None
        return VariableDiff(key, UNEXPECTED, None, list(restored.shape))
    if restored is None:
        return VariableDiff(key, MISSING, None, list(saved.shape))
    unchanged = initial is not None and equal(saved, initial)
    if equal(restored, saved):
        return VariableDiff(key, RESTORED, 0.0, list(saved.shape), unchanged)
    if initial is not None and equal(restored, initial):
        return VariableDiff(key, NOT_RESTORED, max_abs_diff(restored, saved), list(saved.shape))
    return VariableDiff(key, DIFFERS, max_abs_diff(restored, saved), list(saved.shape))


def align(reference: list[tuple[str, np.ndarray]], other: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """`other` in `reference`'s order when both hold the same variables by path, in another order.

    Position is how checkpoints match slots, and the default here; but an optimizer whose slots were
    created by a restore (tf_keras legacy creates them in the checkpoint's order, without its name scope:
    "dense/kernel/m" for "Adam/dense/kernel/m") lists the same variables in another order than the one
    that trained, and that is not a difference of state. Paths match when equal or when one ends with
    the other; every variable must find exactly one partner, or the order is kept.
    """
    ref_paths = [_plain_path(key) for key, _ in reference]
    other_paths = [_plain_path(key) for key, _ in other]
    if ref_paths == other_paths or len(ref_paths) != len(other_paths):
        return other
    order: list[int] = []
    for path in ref_paths:
        partners = [i for i, p in enumerate(other_paths)
                    if p == path or p.endswith("/" + path) or path.endswith("/" + p)]
        if len(partners) != 1 or partners[0] in order:
            return other
        order.append(partners[0])
    return [other[i] for i in order]


def _plain_path(key: str) -> str:
    """A variable's path without its position and without the control-flow name scopes TF adds when the
    variable is created inside a traced loop or branch ("while/Adam/dense/kernel/m")."""
    path = key.split(" ", 1)[-1]
    return re.sub(r"^(?:(?:while|cond|case)(?:_\d+)?/)+", "", path)


def diff_restore(saved: Snapshot, initial: Snapshot, restored: Snapshot,
                 holds: Callable[[str], bool], errors: dict[str, str], *,
                 created_after_restore: frozenset[str] = frozenset(), unused: Sequence[str] = (),
                 notes: Optional[dict[str, str]] = None) -> list[Component]:
    """Per component, match variables by position and classify each one.

    created_after_restore: components read at the first update because they did not exist right after the
    restore; a fresh value there is "re-initialised". unused: keys of model variables the first update had
    no gradient for; when the model holds more variables than were saved, they are left out of the
    positional match and shown as unexpected.
    """
    names = list(saved.values) + [n for n in restored.values if n not in saved.values]
    components = []
    for name in names:
        kind = saved.kinds.get(name) or restored.kinds.get(name, "")
        s_items = list(saved.values.get(name, {}).items())
        i_items = [v for _, v in align(s_items, list(initial.values.get(name, {}).items()))]
        r_all = align(s_items, list(restored.values.get(name, {}).items()))
        left_out: list[tuple[str, np.ndarray]] = []
        if kind == "model" and unused and len(r_all) > len(s_items):
            excess = len(r_all) - len(s_items)
            drop = set(list(unused)[:excess])
            left_out = [item for item in r_all if item[0] in drop]
            r_all = [item for item in r_all if item[0] not in drop]
        variables = []
        for pos in range(max(len(s_items), len(r_all))):
            s = s_items[pos][1] if pos < len(s_items) else None
            r = r_all[pos][1] if pos < len(r_all) else None
            i = i_items[pos] if pos < len(i_items) else None
            key = (r_all[pos] if pos < len(r_all) else s_items[pos])[0]
            diff = classify(s, i, r, key)
            if kind == "rng" and diff.unchanged and diff.status != MISSING:
                # training never drew from it: where a restore leaves it cannot change any update
                diff = VariableDiff(key, RESTORED, 0.0, diff.shape, True)
            if diff.status == NOT_RESTORED and name in created_after_restore and kind == "model":
                diff.status = REINITIALISED
            variables.append(diff)
        for key, value in left_out:
            variables.append(VariableDiff(f"{key} (no gradient at the first update: not used by the model)",
                                          UNEXPECTED, None, list(value.shape)))
        note = (notes or {}).get(name, "")
        components.append(_component(name, kind, variables, holds(kind), errors.get(kind.split(":")[0]), note))
    return components


def _component(name: str, kind: str, variables: list[VariableDiff], holdable: bool,
               error: Optional[str], note: str = "") -> Component:
    counts = {COUNT_KEYS[s]: sum(v.status == s for v in variables) for s in VARIABLE_STATUSES}
    counts["unchanged"] = sum(v.unchanged for v in variables)
    diffs = [v.max_abs_diff for v in variables if v.max_abs_diff is not None]
    worst = max(diffs) if diffs else None
    if error:
        status, note = C_ERROR, error
    elif kind == "data:unobservable":
        status, note = C_NA, UNOBSERVABLE_DATA
    elif not variables:
        status, note = C_NA, "nothing to compare (no variables)"
    elif counts["not_restored"] or counts["missing"] or counts["reinitialised"]:
        status = C_LOST
    elif counts["differs"] or counts["unexpected"]:
        status = C_DIFFERS
    else:
        status = C_RESTORED
        if counts["unchanged"] == len(variables) and not note:
            note = "training never changed it: equal to a fresh value either way"
    if status in NOT_OK and status != C_ERROR and not holdable:
        note = "this method cannot hold it"
    return Component(name, kind, status, counts, worst, holdable, note, variables)


@dataclass
class Equivalence:
    """Run A (2N uninterrupted steps) vs run B (N, save, restore in a fresh process, N)."""

    equivalent: bool
    first_divergent_step: Optional[int]  # 1-based step whose loss first differs; None if the curves agree
    first_weight_divergent_step: Optional[int]  # 1-based step after which the weights first differ
    max_loss_diff: float
    final_max_diff: dict[str, float]
    loss_a: list[list[float]]
    loss_b: list[list[float]]
    weight_diff_per_step: list[float]
    atol: float
    rtol: float


def close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> bool:
    if atol == 0.0 and rtol == 0.0:
        return equal(a, b)
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True))


def compare_runs(final_a: Snapshot, final_b: Snapshot, loss_a: list[list[float]], loss_b: list[list[float]],
                 weight_diffs: list[float], atol: float, rtol: float) -> Equivalence:
    final_diff: dict[str, float] = {}
    same = True
    for name, a_entries in final_a.values.items():
        a_vals = list(a_entries.values())
        b_vals = [v for _, v in align(list(a_entries.items()), list(final_b.values.get(name, {}).items()))]
        worst = 0.0 if len(a_vals) == len(b_vals) else float("inf")
        # RNG state counts through what it changes (weights, losses), not as a result of its own: a
        # restore that draws a layer seed moves Python's random state without changing any update
        counted = final_a.kinds.get(name) != "rng"
        for a, b in zip(a_vals, b_vals):
            worst = max(worst, max_abs_diff(a, b))
            same = same and (close(a, b, atol, rtol) or not counted)
        same = same and (len(a_vals) == len(b_vals) or not counted)
        final_diff[name] = worst
    first, max_loss = None, 0.0
    for step, (la, lb) in enumerate(zip(loss_a, loss_b), start=1):
        a, b = np.asarray(la, dtype=np.float64), np.asarray(lb, dtype=np.float64)
        max_loss = max(max_loss, max_abs_diff(a, b))
        if first is None and not close(a, b, atol, rtol):
            first = step
    tolerance = atol  # per-step weight diffs are max |a - b|; rtol is applied to the final state only
    first_w = next((i for i, d in enumerate(weight_diffs, start=1) if d is None or not d <= tolerance), None)
    equivalent = same and first is None and first_w is None and len(loss_a) == len(loss_b)
    return Equivalence(equivalent, first, first_w, max_loss, final_diff, loss_a, loss_b, weight_diffs, atol, rtol)


@dataclass
class Control:
    """A cold start (fresh setup, no restore, the same last N steps) must end somewhere other than run A."""

    differs: bool
    max_weight_diff: float


def judge_control(final_a: np.ndarray, final_cold: np.ndarray, atol: float, rtol: float) -> Control:
    return Control(not close(final_a, final_cold, atol, rtol), max_abs_diff(final_a, final_cold))
