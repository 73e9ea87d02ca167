"""Orchestrate the trials of a black-box verification and hand their records to the judge.

Phases: U and U2 (and K when --kill-at is given) run at the same time, up to --jobs at once; then K
(its kill point chosen from U); then R in K's directory. With --workers N every trial is a cluster of N
worker processes on fresh ports of 127.0.0.1 (see cluster.py), all restarted for R as a scheduler
restarts a job. Every process group and the temporary directory are removed on every way out, including
Ctrl-C and a SIGTERM sent to ckptlint itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Optional

from ckptlint.errors import CkptlintError
from ckptlint.harness.blackbox.analysis import (ERROR, Outcome, check_determinism, choose_kill_point, hook_notes,
                                               inconclusive,
                                               judge, uninterrupted_run_problem)
from ckptlint.harness.blackbox.cluster import for_worker, new_cluster, port_clash
from ckptlint.harness.blackbox.cluster_analysis import cluster_determinism, failed_cluster_run, judge_cluster
from ckptlint.harness.blackbox.command import TrialCommand
from ckptlint.harness.blackbox.options import BlackboxOptions
from ckptlint.harness.blackbox.record import TrialRecord
from ckptlint.harness.blackbox.report import BlackboxReport
from ckptlint.harness.blackbox.trial import ProcessGuard, ProcessSpec, TrialRun, TrialSpec, run_trial

Progress = Callable[[str, int, float], None]


def verify_command(opts: BlackboxOptions, origin: Optional[str] = None,
                   progress: Optional[Progress] = None) -> BlackboxReport:
    opts.validate()
    command = TrialCommand.parse(list(opts.command), origin or os.getcwd())
    owned = opts.workdir is None
    root = tempfile.mkdtemp(prefix="ckptlint-blackbox-") if opts.workdir is None else _prepared_workdir(opts.workdir)
    guard = ProcessGuard()
    started = time.monotonic()
    try:
        with _sigterm_interrupts():
            report = _Verification(command, opts, root, guard, progress).run()
    finally:
        guard.kill_all()
        if owned:
            shutil.rmtree(root, ignore_errors=True)
    report.timings["total"] = time.monotonic() - started
    return report


def _prepared_workdir(path: str) -> str:
    root = os.path.abspath(path)
    if os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
        raise CkptlintError(f"--workdir {path}: must be an empty or new directory")
    os.makedirs(root, exist_ok=True)
    return root


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """A SIGTERM to ckptlint ends it like Ctrl-C does (so the cleanup in `finally` runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Verification:
    def __init__(self, command: TrialCommand, opts: BlackboxOptions, root: str, guard: ProcessGuard,
                 progress: Optional[Progress]) -> None:
        self.command = command
        self.opts = opts
        self.root = root
        self.guard = guard
        self.progress = progress
        self.runs: dict[str, TrialRun] = {}
        self.records: dict[str, TrialRecord] = {}              # the chief's (the only process's) record
        self.worker_records: dict[str, list[TrialRecord]] = {}  # --workers: every worker's, by index
        self.kill_choice = ""

    @property
    def cluster(self) -> bool:
        return self.opts.workers > 1

    def spec(self, name: str, trial_dir: Optional[str] = None, halt_at: Optional[int] = None,
             **fields: Any) -> TrialSpec:
        work = trial_dir or os.path.join(self.root, name, "work")
        argv = self.command.for_trial(work)
        spec = TrialSpec(name=name, processes=[ProcessSpec(argv, env=dict(self.opts.env))], trial_dir=work,
                         record_dir=os.path.join(self.root, name, "record"), signal=self.opts.signal,
                         grace=self.opts.grace, timeout=self.opts.timeout, seed=self.opts.seed, **fields)
        if not self.cluster:
            return spec
        spared: dict[str, Optional[int]] = {"kill_at": None, "kill_in_save": None}
        if halt_at is not None and self.opts.signal == "kill":
            spared["halt_at"] = halt_at  # where it would wait for the killed worker's gradients
        processes = [ProcessSpec(for_worker(argv, i), env=dict(self.opts.env), name=f"worker {i}",
                                 record_subdir=f"worker-{i}",
                                 probe={} if i in self.opts.killed_workers else dict(spared))
                     for i in range(self.opts.workers)]
        return _with_new_cluster(dataclasses.replace(spec, processes=processes, audit_connections=True))

    def run_parallel(self, specs: list[TrialSpec]) -> None:
        with ThreadPoolExecutor(max_workers=max(1, min(self.opts.jobs, len(specs)))) as pool:
            futures = {spec.name: pool.submit(self._run_trial, spec) for spec in specs}
            try:
                for name, future in futures.items():
                    self.runs[name] = future.result()
            except BaseException:
                self.guard.kill_all()  # before the pool waits for its threads
                raise
        for spec in specs:
            if self.cluster:
                self.worker_records[spec.name] = [TrialRecord.load(os.path.join(spec.record_dir, p.record_subdir))
                                                  for p in spec.processes]
                self.records[spec.name] = self.worker_records[spec.name][0]
            else:
                self.records[spec.name] = TrialRecord.load(spec.record_dir)

    def _run_trial(self, spec: TrialSpec) -> TrialRun:
        run = run_trial(spec, self.guard, self.progress)
        if spec.ports and run.returncode != 0 and _clashed(run):
            # another program took a port between its choice and the workers' start: once more, new ports
            shutil.rmtree(spec.record_dir, ignore_errors=True)
            if spec.trial_dir.startswith(os.path.join(self.root, spec.name) + os.sep):
                shutil.rmtree(spec.trial_dir, ignore_errors=True)
            run = run_trial(_with_new_cluster(spec), self.guard, self.progress)
        return run

    def run(self) -> BlackboxReport:
        first = [self.spec("U", snapshot_saves=True, snapshot_every_update=self.opts.signal == "term")]
        if self.opts.kill_at is not None:
            first.append(self.spec("K", kill_at=self.opts.kill_at, halt_at=self.opts.kill_at + 1))
        if self.opts.determinism_check:
            first.append(self.spec("U2"))
        self.run_parallel(first)
        u = self.records["U"]
        if self.cluster:
            failed = failed_cluster_run(self.worker_records["U"], self.runs["U"])
            if failed is not None:
                return self.report(failed)
        else:
            problem = uninterrupted_run_problem(u, self.runs["U"])
            if problem is not None:
                return self.report(Outcome(ERROR, problem, error={"phase": "U", "message": problem}))
        if "U2" in self.records:
            determinism = cluster_determinism(self.worker_records["U"], self.worker_records["U2"],
                                              self.runs["U2"]) if self.cluster else \
                check_determinism(u, self.records["U2"], self.runs["U2"])
            if not determinism["identical"]:  # nothing K and R could show would mean anything
                return self.report(inconclusive(determinism))
        try:
            kill_at, kill_in_save, self.kill_choice = choose_kill_point(u, self.opts)
        except ValueError as exc:
            raise CkptlintError(str(exc)) from None
        if "K" not in self.runs:
            if kill_at is not None:
                halt_at = kill_at + 1
            else:
                assert kill_in_save is not None  # choose_kill_point returns exactly one of the two
                halt_at = u.save_points()[kill_in_save] + 1
            self.run_parallel([self.spec("K", kill_at=kill_at, kill_in_save=kill_in_save, halt_at=halt_at)])
        k_dir = os.path.join(self.root, "K", "work")
        self.run_parallel([self.spec("R", trial_dir=k_dir)])
        if self.cluster:
            outcome = judge_cluster(self.worker_records, self.runs, self.opts)
        else:
            outcome = judge(u, self.records.get("U2"), self.records["K"], self.records["R"], self.runs, self.opts)
        return self.report(outcome)

    def report(self, outcome: Outcome) -> BlackboxReport:
        records = {f"{name} worker {i}": record for name, group in self.worker_records.items()
                   for i, record in enumerate(group)} if self.cluster else self.records
        outcome.notes = hook_notes(records) + outcome.notes
        if outcome.kill is None and "K" in self.records:
            outcome.kill = self.records["K"].kill()
        return BlackboxReport(command=self.command, options=self.opts, outcome=outcome, runs=self.runs,
                              records=self.records, kill_choice=self.kill_choice,
                              timings={name: run.elapsed for name, run in self.runs.items()},
                              worker_records=self.worker_records)


def _with_new_cluster(spec: TrialSpec) -> TrialSpec:
    """The same trial on a fresh cluster: new free ports, so a new TF_CONFIG for every worker."""
    cluster = new_cluster(len(spec.processes))
    processes = [dataclasses.replace(p, env={**p.env, **cluster.environment(i)})
                 for i, p in enumerate(spec.processes)]
    return dataclasses.replace(spec, processes=processes, ports=cluster.ports)


def _clashed(run: TrialRun) -> bool:
    for outcome in run.outcomes:
        try:
            with open(outcome.stderr, encoding="utf-8", errors="replace") as fh:
                if port_clash(fh.read()[-50000:]):
                    return True
        except OSError:
            continue
    return False
