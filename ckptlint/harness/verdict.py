"""The verdict of one verification, rendered as text or JSON.

JSON schema (`--format json`, `Report.to_json()`; "schema": "ckptlint.verify/2"):

  {
    "schema": "ckptlint.verify/2",
    "target": str,                 # "path/to/train.py:make_setup"
    "method": str,                 # user, checkpoint, manager, keras, h5, weights, savedmodel, backup_and_restore,
                                   # orbax
    "steps": int,                  # N: run A trains 2N steps, run B N + N
    "strategy": str | null,        # "mirrored" or null
    "verdict": "pass" | "fail" | "inconclusive" | "error",
    "exit_code": 0 | 1 | 2,        # pass 0; fail and inconclusive 1; error 2
    "error": {"phase": str, "message": str,          # phase: factory, batch, train step, save, restore, ...
              "where": str | null,                    # the user's file:line the error came from
              "traceback": str | null} | null,        # the user's traceback, ckptlint's frames left out
    "components": [                # state right after restore, one entry per component
      {"name": str,                # see ckptlint.harness.snapshot for the names
       "kind": str,                # model, slots, iterations, lr, rng, data,
                                   # state:<variable|generator|iterator|metric|trackable>
       "status": "restored" | "lost" | "differs" | "error" | "n/a",
       "holdable": bool,           # false when the method's format cannot hold this component at all
       "counts": {"restored", "not_restored", "reinitialised", "differs", "missing", "unexpected",
                  "unchanged": int},
       "worst_diff": float | null, # max |restored - saved| over the component's variables
       "note": str,
       "variables": [{"key": str, "status": "restored" | "NOT restored" | "re-initialised" | "differs" | "missing"
                                | "unexpected",
                      "max_abs_diff": float | null, "shape": [int], "unchanged": bool}]}
    ],
    "equivalence": {"equivalent": bool, "first_divergent_step": int | null,   # loss curves part here
                    "first_weight_divergent_step": int | null, "max_loss_diff": float,
                    "final_max_diff": {component: float}, "loss_a": [[float]], "loss_b": [[float]],
                    "weight_diff_per_step": [float], "atol": float, "rtol": float} | null,
    "control": {"differs": bool, "max_weight_diff": float} | null,
    "rng_carried": {"equivalent": bool, "first_weight_divergent_step": int | null, "carried": [str]} | null,
                                   # the resumed run again, with the saved RNG state copied in (only when the
                                   # run diverged and RNG state was not restored)
    "random_ops": [{"op": str, "function": str, "where": str | null}],  # stateful tf.random ops in the step
    "allow_rng": bool,             # --allow-rng: a divergence explained by RNG alone does not fail
    "causes": [str],               # why the verdict is not pass, one sentence per cause
    "notes": [str],
    "fit": {"updates_a": int, "interrupted_at": int, "resumed_from": int | null, "updates_b": int | null,
            "resumed_positions": [[epoch, batch]], "positions_a": [[epoch, batch]]} | null,
                                   # Setup.fit: where fit() was interrupted and where the resumed fit() began
    "timings": {phase: seconds}
  }

Non-finite floats (an infinite diff for mismatched shapes) are written as null. `JSON_SCHEMA` below is
the same schema as a JSON Schema document.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ckptlint.harness.compare import NOT_OK, Component, Control, Equivalence, VariableDiff
from ckptlint.harness.diagnosis import causes, rng_explains, rng_lost_keys
from ckptlint.harness.methods_names import BUILTIN_METHODS

SCHEMA = "ckptlint.verify/2"

_NUM = {"type": ["number", "null"]}
_COUNT_KEYS = ("restored", "not_restored", "reinitialised", "differs", "missing", "unexpected", "unchanged")
_COUNTS = {"type": "object", "required": list(_COUNT_KEYS), "additionalProperties": False,
           "properties": {k: {"type": "integer", "minimum": 0} for k in _COUNT_KEYS}}
# The JSON Schema (draft 2020-12) of to_dict(), the machine-readable form of the description above.
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "target", "method", "steps", "strategy", "verdict", "exit_code", "error",
                 "components", "equivalence", "control", "rng_carried", "random_ops", "allow_rng", "causes",
                 "notes", "fit", "timings"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA},
        "target": {"type": "string"},
        "method": {"enum": list(BUILTIN_METHODS)},
        "steps": {"type": "integer", "minimum": 1},
        "strategy": {"type": ["string", "null"]},
        "verdict": {"enum": ["pass", "fail", "inconclusive", "error"]},
        "exit_code": {"enum": [0, 1, 2]},
        "error": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["phase", "message"],
                                                "properties": {"phase": {"type": "string"},
                                                               "message": {"type": "string"},
                                                               "where": {"type": ["string", "null"]},
                                                               "traceback": {"type": ["string", "null"]}}}]},
        "components": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "kind", "status", "counts", "worst_diff", "holdable", "note", "variables"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"}, "kind": {"type": "string"},
                "status": {"enum": ["restored", "lost", "differs", "error", "n/a"]},
                "counts": _COUNTS, "worst_diff": _NUM, "holdable": {"type": "boolean"}, "note": {"type": "string"},
                "variables": {"type": "array", "items": {
                    "type": "object", "required": ["key", "status", "max_abs_diff", "shape", "unchanged"],
                    "additionalProperties": False,
                    "properties": {"key": {"type": "string"},
                                   "status": {"enum": ["restored", "NOT restored", "re-initialised", "differs",
                                                       "missing", "unexpected"]},
                                   "max_abs_diff": _NUM, "shape": {"type": "array", "items": {"type": "integer"}},
                                   "unchanged": {"type": "boolean"}}}},
            }}},
        "equivalence": {"oneOf": [{"type": "null"}, {
            "type": "object", "additionalProperties": False,
            "required": ["equivalent", "first_divergent_step", "first_weight_divergent_step", "max_loss_diff",
                         "final_max_diff", "loss_a", "loss_b", "weight_diff_per_step", "atol", "rtol"],
            "properties": {
                "equivalent": {"type": "boolean"},
                "first_divergent_step": {"type": ["integer", "null"], "minimum": 1},
                "first_weight_divergent_step": {"type": ["integer", "null"], "minimum": 1},
                "max_loss_diff": _NUM,
                "final_max_diff": {"type": "object", "additionalProperties": _NUM},
                "loss_a": {"type": "array", "items": {"type": "array", "items": _NUM}},
                "loss_b": {"type": "array", "items": {"type": "array", "items": _NUM}},
                "weight_diff_per_step": {"type": "array", "items": _NUM},
                "atol": {"type": "number"}, "rtol": {"type": "number"}}}]},
        "control": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["differs", "max_weight_diff"], "additionalProperties": False,
            "properties": {"differs": {"type": "boolean"}, "max_weight_diff": _NUM}}]},
        "rng_carried": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["equivalent", "first_weight_divergent_step", "carried"],
            "properties": {"equivalent": {"type": "boolean"},
                           "first_weight_divergent_step": {"type": ["integer", "null"]},
                           "carried": {"type": "array", "items": {"type": "string"}}}}]},
        "random_ops": {"type": "array", "items": {
            "type": "object", "required": ["op", "function", "where"],
            "properties": {"op": {"type": "string"}, "function": {"type": "string"},
                           "where": {"type": ["string", "null"]}}}},
        "allow_rng": {"type": "boolean"},
        "causes": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "fit": {"oneOf": [{"type": "null"}, {
            "type": "object",
            "required": ["updates_a", "interrupted_at", "resumed_from", "updates_b", "resumed_positions",
                         "positions_a"],
            "properties": {"updates_a": {"type": "integer"}, "interrupted_at": {"type": "integer"},
                           "resumed_from": {"type": ["integer", "null"]},
                           "updates_b": {"type": ["integer", "null"]},
                           "resumed_positions": {"type": "array"}, "positions_a": {"type": "array"}}}]},
        "timings": {"type": "object", "additionalProperties": {"type": "number"}},
    },
}
EXIT_CODES = {"pass": 0, "fail": 1, "inconclusive": 1, "error": 2}


@dataclass
class Report:
    target: str
    method: str
    steps: int
    strategy: Optional[str]
    components: list[Component] = field(default_factory=list)
    equivalence: Optional[Equivalence] = None
    control: Optional[Control] = None
    error: Optional[dict[str, Any]] = None
    timings: dict[str, float] = field(default_factory=dict)
    rng_carried: Optional[dict[str, Any]] = None
    random_ops: list[dict[str, Any]] = field(default_factory=list)
    allow_rng: bool = False
    notes: list[str] = field(default_factory=list)
    fit: Optional[dict[str, Any]] = None  # Setup.fit runs: updates, interruption, resume point, positions

    @property
    def diverged(self) -> bool:
        return self.equivalence is None or not self.equivalence.equivalent

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "error"
        if self.lost_components() - {"rng"}:
            return "fail"
        if self.diverged and not (self.allow_rng and rng_explains(self)):
            return "fail"
        if self.control is None or not self.control.differs:
            return "inconclusive"
        return "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def lost_components(self) -> set[str]:
        """Names of components not restored exactly (lost, differs or error). Random-number state counts
        only when the resumed run diverged: a stream the steps never drew from cannot matter."""
        return {c.name for c in self.components
                if c.status in NOT_OK and (c.kind != "rng" or (self.diverged and rng_lost_keys(self, True)))}

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def causes(self) -> list[str]:
        return [] if self.verdict == "pass" and not self.notes_rng() else causes(self)

    def notes_rng(self) -> bool:
        return self.allow_rng and self.diverged and rng_explains(self)

    # -- rendering -------------------------------------------------------------------------------------

    def headline(self) -> str:
        what = f"{self.target} (method {self.method}, {self.steps}+{self.steps} steps"
        if self.fit is not None:
            what = (f"{self.target} (method {self.method}, fit() interrupted after update {self.steps} of "
                    f"{self.fit['updates_a']}")
        what += f", strategy {self.strategy})" if self.strategy else ")"
        if self.error is not None:  # the message names the user's file and line when there is one
            return f"ERROR in {self.error['phase']}: {self.error['message']}  [{what}]"
        if self.verdict == "pass":
            if self.notes_rng():
                return (f"PASS (--allow-rng): every component restored; the resumed run differs only through "
                        f"random-number state  [{what}]")
            return f"PASS: every component restored and the resumed run is identical  [{what}]"
        if self.verdict == "inconclusive":
            return (f"INCONCLUSIVE: everything matched, but a cold start without restore matched too, "
                    f"so this check could not have failed  [{what}]")
        lost = sorted(self.lost_components())
        parts = [f"{len(lost)} component(s) not restored: {', '.join(lost)}"] if lost else []
        eq = self.equivalence
        if eq is not None and not eq.equivalent:
            parts.append("runs diverged" + (f" at step {eq.first_divergent_step}" if eq.first_divergent_step
                                            else " (final state differs)"))
            if rng_explains(self):
                parts.append("explained by random-number state alone")
        return f"FAIL: {'; '.join(parts)}  [{what}]"

    def to_text(self) -> str:
        lines = [self.headline()]
        if self.components:
            lines += ["", *_table(self.components)]
            for c in self.components:
                bad = [v for v in c.variables if v.status != "restored"]
                for v in bad[:5]:
                    diff = "" if v.max_abs_diff is None else f"  (max abs diff {_num(v.max_abs_diff)})"
                    lines.append(f"    {c.name}: {v.key}: {v.status}{diff}")
                if len(bad) > 5:
                    lines.append(f"    {c.name}: ... and {len(bad) - 5} more")
        eq = self.equivalence
        if eq is not None:
            tol = "bitwise" if eq.atol == 0 and eq.rtol == 0 else f"atol={eq.atol:g} rtol={eq.rtol:g}"
            state = "identical" if eq.equivalent else "DIVERGED"
            lines += ["", f"resume equivalence ({tol}): {state}"]
            if eq.first_divergent_step is not None:
                lines.append(f"  loss curves part at step {eq.first_divergent_step} of {len(eq.loss_a)} "
                             f"(resume after step {self.steps}); max loss diff {_num(eq.max_loss_diff)}")
            if eq.first_weight_divergent_step is not None:
                lines.append(f"  weights part after step {eq.first_weight_divergent_step}")
            worst = {k: v for k, v in eq.final_max_diff.items() if v != 0.0}
            if worst:
                lines.append("  final state differs in: " + ", ".join(f"{k} ({_num(v)})" for k, v in worst.items()))
        if self.fit is not None:
            lines.append(_fit_line(self.fit))
        if self.rng_carried is not None:
            state = ("identical" if self.rng_carried["equivalent"]
                     else f"still DIVERGED (weights part after step {self.rng_carried['first_weight_divergent_step']})")
            lines.append(f"  resumed again with the saved RNG state carried over: {state}")
        if self.control is not None:
            verb = "differs from" if self.control.differs else "MATCHES"
            lines.append(f"negative control: a cold start {verb} the uninterrupted run "
                         f"(max weight diff {_num(self.control.max_weight_diff)})")
        causes_found = self.causes()
        if causes_found:
            lines += ["", "why:"] + [f"  - {c}" for c in causes_found]
        lines += [f"note: {n}" for n in self.notes]
        if self.timings:
            lines.append("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return _finite({
            "schema": SCHEMA,
            "target": self.target,
            "method": self.method,
            "steps": self.steps,
            "strategy": self.strategy,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "error": self.error,
            "components": [asdict(c) for c in self.components],
            "equivalence": asdict(self.equivalence) if self.equivalence else None,
            "control": asdict(self.control) if self.control else None,
            "rng_carried": self.rng_carried,
            "random_ops": self.random_ops,
            "allow_rng": self.allow_rng,
            "causes": self.causes(),
            "notes": self.notes,
            "fit": self.fit,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        """Rebuild a Report written by to_dict (used when a whole verification ran in a subprocess)."""
        components = []
        for c in data["components"]:
            c = dict(c)
            c["variables"] = [VariableDiff(**v) for v in c["variables"]]
            components.append(Component(**c))
        eq = data.get("equivalence")
        if eq is not None:
            eq = dict(eq)
            eq["final_max_diff"] = {k: (math.inf if v is None else v) for k, v in eq["final_max_diff"].items()}
            eq["max_loss_diff"] = math.inf if eq["max_loss_diff"] is None else eq["max_loss_diff"]
        ctl = data.get("control")
        return cls(target=data["target"], method=data["method"], steps=data["steps"],
                   strategy=data.get("strategy"), components=components,
                   equivalence=Equivalence(**eq) if eq else None,
                   control=Control(**ctl) if ctl else None,
                   error=data.get("error"), timings=data.get("timings", {}),
                   rng_carried=data.get("rng_carried"), random_ops=data.get("random_ops", []),
                   allow_rng=data.get("allow_rng", False), notes=data.get("notes", []), fit=data.get("fit"))


def _table(components: list[Component]) -> list[str]:
    header = ("component", "status", "restored", "NOT restored", "re-initialised", "differs", "missing",
              "unexpected", "worst diff")
    rows = [header]
    for c in components:
        n = c.counts
        rows.append((c.name, c.status.upper() if c.status in NOT_OK else c.status, str(n["restored"]),
                     str(n["not_restored"]), str(n.get("reinitialised", 0)), str(n["differs"]), str(n["missing"]),
                     str(n["unexpected"]), "-" if c.worst_diff is None else _num(c.worst_diff)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  note: {c.name}: {c.note}" for c in components if c.note]
    return out + notes


def _fit_line(fit: dict[str, Any]) -> str:
    k = fit["resumed_from"]
    text = (f"  fit(): {fit['updates_a']} updates uninterrupted; interrupted after update {fit['interrupted_at']}; "
            + ("resumed from a state the uninterrupted run never had" if k is None else f"resumed from update {k}"))
    if fit["updates_b"] is not None:
        text += f", {fit['updates_b']} updates in all"
    return text


def _num(x: float) -> str:
    return "inf" if x == math.inf else f"{x:.3g}"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
