"""Run one trial: the user's command with the probe injected, in its own directory and process group.

A trial is a group of processes (one today; one per worker once multi-worker runs arrive), each with its
own environment additions, all started together and waited for together. Every process is a session
leader, so a kill reaches whatever it started; `ProcessGuard` kills every live group on any exit path of
ckptlint (including Ctrl-C and SIGTERM).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

INJECT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inject")
CONFIG_ENV = "CKPTLINT_BLACKBOX"
POLL_SECONDS = 0.1


@dataclass
class ProcessSpec:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)   # added to the inherited environment
    name: str = "main"


@dataclass
class TrialSpec:
    name: str                         # U, U2, K, R
    processes: list[ProcessSpec]
    trial_dir: str                    # the working directory ({out})
    record_dir: str                   # where the probe writes (never inside trial_dir)
    kill_at: Optional[int] = None
    kill_in_save: Optional[int] = None
    signal: str = "kill"
    grace: float = 30.0
    timeout: float = 600.0
    seed: int = 1234
    snapshot_saves: bool = False


@dataclass
class ProcessOutcome:
    name: str
    returncode: Optional[int]         # None: still running when the trial timed out
    stdout: str                       # paths of the captured output
    stderr: str


@dataclass
class TrialRun:
    spec: TrialSpec
    outcomes: list[ProcessOutcome]
    elapsed: float
    timed_out: bool
    terminated_by_harness: bool       # --signal term: the grace period ran out and the group was killed

    @property
    def returncode(self) -> Optional[int]:
        codes = [o.returncode for o in self.outcomes]
        if any(c is None for c in codes):
            return None
        return next((c for c in codes if c != 0), 0)


class ProcessGuard:
    """Every process group a verification started; `kill_all` ends them (idempotent)."""

    def __init__(self) -> None:
        self._live: dict[int, subprocess.Popen] = {}

    def add(self, proc: subprocess.Popen) -> None:
        self._live[proc.pid] = proc

    def discard(self, proc: subprocess.Popen) -> None:
        self._live.pop(proc.pid, None)

    def kill_all(self) -> None:
        for proc in list(self._live.values()):
            _kill_group(proc)
            self.discard(proc)


Progress = Callable[[str, int, float], None]


def run_trial(spec: TrialSpec, guard: ProcessGuard, progress: Optional[Progress] = None) -> TrialRun:
    os.makedirs(spec.trial_dir, exist_ok=True)
    os.makedirs(spec.record_dir, exist_ok=True)
    config_path = os.path.join(spec.record_dir, "probe.json")
    with open(config_path, "w", encoding="utf-8") as fh:
        json.dump({"record_dir": spec.record_dir, "trial": spec.name, "trial_dir": spec.trial_dir,
                   "seed": spec.seed, "kill_at": spec.kill_at, "kill_in_save": spec.kill_in_save,
                   "signal": spec.signal, "snapshot_saves": spec.snapshot_saves}, fh)
    started = time.monotonic()
    procs: list[tuple[ProcessSpec, subprocess.Popen, str, str]] = []
    try:
        for i, pspec in enumerate(spec.processes):
            out_path = os.path.join(spec.record_dir, f"stdout-{i}.txt")
            err_path = os.path.join(spec.record_dir, f"stderr-{i}.txt")
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(pspec.argv, cwd=spec.trial_dir, env=_environment(config_path, pspec.env),
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
            guard.add(proc)
            procs.append((pspec, proc, out_path, err_path))
        timed_out, terminated = _wait(spec, [p for _s, p, _o, _e in procs], started, progress)
    finally:
        for _s, proc, _o, _e in procs:
            if proc.poll() is None:
                _kill_group(proc)
            else:
                _kill_group(proc)  # the leader is gone; anything it left behind goes too
            guard.discard(proc)
    outcomes = [ProcessOutcome(s.name, None if timed_out and p.returncode is None else p.returncode, o, e)
                for s, p, o, e in procs]
    return TrialRun(spec, outcomes, time.monotonic() - started, timed_out, terminated)


def _environment(config_path: str, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env[CONFIG_ENV] = config_path
    env["PYTHONPATH"] = os.pathsep.join(p for p in (INJECT_DIR, env.get("PYTHONPATH", "")) if p)
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _wait(spec: TrialSpec, procs: list[subprocess.Popen], started: float,
          progress: Optional[Progress]) -> tuple[bool, bool]:
    """Wait for every process; enforce the timeout and, after a SIGTERM kill, the grace period."""
    counter = UpdateCounter(spec.record_dir)
    term_seen_at: Optional[float] = None
    while any(p.poll() is None for p in procs):
        now = time.monotonic()
        if now - started > spec.timeout:
            for p in procs:
                _kill_group(p)
            for p in procs:
                p.wait()
            return True, False
        if spec.signal == "term" and term_seen_at is None and counter.terminated():
            term_seen_at = now
        if term_seen_at is not None and now - term_seen_at > spec.grace:
            for p in procs:
                _kill_group(p)
            for p in procs:
                p.wait()
            return False, True
        if progress is not None:
            progress(spec.name, counter.updates(), now - started)
        time.sleep(POLL_SECONDS)
    if progress is not None:
        progress(spec.name, counter.updates(), time.monotonic() - started)
    return False, False


class UpdateCounter:
    """Reads the probe's event logs incrementally: the update count so far and whether a SIGTERM was sent."""

    def __init__(self, record_dir: str) -> None:
        self._dir = record_dir
        self._offsets: dict[str, int] = {}
        self._updates: dict[str, int] = {}
        self._term = False

    def _scan(self) -> None:
        try:
            names = [n for n in os.listdir(self._dir) if n.startswith("events-")]
        except OSError:
            return
        for name in names:
            path = os.path.join(self._dir, name)
            try:
                with open(path, "rb") as fh:
                    fh.seek(self._offsets.get(name, 0))
                    chunk = fh.read()
            except OSError:
                continue
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[name] = self._offsets.get(name, 0) + len(complete)
            for line in complete.splitlines():
                if b'"e": "update"' in line:
                    self._updates[name] = self._updates.get(name, 0) + 1
                elif b'"e": "kill"' in line and b'"signal": "term"' in line:
                    self._term = True

    def updates(self) -> int:
        self._scan()
        return max(self._updates.values(), default=0)

    def terminated(self) -> bool:
        self._scan()
        return self._term


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print(f"ckptlint: warning: process {proc.pid} did not die", file=sys.stderr)
