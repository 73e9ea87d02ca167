"""The probe's state in one process: configuration, event log, update and save counters, the kill.

Events are JSON lines in `<record_dir>/events-<pid>.jsonl`, flushed to the OS at once (an `os._exit`
loses nothing already written). Event types and their fields are listed in
ckptlint/harness/blackbox/record.py, which reads them.
"""

from __future__ import annotations

import atexit
import builtins
import json
import os
import random
import signal
import sys
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Optional

_OPEN = builtins.open  # taken before the probe wraps open()
KILL_EXIT_CODE = 137  # what a shell reports for SIGKILL; the runner reads the kill from the event log


@dataclass
class ProbeConfig:
    record_dir: str
    trial: str
    trial_dir: str
    seed: int = 1234
    kill_at: Optional[int] = None
    kill_in_save: Optional[int] = None
    signal: str = "kill"
    snapshot_saves: bool = True
    # Before every update (U under --signal term: a program that saves when told to stop saves at an
    # update the uninterrupted run never saved at, and R's state is compared with U's there).
    snapshot_every_update: bool = False
    # A worker of a cluster whose peer is killed: stop before this update, where it would wait for the
    # dead peer's gradients, so that ckptlint can end it at the same point every time.
    halt_at: Optional[int] = None


class Registry:
    """The training objects seen so far, in first-seen order, held weakly (the program owns them)."""

    def __init__(self) -> None:
        self._items: dict[str, list[weakref.ref]] = {"optimizer": [], "model": [], "checkpoint": []}
        self._applied: dict[int, list[int]] = {}  # id(optimizer) -> [updates at its first, at its last apply]
        self._bookkeeping: list[weakref.ref] = []  # variables that record saves, not training state

    def add_bookkeeping(self, variable: Any) -> None:
        """A variable a checkpointing tool keeps about its own saves (PreemptionCheckpointHandler's count of
        the runs at the last save): it differs between a run that saved and one that did not, by design."""
        try:
            self._bookkeeping.append(weakref.ref(variable))
        except TypeError:
            pass

    def bookkeeping(self) -> set[int]:
        return {id(v) for v in (r() for r in self._bookkeeping) if v is not None}

    def add(self, kind: str, obj: Any) -> None:
        refs = self._items[kind]
        if any(r() is obj for r in refs):
            return
        try:
            refs.append(weakref.ref(obj))
        except TypeError:
            pass

    def live(self, kind: str) -> list[Any]:
        return [o for o in (r() for r in self._items[kind]) if o is not None]

    # Which optimizers are still training: one that has not applied an update since another one began
    # (a model trained and dropped before the next) is not part of the state a resume must restore.
    def optimizer_starts(self, optimizer: Any, updates: int) -> None:
        self._applied.setdefault(id(optimizer), [updates, updates])

    def optimizer_applied(self, optimizer: Any, updates: int) -> None:
        span = self._applied.setdefault(id(optimizer), [updates, updates])
        span[1] = max(span[1], updates)

    def stale(self, optimizer: Any) -> bool:
        span = self._applied.get(id(optimizer))
        if span is None or not self._applied:
            return False
        newest_start = max(first for first, _last in self._applied.values())
        return span[1] < newest_start


