"""Read back what the probe wrote for one trial: the events of the process that trained, and its snapshots.

Event types (one JSON object a line, `e` names the type, `t` the time; `n` is always the number of
optimizer updates made so far by that process):
  start {argv, executable, cwd}            framework {name, version, backend?}
  update {n, sum}                          sum: float64 sum of the updated variables after update n
  loss {n, loss}                           the loss `fit` reported after update n
  fit {epochs, initial_epoch}              epoch {epoch}     (from a callback the probe adds to fit)
  checkpoint {keys}                        a tf.train.Checkpoint was built with these attributes
  save_begin / save_end {kind, path, point, fp, ok}    point: the save point (saves between two updates)
  snapshot {reason, file, point?}           start: before update 1 (after its forward pass); resume:
                                           before the first update after save point `point` (U only);
                                           final: at exit
  restore {api, path, fp}   restore_failed {api, message}
  rng_use {api, op_seed}    shuffle {seed, reshuffle}
  kill {reason: update|save, point, signal, where?}
  halt {n}                                 a worker whose peer was killed stopped before update n + 1
  hook_error {where, message}              exit {n, points}
  uncounted {where}                        updates ran where the probe could not be called (XLA)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ckptlint.harness.snapshot import Snapshot


@dataclass
class SaveEvent:
    kind: str
    path: Optional[str]
    point: int
    n: int
    fingerprint: Optional[str]
    ok: bool


@dataclass
class RestoreEvent:
    api: str
    path: Optional[str]
    fingerprint: Optional[str]
    n: int
    failed: Optional[str] = None


@dataclass
class ProcessRecord:
    pid: str
    events: list[dict[str, Any]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("e") == kind]


@dataclass
class TrialRecord:
    """The training process of one trial, as the probe saw it."""

    record_dir: str
    process: Optional[ProcessRecord]
    processes: int = 0
    hook_errors: list[str] = field(default_factory=list)
    # Saves other workers of the same cluster trial made: a worker restores the chief's checkpoint, so the
    # file it reads is identified among them too.
    peer_saves: list[SaveEvent] = field(default_factory=list)

    @classmethod
    def load(cls, record_dir: str) -> "TrialRecord":
        processes = []
        for name in sorted(os.listdir(record_dir)) if os.path.isdir(record_dir) else []:
            if name.startswith("events-") and name.endswith(".jsonl"):
                processes.append(ProcessRecord(name[len("events-"):-len(".jsonl")],
                                               _read_events(os.path.join(record_dir, name))))
        errors = [f"{e.get('where')}: {e.get('message')}" for p in processes for e in p.of("hook_error")]
        trainer = max(processes, key=lambda p: (len(p.of("update")), len(p.events)), default=None)
        return cls(record_dir, trainer, len(processes), errors)

    # -- what happened ---------------------------------------------------------------------------------

    @property
    def hooked(self) -> bool:
        return self.process is not None and bool(self.process.of("start"))

    @property
    def updates(self) -> int:
        return len(self.process.of("update")) if self.process else 0

    def sums(self) -> dict[int, Optional[float]]:
        return {e["n"]: e.get("sum") for e in self.process.of("update")} if self.process else {}

    def losses(self) -> dict[int, float]:
        return {e["n"]: e["loss"] for e in self.process.of("loss")} if self.process else {}

    def saves(self) -> list[SaveEvent]:
        """Its own saves, after any peer's (so a search from the end finds its own first)."""
        return list(self.peer_saves) + self.own_saves()

    def own_saves(self) -> list[SaveEvent]:
        if not self.process:
            return []
        return [SaveEvent(e.get("kind", "?"), e.get("path"), e.get("point", 0), e.get("n", 0), e.get("fp"),
                          bool(e.get("ok"))) for e in self.process.of("save_end")]

    def save_points(self) -> dict[int, int]:
        """save point -> the update count it was made at."""
        if not self.process:
            return {}
        return {e["point"]: e["n"] for e in self.process.of("save_begin")}

    def restores(self) -> list[RestoreEvent]:
        if not self.process:
            return []
        found: list[RestoreEvent] = []
        for e in self.process.events:
            if e.get("e") == "restore":
                found.append(RestoreEvent(e.get("api", "?"), e.get("path"), e.get("fp"), e.get("n", 0)))
            elif e.get("e") == "restore_failed" and found:
                found[-1].failed = e.get("message")
        return found

    def epochs(self) -> list[tuple[int, int]]:
        """(epoch index, updates made before it began), in order."""
        return [(e["epoch"], e["n"]) for e in self.process.of("epoch")] if self.process else []

    def kill(self) -> Optional[dict[str, Any]]:
        kills = self.process.of("kill") if self.process else []
        return kills[0] if kills else None

    def exited_normally(self) -> bool:
        return bool(self.process and self.process.of("exit"))

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return self.process.of(kind) if self.process else []

    # -- snapshots ---------------------------------------------------------------------------------------

    def snapshot(self, reason: str, point: Optional[int] = None) -> Optional[Snapshot]:
        for e in self.events_of("snapshot"):
            if e.get("reason") == reason and (point is None or e.get("point") == point):
                return self._load_snapshot(e["file"])
        return None

    def snapshot_at_update(self, n: int) -> Optional[Snapshot]:
        """The state a run resuming after n updates must start update n + 1 from."""
        if n == 0:
            return self.snapshot("start")
        for e in self.events_of("snapshot"):
            if e.get("reason") == "resume" and e.get("n") == n:
                return self._load_snapshot(e["file"])
        return None

    def optimizer_order(self, reason: str) -> list[str]:
        for e in self.events_of("snapshot"):
            if e.get("reason") == reason:
                with open(os.path.join(self.record_dir, e["file"] + ".json"), encoding="utf-8") as fh:
                    return list(json.load(fh).get("optimizers", []))
        return []

    def _load_snapshot(self, name: str) -> Optional[Snapshot]:
        path = os.path.join(self.record_dir, name)
        if not (os.path.exists(path + ".npz") and os.path.exists(path + ".json")):
            return None
        return Snapshot.load(path)


def _read_events(path: str) -> list[dict[str, Any]]:
    events = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by the kill
    return events
