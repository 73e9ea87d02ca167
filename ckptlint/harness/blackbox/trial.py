"""Run one trial: the user's command with the probe injected, in its own directory and process group.

A trial is a group of processes (one, or one per worker of a cluster), each with its own environment
additions and its own probe record, all started together and waited for together. Every process is a
session leader, so a kill reaches whatever it started; `ProcessGuard` kills every live group on any exit
path of ckptlint (including Ctrl-C and SIGTERM).

A group behaves as a cluster under a scheduler: once one of its processes has ended, the others run on
until they stop making progress (blocked on the peer that is gone, or halted by their probe where they
would block) and are then ended too, so a dead worker never leaves the rest waiting for the timeout.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

INJECT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inject")
CONFIG_ENV = "CKPTLINT_BLACKBOX"
POLL_SECONDS = 0.1


@dataclass
class ProcessSpec:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)   # added to the inherited environment
    name: str = "main"
    record_subdir: str = ""           # its probe writes to <record_dir>/<record_subdir> ("": the trial's own)
    probe: dict[str, Any] = field(default_factory=dict)  # its probe settings over the trial's (kill_at, halt_at)


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
    snapshot_every_update: bool = False
    # A group of processes: how long the others may go without progress once one has ended, before they
    # are ended too (a peer that died: they are blocked on it; a peer that finished: they may still work).
    quiet_after_peer_died: float = 5.0
    quiet_after_peer_finished: float = 60.0
    audit_connections: bool = False   # record every remote address a process connects to (Linux /proc)
    ports: tuple[int, ...] = ()       # a cluster's ports on 127.0.0.1, one per worker


@dataclass
class ProcessOutcome:
    name: str
    returncode: Optional[int]         # None: still running when the trial timed out
    stdout: str                       # paths of the captured output
    stderr: str
    record_dir: str = ""              # where its probe wrote
    ended_by_group: Optional[str] = None  # why ckptlint ended it after a peer had ended, else None


@dataclass
class TrialRun:
    spec: TrialSpec
    outcomes: list[ProcessOutcome]
    elapsed: float
    timed_out: bool
    terminated_by_harness: bool       # --signal term: the grace period ran out and the group was killed
    remote_addresses: list[str] = field(default_factory=list)  # audited: every address connected to

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
    started = time.monotonic()
    procs: list[_Running] = []
    try:
        for i, pspec in enumerate(spec.processes):
            record_dir = os.path.join(spec.record_dir, pspec.record_subdir) if pspec.record_subdir else spec.record_dir
            config_path = _write_probe_config(spec, pspec, record_dir)
            out_path = os.path.join(spec.record_dir, f"stdout-{i}.txt")
            err_path = os.path.join(spec.record_dir, f"stderr-{i}.txt")
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(pspec.argv, cwd=spec.trial_dir, env=_environment(config_path, pspec.env),
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
            guard.add(proc)
            procs.append(_Running(pspec, proc, out_path, err_path, record_dir, UpdateCounter(record_dir)))
        timed_out, terminated = _wait(spec, procs, started, progress)
    finally:
        for running in procs:
            _kill_group(running.proc)  # a leader that is gone may have left children behind: they go too
            guard.discard(running.proc)
    outcomes = [ProcessOutcome(r.spec.name, None if timed_out and r.proc.returncode is None else r.proc.returncode,
                               r.stdout, r.stderr, r.record_dir, r.ended_by_group) for r in procs]
    remote = sorted({address for r in procs for address in r.remote})
    return TrialRun(spec, outcomes, time.monotonic() - started, timed_out, terminated, remote)


@dataclass
class _Running:
    spec: ProcessSpec
    proc: subprocess.Popen
    stdout: str
    stderr: str
    record_dir: str
    counter: "UpdateCounter"
    ended_by_group: Optional[str] = None
    remote: set[str] = field(default_factory=set)


def _write_probe_config(spec: TrialSpec, pspec: ProcessSpec, record_dir: str) -> str:
    os.makedirs(record_dir, exist_ok=True)
    config = {"record_dir": record_dir, "trial": spec.name, "trial_dir": spec.trial_dir, "seed": spec.seed,
              "kill_at": spec.kill_at, "kill_in_save": spec.kill_in_save, "signal": spec.signal,
              "snapshot_saves": spec.snapshot_saves, "snapshot_every_update": spec.snapshot_every_update}
    config.update(pspec.probe)
    path = os.path.join(record_dir, "probe.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(config, fh)
    return path


def _environment(config_path: str, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env[CONFIG_ENV] = config_path
    env["PYTHONPATH"] = os.pathsep.join(p for p in (INJECT_DIR, env.get("PYTHONPATH", "")) if p)
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


AUDIT_SECONDS = 0.5


def _wait(spec: TrialSpec, procs: list[_Running], started: float,
          progress: Optional[Progress]) -> tuple[bool, bool]:
    """Wait for every process; enforce the timeout, the grace period after a SIGTERM kill, and the group
    rule (once one process has ended, the others are ended when they stop making progress)."""
    term_seen_at: Optional[float] = None
    first_end: Optional[tuple[float, bool]] = None  # (when, whether it died rather than finished)
    audited_at = 0.0
    while any(r.proc.poll() is None for r in procs):
        now = time.monotonic()
        if spec.audit_connections and now - audited_at >= AUDIT_SECONDS:
            audited_at = now
            for r in procs:
                r.remote |= remote_addresses(r.proc.pid)
        if now - started > spec.timeout:
            _kill_all(procs)
            return True, False
        if spec.signal == "term" and term_seen_at is None and any(r.counter.terminated() for r in procs):
            term_seen_at = now
        if term_seen_at is not None and now - term_seen_at > spec.grace:
            _kill_all(procs)
            return False, True
        if len(procs) > 1:
            first_end = _end_stalled_peers(spec, procs, first_end, now)
        if progress is not None:
            progress(spec.name, max(r.counter.updates() for r in procs), now - started)
        time.sleep(POLL_SECONDS)
    if progress is not None:
        progress(spec.name, max(r.counter.updates() for r in procs), time.monotonic() - started)
    return False, False


def _end_stalled_peers(spec: TrialSpec, procs: list[_Running], first_end: Optional[tuple[float, bool]],
                       now: float) -> Optional[tuple[float, bool]]:
    """After a peer has ended, end each process that has halted or gone quiet (as a scheduler restarting
    a job whose task died would); a finished peer gives the others longer, as they may still be working."""
    if first_end is None:
        ended = [r for r in procs if r.proc.poll() is not None]
        if not ended:
            return None
        first = ended[0]
        first_end = (now, first.proc.returncode != 0 or first.counter.killed())
    since, died = first_end
    quiet = spec.quiet_after_peer_died if died else spec.quiet_after_peer_finished
    gone = next((r.spec.name for r in procs if r.proc.poll() is not None), "a peer")
    for r in procs:
        if r.proc.poll() is not None:
            continue
        if r.counter.halted():
            r.ended_by_group = f"halted where it would wait for {gone}, which had ended"
        elif now - max(since, r.counter.last_activity()) > quiet:
            r.ended_by_group = (f"no progress for {quiet:g}s after {gone} "
                                f"{'died' if died else 'finished'}")
        else:
            continue
        _kill_group(r.proc)
    return first_end


def _kill_all(procs: list[_Running]) -> None:
    for r in procs:
        _kill_group(r.proc)
    for r in procs:
        r.proc.wait()


class UpdateCounter:
    """Reads the probe's event logs in one record directory incrementally: the update count so far, whether
    a kill or a SIGTERM was sent or a halt reached, and when the last event was written."""

    def __init__(self, record_dir: str) -> None:
        self._dir = record_dir
        self._offsets: dict[str, int] = {}
        self._updates: dict[str, int] = {}
        self._term = False
        self._killed = False
        self._halted = False
        self._last_activity = time.monotonic()

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
            if complete:
                self._last_activity = time.monotonic()
            self._offsets[name] = self._offsets.get(name, 0) + len(complete)
            for line in complete.splitlines():
                if b'"e": "update"' in line:
                    self._updates[name] = self._updates.get(name, 0) + 1
                elif b'"e": "kill"' in line:
                    self._killed = True
                    self._term = self._term or b'"signal": "term"' in line
                elif b'"e": "halt"' in line:
                    self._halted = True

    def updates(self) -> int:
        self._scan()
        return max(self._updates.values(), default=0)

    def terminated(self) -> bool:
        self._scan()
        return self._term

    def killed(self) -> bool:
        self._scan()
        return self._killed

    def halted(self) -> bool:
        self._scan()
        return self._halted

    def last_activity(self) -> float:
        """time.monotonic() of the last complete event line seen (or of the start)."""
        self._scan()
        return self._last_activity


def remote_addresses(pid: int) -> set[str]:
    """The remote address:port of every TCP connection process `pid` has open (Linux /proc; else empty).

    A socket's inode is matched against the kernel's TCP tables of the process's network namespace."""
    try:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    found: set[str] = set()
    for table, family in (("tcp", 4), ("tcp6", 6)):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[9] in inodes and fields[3] != "0A":  # 0A: LISTEN
                found.add(_address(fields[2], family))
    return found


def _address(hex_address: str, family: int) -> str:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if family == 4:
        ip = ".".join(str(b) for b in raw[::-1])
    else:  # four little-endian 32-bit words
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        mapped = ipaddress.IPv6Address(words).ipv4_mapped
        ip = str(mapped) if mapped is not None else f"[{ipaddress.IPv6Address(words)}]"
    return f"{ip}:{int(port, 16)}"


def is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print(f"ckptlint: warning: process {proc.pid} did not die", file=sys.stderr)