class Probe:
    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self.trial_dir = os.path.realpath(config.trial_dir)
        self.registry = Registry()
        self.disabled = False
        self.updates = 0
        self.save_points = 0
        self.save_depth = 0
        self.armed = False  # inside the save point that --kill-in-save targets
        self.terminating = False
        self.graph_uncounted = False  # an update ran where the probe could not be called (XLA)
        self._save_point_at: Optional[int] = None
        self._snapshots = 0
        self._pre_update_taken = False
        self._pending_resume_point: Optional[int] = None  # a save point whose next update gets a snapshot
        self._pid = -1
        self._events: Any = None
        # (path, meta, prepared) -> written path; prepared: (inventory, values) read in a graph, or None
        self.snapshot_hook: Optional[Callable[[str, dict[str, Any], Any], Optional[str]]] = None
        self.emit("start", argv=list(sys.argv), executable=sys.executable, cwd=os.getcwd(),
                  kill_at=config.kill_at, kill_in_save=config.kill_in_save)
        atexit.register(self._at_exit_last)

    @classmethod
    def from_config_file(cls, path: str) -> "Probe":
        with _OPEN(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return cls(ProbeConfig(**data))

    # -- event log ---------------------------------------------------------------------------------------

    def emit(self, event: str, **fields: Any) -> None:
        if os.getpid() != self._pid:  # first event, or a forked child: each process has its own log
            self._pid = os.getpid()
            path = os.path.join(self.config.record_dir, f"events-{self._pid}.jsonl")
            self._events = _OPEN(path, "a", encoding="utf-8", buffering=1)
        record = {"e": event, "t": round(time.time(), 4), **fields}
        self._events.write(json.dumps(record, default=str) + "\n")
        self._events.flush()

    # -- failure policy ----------------------------------------------------------------------------------

    def guard(self, where: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run probe code; the first failure switches the probe off and the program goes on."""
        if self.disabled:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.fail(where, exc)
            return None

    def fail(self, where: str, exc: BaseException) -> None:
        if self.disabled:
            return
        self.disabled = True
        message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        print(f"ckptlint hook: {where} failed ({message}); the program goes on unhooked", file=sys.stderr)
        try:
            self.emit("hook_error", where=where, message=message)
        except Exception:
            pass

    # -- seeds ---------------------------------------------------------------------------------------------

    def seed_python(self) -> None:
        random.seed(self.config.seed)

    # -- updates ---------------------------------------------------------------------------------------------

    def pre_update_snapshot_due(self) -> Optional[tuple[str, dict[str, Any]]]:
        """The snapshot the coming update needs: "start" before the first one, "resume" before the first
        one after each save point (the state a run resuming from that save must start from)."""
        if not self._pre_update_taken:
            return "start", {}
        if self._pending_resume_point is not None:
            return "resume", {"point": self._pending_resume_point}
        if self.config.snapshot_every_update:
            return "resume", {"point": None}
        return None

    def halt_due(self) -> bool:
        return self.config.halt_at is not None and self.updates + 1 >= self.config.halt_at

    def halt(self) -> None:
        """Wait here until ckptlint ends the process (it does so as soon as it reads the event)."""
        self.emit("halt", n=self.updates)
        while True:
            time.sleep(1.0)

    def before_update(self, prepared: Any = None) -> None:
        """Called just before each optimizer update, after its forward and backward pass. The state read
        here already holds what the forward pass changed (BatchNorm statistics, seed generators), in a
        resumed run as in the uninterrupted one, so the two compare bitwise."""
        if self.halt_due():
            self.halt()
        due = self.pre_update_snapshot_due()
        if due is None:
            return
        reason, fields = due
        self._pre_update_taken = True
        self._pending_resume_point = None
        self.snapshot(reason, prepared=prepared, **fields)

    def after_update(self, checksum: Optional[float], optimizer: Any = None) -> None:
        if optimizer is not None:
            self.registry.optimizer_applied(optimizer, self.updates)
        self.updates += 1
        self.emit("update", n=self.updates, sum=checksum)
        if self.config.kill_at is not None and self.updates == self.config.kill_at:
            self.kill("update")

    def note_loss(self, loss: float) -> None:
        self.emit("loss", n=self.updates, loss=loss)

    # -- saves -----------------------------------------------------------------------------------------------

    def begin_save(self, kind: str, path: Any) -> None:
        """A save starts. Saves made between the same two updates form one save point (one snapshot)."""
        if self.save_depth == 0 and self._save_point_at != self.updates:
            self._save_point_at = self.updates
            self.save_points += 1
            if self.config.snapshot_saves:
                self._pending_resume_point = self.save_points
            if self.config.kill_in_save == self.save_points:
                self.armed = True
        self.save_depth += 1
        self.emit("save_begin", kind=kind, path=_text(path), n=self.updates, point=self.save_points)

    def end_save(self, kind: str, path: Any, fingerprint: Optional[str], ok: bool = True) -> None:
        self.save_depth = max(0, self.save_depth - 1)
        self.emit("save_end", kind=kind, path=_text(path), n=self.updates, point=self.save_points,
                  fp=fingerprint, ok=ok)
        if self.armed and self.save_depth == 0 and ok:
            self.kill("save", where="after the save completed (it wrote nothing that could be torn)")

    def torn_write_point(self, where: str) -> None:
        """Inside the targeted save: data partly or fully written, not yet made final. Kill here."""
        if self.armed:
            self.kill("save", where=where)

    # -- restores ----------------------------------------------------------------------------------------------

    def note_restore(self, api: str, path: Any, fingerprint: Optional[str], **fields: Any) -> None:
        self.emit("restore", api=api, path=_text(path), fp=fingerprint, n=self.updates, **fields)

    # -- snapshots ------------------------------------------------------------------------------------------------

    def snapshot(self, reason: str, prepared: Any = None, **fields: Any) -> None:
        if self.snapshot_hook is None:
            return
        self._snapshots += 1
        name = f"snap-{os.getpid()}-{self._snapshots:04d}"
        written = self.snapshot_hook(os.path.join(self.config.record_dir, name), fields, prepared)
        if written is not None:
            self.emit("snapshot", reason=reason, file=name, n=self.updates, **fields)

    # -- the kill -----------------------------------------------------------------------------------------------------

    def kill(self, reason: str, **fields: Any) -> None:
        if self.terminating:
            return
        self.emit("kill", reason=reason, n=self.updates, point=self.save_points, signal=self.config.signal,
                  **fields)
        if self.config.signal == "term":
            self.terminating = True  # a preemption notice: the program may save and exit on its own
            os.kill(os.getpid(), signal.SIGTERM)
            return
        os._exit(KILL_EXIT_CODE)

    def _at_exit_last(self) -> None:
        try:
            self.emit("exit", n=self.updates, points=self.save_points)
        except Exception:
            pass


def _text(path: Any) -> Optional[str]:
    if path is None:
        return None
    try:
        return os.fspath(path) if not isinstance(path, (bytes, bytearray)) else path.decode()
    except TypeError:
        return str(path)
