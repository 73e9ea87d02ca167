"""The black-box verdict as text or JSON.

JSON: schema "ckptlint.verify/1" (the factory mode's document, see ckptlint.harness.verdict) with
"mode": "blackbox", "method": "blackbox", "target" the command line (the factory target for `verify TARGET
--workers N`, whose command is ckptlint's own driver), "steps" the uninterrupted run's
optimizer updates, verdicts extended with "did not resume" and "crashed on resume", and one more object:

  "blackbox": {
    "command": [str],                                   # as given; {out} is each trial's directory
    "trials": {"U"|"U2"|"K"|"R": {"exit_code": int|null, "timed_out": bool, "elapsed": float,
                                  "updates": int, "save_points": int, "hooked": bool,
                                  "last_error": str|null}},
    "kill": {"at_update": int|null, "in_save_point": int|null, "chosen_by": str, "signal": "kill"|"term",
             "happened": {"reason": "update"|"save", "n": int, "where": str|null} | null},
    "resume": {"update": int, "save_point": int|null, "api": str|null, "path": str|null,
               "identified_by": "restore"|"state"} | null,
    "causes":  [{"code": str, "message": str}],        # why not pass; codes: components, rng, data-order,
    "allowed": [{"code": str, "message": str}],        #   extra-updates, epoch-restart, epoch-rerun,
                                                       #   fewer-updates, diverged
    "determinism": {"checked": bool, "identical": bool, "first_difference": str|null,
                    "likely_cause": str|null} | null,
    "curves": {"quantity": "loss"|"weight checksum", "U": [[n, value]], "K": [[n, value]],
               "R": [[n, value]], "resume_at": int|null},
    "notes": [str]
  }

With --workers N (N > 1) the "blackbox" object has two more members, and "components", "resume",
"equivalence" and "curves" are the chief's (worker 0):

    "workers": [{"index": int, "verdict": str, "summary": str, "causes": [cause], "allowed": [cause],
                 "components": [component], "resume": resume | null, "equivalent": bool | null,
                 "updates": {"U"|"U2"|"K"|"R": int},
                 "exactly_once": {"resumed_at": int|null, "updates_after_resume": int, "uninterrupted": int,
                                  "exactly_once": bool}}],
    "cluster": {"workers": int, "chief": 0, "kill_worker": "all" | str,
                "trials": {"U"|...: {"ports": [int], "remote_addresses": [str],
                                     "ended_by_group": {worker index: why ckptlint ended it}}}}

Cluster cause codes: shared-path, worker-state, resumed-apart, stalled (see cluster_analysis.py).

"components" compare R's state before its first update with U's at the update R resumed from;
"equivalence" compares U with K-then-R update by update ("weight_diff_per_step" holds the absolute
difference of the per-update weight checksums). "control" is always null: U2 and the fresh-start test
of R take its place. `BLACKBOX_JSON_SCHEMA` is the JSON Schema document.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ckptlint.harness import verdict as factory_verdict
from ckptlint.harness.blackbox.analysis import VERDICTS, Outcome, last_error_line
from ckptlint.harness.blackbox.command import TrialCommand
from ckptlint.harness.blackbox.options import BlackboxOptions
from ckptlint.harness.blackbox.record import TrialRecord
from ckptlint.harness.blackbox.trial import TrialRun, is_loopback

_CAUSE = {"type": "object", "required": ["code", "message"], "additionalProperties": False,
          "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}
_POINTS = {"type": "array", "items": {"type": "array", "items": {"type": ["number", "null"]}}}


# The members of the factory-mode report a black-box report has too; the rest (the factory mode's own
# causes, notes, rng and fit members) describe a factory run and are left out (the black-box causes and
# notes are in "blackbox").
SHARED_WITH_FACTORY = ("schema", "target", "method", "steps", "strategy", "verdict", "exit_code", "error",
                       "components", "equivalence", "control", "timings")


def _blackbox_schema() -> dict[str, Any]:
    schema = copy.deepcopy(factory_verdict.JSON_SCHEMA)
    schema["required"] = [key for key in schema["required"] if key in SHARED_WITH_FACTORY]
    schema["properties"] = {key: value for key, value in schema["properties"].items()
                            if key in SHARED_WITH_FACTORY}
    props = schema["properties"]
    props["method"] = {"enum": [*props["method"]["enum"], "blackbox"]}
    props["verdict"] = {"enum": list(VERDICTS)}
    props["steps"] = {"type": "integer", "minimum": 0}
    props["mode"] = {"const": "blackbox"}
    props["blackbox"] = {
        "type": "object", "additionalProperties": False,
        "required": ["command", "trials", "kill", "resume", "causes", "allowed", "determinism", "curves", "notes"],
        "properties": {
            "command": {"type": "array", "items": {"type": "string"}},
            "trials": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": False,
                "required": ["exit_code", "timed_out", "elapsed", "updates", "save_points", "hooked", "last_error"],
                "properties": {"exit_code": {"type": ["integer", "null"]}, "timed_out": {"type": "boolean"},
                               "elapsed": {"type": "number"}, "updates": {"type": "integer"},
                               "save_points": {"type": "integer"}, "hooked": {"type": "boolean"},
                               "last_error": {"type": ["string", "null"]}}}},
            "kill": {"type": "object", "required": ["at_update", "in_save_point", "chosen_by", "signal", "happened"],
                     "properties": {"at_update": {"type": ["integer", "null"]},
                                    "in_save_point": {"type": ["integer", "null"]},
                                    "chosen_by": {"type": "string"}, "signal": {"enum": ["kill", "term"]},
                                    "happened": {"type": ["object", "null"]}}},
            "resume": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["update", "save_point", "api", "path", "identified_by"],
                "properties": {"update": {"type": "integer"}, "save_point": {"type": ["integer", "null"]},
                               "api": {"type": ["string", "null"]}, "path": {"type": ["string", "null"]},
                               "identified_by": {"enum": ["restore", "state"]}}}]},
            "causes": {"type": "array", "items": _CAUSE},
            "allowed": {"type": "array", "items": _CAUSE},
            "determinism": {"type": ["object", "null"]},
            "curves": {"type": "object"},
            "notes": {"type": "array", "items": {"type": "string"}},
            "workers": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["index", "verdict", "summary", "causes", "allowed", "components", "resume",
                             "equivalent", "updates", "exactly_once"],
                "properties": {
                    "index": {"type": "integer", "minimum": 0}, "verdict": {"enum": list(VERDICTS)},
                    "summary": {"type": "string"}, "causes": {"type": "array", "items": _CAUSE},
                    "allowed": {"type": "array", "items": _CAUSE},
                    "components": copy.deepcopy(factory_verdict.JSON_SCHEMA["properties"]["components"]),
                    "resume": {"type": ["object", "null"]}, "equivalent": {"type": ["boolean", "null"]},
                    "updates": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "exactly_once": {
                        "type": "object", "additionalProperties": False,
                        "required": ["resumed_at", "updates_after_resume", "uninterrupted", "exactly_once"],
                        "properties": {"resumed_at": {"type": ["integer", "null"]},
                                       "updates_after_resume": {"type": "integer"},
                                       "uninterrupted": {"type": "integer"},
                                       "exactly_once": {"type": "boolean"}}}}}},
            "cluster": {
                "type": "object", "additionalProperties": False,
                "required": ["workers", "chief", "kill_worker", "trials"],
                "properties": {
                    "workers": {"type": "integer", "minimum": 2}, "chief": {"const": 0},
                    "kill_worker": {"type": "string"},
                    "trials": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": False,
                        "required": ["ports", "remote_addresses", "ended_by_group"],
                        "properties": {
                            "ports": {"type": "array", "items": {"type": "integer"}},
                            "remote_addresses": {"type": "array", "items": {"type": "string"}},
                            "ended_by_group": {"type": "object",
                                               "additionalProperties": {"type": "string"}}}}}}},
        }}
    schema["required"] = [*schema["required"], "mode", "blackbox"]
    return schema


BLACKBOX_JSON_SCHEMA = _blackbox_schema()


@dataclass
class BlackboxReport:
    command: TrialCommand
    options: BlackboxOptions
    outcome: Outcome
    runs: dict[str, TrialRun]
    records: dict[str, TrialRecord]
    kill_choice: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    worker_records: dict[str, list[TrialRecord]] = field(default_factory=dict)  # --workers: per trial, by index

    @property
    def cluster(self) -> bool:
        return self.options.workers > 1

    @property
    def verdict(self) -> str:
        return self.outcome.verdict

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    # -- text ----------------------------------------------------------------------------------------------

    def headline(self) -> str:
        label = {"pass": "PASS", "fail": "FAIL", "did not resume": "DID NOT RESUME",
                 "crashed on resume": "CRASHED ON RESUME", "inconclusive": "INCONCLUSIVE",
                 "error": "ERROR"}[self.verdict]
        return f"{label}: {self.outcome.summary}"

    def to_text(self) -> str:
        lines = [self.headline(), self._what_line()]
        if self.cluster:
            lines.append(f"cluster: {self.options.workers} workers on 127.0.0.1, a TF_CONFIG each (worker 0 is "
                         f"the chief); K killed {self._killed_workers_text()}, then every worker was restarted")
        lines.append("trials:  " + self._trials_line())
        o = self.outcome
        if o.workers:
            lines += ["", *self._workers_table()]
        lines += self._group_endings()
        if o.components:
            whose = "the chief" if self.cluster else "R"
            lines += ["", f"state {whose} resumed from vs U's at update {o.resume.update if o.resume else '?'}:",
                      *factory_verdict._table(o.components)]
            for c in o.components:
                bad = [v for v in c.variables if v.status != "restored"]
                for v in bad[:4]:
                    diff = "" if v.max_abs_diff is None else f"  (max abs diff {v.max_abs_diff:.3g})"
                    lines.append(f"    {c.name}: {v.key}: {v.status}{diff}")
                if len(bad) > 4:
                    lines.append(f"    {c.name}: ... and {len(bad) - 4} more")
        eq = o.equivalence
        if eq is not None:
            tol = "bitwise" if eq.atol == 0 and eq.rtol == 0 else f"atol={eq.atol:g} rtol={eq.rtol:g}"
            lines += ["", f"resume equivalence ({tol}): {'identical' if eq.equivalent else 'DIVERGED'}"]
            if eq.first_divergent_step is not None:
                lines.append(f"  U and K+R part at update {eq.first_divergent_step}")
            worst = {k: v for k, v in eq.final_max_diff.items() if v != 0.0}
            if worst and not eq.equivalent:
                lines.append("  final state differs in: " + ", ".join(f"{k} ({v:.3g})" for k, v in worst.items()))
        if o.causes and len(o.causes) > 1:
            lines += ["", "causes:", *[f"  - {c.message}" for c in o.causes]]
        if o.allowed:
            lines += ["", "accepted by --allow " + ",".join(sorted({c.code for c in o.allowed})) + ":",
                      *[f"  - {c.message}" for c in o.allowed]]
        if o.determinism is not None and o.determinism.get("identical"):
            lines.append("determinism: U and U2 identical")
        elif not self.options.determinism_check:
            lines.append("determinism: not checked (--no-determinism-check)")
        for note in o.notes:
            lines.append(f"note: {note}")
        if self.timings:
            lines.append("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def _what_line(self) -> str:
        if self.options.label:
            return f"target: {self.options.label} (run on every worker by: {self.command.display()})"
        return f"command: {self.command.display()}"

    def _killed_workers_text(self) -> str:
        return "every worker" if self.options.kill_worker == "all" else f"worker {self.options.kill_worker}"

    def _workers_table(self) -> list[str]:
        header = ("worker", "verdict", "resumed at", "updates U/K/R", "exactly once", "not restored")
        rows = [header]
        for w in self.outcome.workers:
            ledger = w.ledger()
            bad = [c.name for c in w.outcome.components if c.status != "restored"]
            rows.append((str(w.index), w.outcome.verdict.upper() if w.outcome.verdict != "pass" else "pass",
                         "-" if ledger["resumed_at"] is None else str(ledger["resumed_at"]),
                         "/".join(str(w.updates.get(t, 0)) for t in ("U", "K", "R")),
                         "yes" if ledger["exactly_once"] else "NO", ", ".join(bad) or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        out = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
        out.insert(1, "  ".join("-" * width for width in widths))
        return out

    def _group_endings(self) -> list[str]:
        lines = []
        for name, run in self.runs.items():
            for i, outcome in enumerate(run.outcomes):
                if outcome.ended_by_group:
                    lines.append(f"  {name}: worker {i} ended by ckptlint: {outcome.ended_by_group}")
            foreign = [a for a in run.remote_addresses if not is_loopback(a)]
            if foreign:
                lines.append(f"  {name}: connected outside 127.0.0.1: {', '.join(foreign)}")
        return ["", "cluster restarts and connections:", *lines] if lines else []

    def _trials_line(self) -> str:
        parts = []
        for name in ("U", "U2", "K", "R"):
            run = self.runs.get(name)
            if run is None:
                continue
            record = self.records.get(name)
            updates = record.updates if record else 0
            text = f"{name} {updates} updates {run.elapsed:.1f}s"
            if name == "K" and self.outcome.kill:
                kill = self.outcome.kill
                where = f"at update {kill.get('n')}" if kill.get("reason") == "update" else \
                    f"in save point {kill.get('point')} ({kill.get('where')})"
                who = "" if not self.cluster else (
                    " (every worker)" if self.options.kill_worker == "all" else f" (worker {kill.get('worker')})")
                text = f"K killed {where}{who}, {run.elapsed:.1f}s"
            elif run.timed_out:
                text += " (timed out)"
            elif run.returncode not in (0, None) and name != "K":
                text += f" (exit {run.returncode})"
            parts.append(text)
        return " | ".join(parts)

    # -- JSON ------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        o = self.outcome
        u = self.records.get("U")
        kill_at = self.runs["K"].spec.kill_at if "K" in self.runs else None
        in_save = self.runs["K"].spec.kill_in_save if "K" in self.runs else None
        document: dict[str, Any] = {
            "schema": factory_verdict.SCHEMA,
            "mode": "blackbox",
            "target": self.options.label or self.command.display(),
            "method": "blackbox",
            "steps": u.updates if u else 0,
            "strategy": None,
            "verdict": o.verdict,
            "exit_code": o.exit_code,
            "error": o.error,
            "components": [asdict(c) for c in o.components],
            "equivalence": asdict(o.equivalence) if o.equivalence else None,
            "control": None,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "blackbox": {
                "command": list(self.command.argv),
                "trials": {name: self._trial_dict(name, run) for name, run in self.runs.items()},
                "kill": {"at_update": kill_at, "in_save_point": in_save, "chosen_by": self.kill_choice,
                         "signal": self.options.signal,
                         "happened": {"reason": o.kill.get("reason"), "n": o.kill.get("n"),
                                      "where": o.kill.get("where")} if o.kill else None},
                "resume": asdict(o.resume) if o.resume else None,
                "causes": [asdict(c) for c in o.causes],
                "allowed": [asdict(c) for c in o.allowed],
                "determinism": o.determinism,
                "curves": o.curves,
                "notes": o.notes,
            },
        }
        if self.cluster:
            document["blackbox"]["workers"] = [self._worker_dict(w) for w in o.workers]
            document["blackbox"]["cluster"] = {
                "workers": self.options.workers, "chief": 0, "kill_worker": str(self.options.kill_worker),
                "trials": {name: {"ports": list(run.spec.ports), "remote_addresses": list(run.remote_addresses),
                                  "ended_by_group": {str(i): x.ended_by_group for i, x in enumerate(run.outcomes)
                                                     if x.ended_by_group}}
                           for name, run in self.runs.items()}}
        return factory_verdict._finite(document)

    @staticmethod
    def _worker_dict(w: Any) -> dict[str, Any]:
        o = w.outcome
        return {"index": w.index, "verdict": o.verdict, "summary": o.summary,
                "causes": [asdict(c) for c in o.causes], "allowed": [asdict(c) for c in o.allowed],
                "components": [asdict(c) for c in o.components],
                "resume": asdict(o.resume) if o.resume else None,
                "equivalent": o.equivalence.equivalent if o.equivalence else None,
                "updates": dict(w.updates), "exactly_once": w.ledger()}

    def _trial_dict(self, name: str, run: TrialRun) -> dict[str, Any]:
        record = self.records.get(name)
        failed = run.returncode not in (0, None) and name != "K"
        return {"exit_code": run.returncode, "timed_out": run.timed_out, "elapsed": round(run.elapsed, 3),
                "updates": record.updates if record else 0,
                "save_points": len(record.save_points()) if record else 0,
                "hooked": bool(record and record.hooked),
                "last_error": last_error_line(run) if failed else None}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
