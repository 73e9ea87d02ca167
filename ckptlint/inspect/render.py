"""Text and JSON reports for `ckptlint inspect` and `ckptlint diff`.

Rendering reads only what it shows: scalar values (iterations, counters) and, for verdicts, slot values.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ckptlint.inspect.diff import DiffResult
from ckptlint.inspect.inventory import (
    DATA_ITERATOR,
    ITERATIONS,
    MODEL,
    OPTIMIZER,
    OTHER,
    RNG,
    SAVE_COUNTER,
    STEP_COUNTERS,
    Inventory,
    Variable,
)
from ckptlint.inspect.verdicts import Verdict, scalar_value

# Control characters and bidirectional overrides from an artifact's names must not reach a terminal
# as they are (a newline forges report lines, ESC sequences rewrite the screen).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """`text` with control characters escaped and lone surrogates (undecodable names) spelled out."""
    escaped = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))
    return escaped.encode("utf-8", "backslashreplace").decode("utf-8")


GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model variables", (MODEL,)),
    ("optimizer state", (ITERATIONS, OPTIMIZER)),
    ("step counters", (STEP_COUNTERS,)),
    ("save counter", (SAVE_COUNTER,)),
    ("rng state", (RNG,)),
    ("data iterator state", (DATA_ITERATOR,)),
    ("other variables", (OTHER,)),
)


def _value_text(inv: Inventory, var: Variable) -> str:
    if var.shape != () or not var.shape_known:
        return ""
    if not var.readable:
        return " = unknown" if var.why_unreadable else ""
    value = scalar_value(inv, var.path)
    if isinstance(value, bytes):
        value = value[:40]
    return f" = {value:g}" if isinstance(value, float) else f" = {str(value)[:80]}"


def _shape_text(var: Variable) -> str:
    return str(list(var.shape)) if var.shape_known else "[?]"


def _variable_line(inv: Inventory, var: Variable, width: int) -> str:
    line = f"  {var.path:<{width}}  {_shape_text(var):<12} {var.dtype:<8}{_value_text(inv, var)}"
    if var.is_slot:
        line += f"  {var.slot_kind} of {var.slot_for or '(no matching model variable)'}"
    return line.rstrip()


def inspect_text(inv: Inventory, verdicts: list[Verdict], missing_required: list[str]) -> str:
    lines = [f"artifact: {inv.path} ({inv.format})", f"read:     {inv.read_path}"]
    width = max((len(v.path) for v in inv.variables), default=10)
    for title, components in GROUPS:
        members = [v for v in inv.variables if v.component in components]
        if not members:
            continue
        lines.append("")
        lines.append(f"{title} ({len(members)}):")
        if OPTIMIZER in components:
            for opt in inv.optimizers:
                kinds = ", ".join(f"{k} × {n}" for k, n in opt.slot_kinds.items()) or "no slots"
                lines.append(f"  [{opt.path}] {opt.name or 'optimizer'}: {kinds}")
        lines.extend(_variable_line(inv, v, width) for v in members)
    lines.append("")
    lines.append("verdicts:")
    lines.extend(f"  {v.level:<8} {v.message}" for v in verdicts)
    for note in inv.notes:
        lines.append(f"  note     {note}")
    if missing_required:
        lines.append("")
        lines.append(f"required component(s) missing: {', '.join(missing_required)}")
    return "\n".join(printable(line) for line in lines)


def inventory_dict(inv: Inventory, verdicts: list[Verdict], missing_required: list[str]) -> dict[str, Any]:
    return {
        "path": inv.path,
        "format": inv.format,
        "read": inv.read_path,
        "components": sorted(inv.components_present()),
        "optimizers": [
            {"path": o.path, "name": o.name, "slot_kinds": dict(o.slot_kinds), "n_variables": o.n_trainable,
             "iterations": scalar_value(inv, o.iterations_path)}
            for o in inv.optimizers
        ],
        "variables": [
            {"path": v.path, "key": v.key, "component": v.component,
             "shape": list(v.shape) if v.shape_known else None, "dtype": v.dtype,
             "slot_kind": v.slot_kind, "slot_for": v.slot_for, "optimizer": v.optimizer,
             "value": _json_scalar(inv, v)}
            for v in inv.variables
        ],
        "verdicts": [v.to_dict() for v in verdicts],
        "notes": list(inv.notes),
        "missing_required": list(missing_required),
    }


def _json_scalar(inv: Inventory, var: Variable) -> Any:
    if var.shape != () or not var.readable:
        return None
    value = scalar_value(inv, var.path)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def diff_text(result: DiffResult) -> str:
    lines = [
        result.summary(),
        f"A: {result.a} ({result.format_a})",
        f"B: {result.b} ({result.format_b})",
    ]
    width = max((len(e.path) for e in result.entries), default=10)
    current = None
    for entry in result.entries:
        if entry.component != current:
            current = entry.component
            lines.append("")
            lines.append(f"{current}:")
        line = f"  {entry.status:<12} {entry.path:<{width}}"
        if entry.max_abs is not None and entry.status != "equal":
            line += f"  max abs {entry.max_abs:.3g}, max rel {entry.max_rel:.3g}"
        shape = entry.shape_a if entry.shape_a is not None else entry.shape_b
        if entry.status in ("only in A", "only in B"):
            line += f"  {list(shape or ())} {entry.dtype_a or entry.dtype_b}"
        if entry.note:
            line += f"  ({entry.note})"
        lines.append(line.rstrip())
    if result.notes:
        lines.append("")
        lines.append("notes:")
        lines.extend(f"  {n}" for n in result.notes)
    return "\n".join(printable(line) for line in lines)


def _strict(value: Any) -> Any:
    """NaN and infinities (a diverged run's values) as strings, so the output stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(_strict(data), indent=2, sort_keys=False, default=str, allow_nan=False)
