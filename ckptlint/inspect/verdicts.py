"""The judgements a user needs from an inventory: is the optimizer state there, and is it coherent?

Each verdict is a level ("ok", "warning", "missing", "info") and one sentence, so text and JSON reports
show the same thing and CI can key on the level.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

from ckptlint.inspect.inventory import MODEL, SAVE_COUNTER, STEP_COUNTERS, Inventory, OptimizerInfo, Variable


@dataclass(frozen=True)
class Verdict:
    level: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "message": self.message}


def scalar_value(inv: Inventory, path: str | None) -> Any:
    """A scalar variable's value as a Python number (None when absent or unreadable)."""
    var = inv.by_path().get(path) if path else None
    if var is None or not var.readable or prod(var.shape) != 1:
        return None
    value = var.values()
    return value.item() if hasattr(value, "item") else value


def _scalar_text(inv: Inventory, var: Variable) -> str:
    """The value, or "unknown" when the format keeps it out of reach (Orbax's compressed store)."""
    value = scalar_value(inv, var.path)
    return "unknown" if value is None and var.why_unreadable else str(value)


def _slots_nonzero(inv: Inventory, opt: OptimizerInfo) -> bool:
    """Any non-zero slot value, read chunk by chunk and stopping at the first one found."""
    import numpy as np

    for var in inv.variables:
        if var.optimizer == opt.path and var.is_slot and var.readable:
            if any(np.any(np.asarray(chunk) != 0) for chunk in var.chunks()):
                return True
    return False


def describe_optimizer(inv: Inventory, opt: OptimizerInfo) -> str:
    """`adam, 2 slots × 4 variables, iterations=5` (slot kinds listed when the name is unknown)."""
    name = opt.name or opt.path
    kinds = list(opt.slot_kinds)
    if not kinds:
        slots = "no slots"
    else:
        per_kind = sorted(set(opt.slot_kinds.values()))
        n_vars = opt.n_trainable or (per_kind[0] if len(per_kind) == 1 else None)
        slots = f"{len(kinds)} slot{'s' if len(kinds) != 1 else ''} ({', '.join(kinds)})"
        if n_vars:
            slots += f" × {n_vars} variables"
    parts = [name, slots]
    iterations = scalar_value(inv, opt.iterations_path)
    stored = inv.by_path().get(opt.iterations_path) if opt.iterations_path else None
    if iterations is not None:
        parts.append(f"iterations={iterations}")
    elif stored is not None and stored.why_unreadable:
        parts.append("iterations present, value unknown")
    else:
        parts.append("iterations MISSING")
    return ", ".join(parts)


def _no_slots(inv: Inventory, opt: OptimizerInfo, label: str) -> list[Verdict]:
    """An optimizer saved before it was built (compiled, never trained) stores no slots at all."""
    from ckptlint.inspect.keras_layout import SLOT_KINDS, base_name

    base = base_name(opt.name)
    if base in SLOT_KINDS and base != "sgd":  # SGD without momentum legitimately has no slots
        return [Verdict("warning", f"{label}: {base} keeps per-variable slots but none are stored (the optimizer "
                                   f"was never built): resuming from this resets its moments")]
    if scalar_value(inv, opt.iterations_path) == 0:
        return [Verdict("info", f"{label}: never stepped (iterations=0, no slots)")]
    return []


def verdicts(inv: Inventory) -> list[Verdict]:
    out: list[Verdict] = []
    if inv.optimizers:
        for opt in inv.optimizers:
            label = "optimizer state" if len(inv.optimizers) == 1 else f"optimizer state [{opt.path}]"
            out.append(Verdict("ok", f"{label}: present ({describe_optimizer(inv, opt)})"))
            if not opt.slot_kinds:
                out.extend(_no_slots(inv, opt, label))
            if opt.iterations_path is None:
                out.append(Verdict("warning", f"{label}: no `iterations` variable: the learning-rate schedule "
                                              "and Adam's bias correction restart at step 0"))
            elif scalar_value(inv, opt.iterations_path) == 0 and _slots_nonzero(inv, opt):
                out.append(Verdict("warning", f"{label}: iterations=0 beside non-zero slots: the step count was "
                                              "reset while the moments were kept (schedule and bias correction "
                                              "restart)"))
    else:
        who = f"{inv.declared_optimizer.capitalize()}'s" if inv.declared_optimizer else "the optimizer's"
        extra = f" (the model is compiled with {inv.declared_optimizer}, but its state was not saved)" \
            if inv.declared_optimizer else ""
        out.append(Verdict("missing", f"optimizer state: MISSING — resuming from this resets {who} moments and "
                                      f"the learning-rate schedule{extra}"))
    orphans = [v for v in inv.variables if v.is_slot and v.slot_for is None]
    if orphans:
        names = ", ".join(f"{v.path} {list(v.shape)}" for v in orphans[:4]) + (", ..." if len(orphans) > 4 else "")
        out.append(Verdict("warning", f"{len(orphans)} slot variable(s) with no matching model variable: {names}"))
    owners = {v.slot_for for v in inv.variables if v.is_slot and v.slot_for}
    model_paths = {v.path for v in inv.by_component(MODEL)}
    if owners and not (owners & model_paths):
        out.append(Verdict("warning", "slots point at model variables that are not in this artifact"))
    via_optimizer = [v for v in inv.by_component(MODEL) if "/trainable_variables/" in v.path]
    if via_optimizer and len(via_optimizer) == len(inv.by_component(MODEL)):
        out.append(Verdict("info", "the model was not saved under its own key: its weights are stored only "
                                   "through the optimizer's trainable-variable list"))
    if not inv.by_component(MODEL):
        out.append(Verdict("missing", "model variables: none in this artifact"))
    for var in inv.by_component(STEP_COUNTERS):
        out.append(Verdict("info", f"step counter {var.path} = {_scalar_text(inv, var)}"))
    for var in inv.by_component(SAVE_COUNTER):
        out.append(Verdict("info", f"save counter = {_scalar_text(inv, var)}"))
    return out
