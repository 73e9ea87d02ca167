"""Orchestrate one verification: run A, the cold-start control and run B part 1 in this process, run B
part 2 in fresh worker processes (one per method, in parallel), then compare and report.

Sharing this process between run A, run B part 1 and the control is sound because each starts from a
cleared Keras session and identical seeds; only the restore needs a process with nothing in memory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from ckptlint.errors import CkptlintError
from ckptlint.harness.matrix import MatrixReport
from ckptlint.harness.verdict import Report
from ckptlint.harness.target import TargetRef, parse_target
from ckptlint.harness.tfenv import DEFAULT_SEED

Progress = Callable[[str], None]


@dataclass
class VerifyOptions:
    steps: int = 5
    method: Optional[str] = None
    atol: float = 0.0
    rtol: float = 0.0
    strategy: Optional[str] = None
    seed: int = DEFAULT_SEED
    workdir: Optional[str] = None
    jobs: int = max(1, os.cpu_count() or 1)
    worker_timeout: float = 1800.0


@dataclass
class _Pending:
    """Run B part 1 done for one method; its fresh-process half still to run."""

    method: str
    directory: str
    job_path: str
    losses_b1: list[list[float]]
    weight_diffs_b1: list[float]


def run(target: Any, opts: VerifyOptions, progress: Optional[Progress] = None) -> Union[Report, MatrixReport]:
    from ckptlint.harness.methods import METHOD_CHOICES

    say = progress or (lambda _msg: None)
    if opts.steps < 1:
        raise CkptlintError(f"--steps must be at least 1 (got {opts.steps})")
    if opts.method is not None and opts.method not in METHOD_CHOICES:
        raise CkptlintError(f"unknown --method {opts.method!r} (choose from: {', '.join(METHOD_CHOICES)})")
    ref = parse_target(target)
    owned = opts.workdir is None
    workdir = tempfile.mkdtemp(prefix="ckptlint-verify-") if owned else os.path.abspath(opts.workdir)
    os.makedirs(workdir, exist_ok=True)
    try:
        return _run(ref, opts, workdir, say)
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(ref: TargetRef, opts: VerifyOptions, workdir: str, say: Progress) -> Union[Report, MatrixReport]:
    from ckptlint.harness.tfenv import configure_devices, quiet_tf_logs

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    say("start-up: importing TensorFlow and the target")
    quiet_tf_logs()
    if not configure_devices(opts.strategy):
        # TF is already initialized here with one CPU: the whole verification moves to a fresh process
        say("TensorFlow already initialized with one CPU device: running in a fresh process")
        return _run_elsewhere(ref, opts, workdir)
    import numpy as np
    import tensorflow  # noqa: F401  (timed as start-up)

    from ckptlint.harness.compare import judge_control
    from ckptlint.harness.methods import METHODS, default_method
    from ckptlint.harness.session import Session
    from ckptlint.harness.snapshot import take_snapshot, weights_vector
    from ckptlint.harness.training import PhaseError, guarded, run_steps

    session = Session(ref, opts.strategy, opts.seed)
    n = opts.steps
    timings["start-up"] = time.perf_counter() - t0

    def report_for(method: str, **fields: Any) -> Report:
        return Report(target=ref.describe(), method=method, steps=n, strategy=opts.strategy, **fields)

    # Run A: 2N uninterrupted steps (also decides the method list and whether data position is verified)
    t0 = time.perf_counter()
    say(f"run A: {2 * n} uninterrupted steps")
    setup = session.fresh()
    default = default_method(setup)
    methods = list(METHODS) if opts.method == "all" else [opts.method or default]
    if opts.method == "all" and not setup.has_own_checkpointing:
        methods.remove("user")
    data_position = setup.batch is None
    try:
        log_a = run_steps(setup, 0, 2 * n, record_weights=True)
        final_a = guarded("inventory", take_snapshot, setup, data_position)
    except PhaseError as exc:
        error = {"phase": exc.phase, "message": exc.message}
        return _wrap({m: report_for(m, error=error, timings=timings) for m in methods}, opts, ref, default, timings)
    a_weights = os.path.join(workdir, "a_weights.npy")
    np.save(a_weights, np.stack(log_a.weight_vectors))
    timings["run A"] = time.perf_counter() - t0

    # Negative control: a cold start over the same last N steps, without restore
    t0 = time.perf_counter()
    say(f"control: cold start, {n} steps without restore")
    cold = session.fresh()
    try:
        # its optimizers built untrained: the fresh values of slots that Keras creates lazily
        session.build_optimizers(cold, final_a.built_over)
        fresh = guarded("inventory", take_snapshot, cold, data_position)
        run_steps(cold, n, n, record_weights=False)
        control = judge_control(log_a.weight_vectors[-1], weights_vector(cold), opts.atol, opts.rtol)
    except PhaseError:
        fresh, control = None, None  # a cold start that cannot train proves nothing; the verdict cannot be "pass"
    del cold
    timings["control"] = time.perf_counter() - t0

    # Run B part 1 for each method: N steps, snapshot, save
    t0 = time.perf_counter()
    reports: dict[str, Report] = {}
    unavailable: dict[str, str] = {}
    pending: list[_Pending] = []
    for method_name in methods:
        method = METHODS[method_name]
        say(f"run B ({method_name}): {n} steps, then save")
        setup = session.fresh()
        reason = method.unavailable(setup)
        if reason is not None:
            if opts.method != "all":
                raise CkptlintError(f"--method {method_name} does not apply: {reason}")
            unavailable[method_name] = reason
            continue
        directory = os.path.join(workdir, method_name)
        os.makedirs(os.path.join(directory, "checkpoint"), exist_ok=True)
        try:
            log_b1 = run_steps(setup, 0, n, record_weights=True)
            saved = guarded("inventory", take_snapshot, setup, data_position)
            saved.save(os.path.join(directory, "saved"))
            guarded("save", method.save, setup, os.path.join(directory, "checkpoint"))
        except PhaseError as exc:
            reports[method_name] = report_for(method_name, error={"phase": exc.phase, "message": exc.message})
            continue
        diffs = [float(np.max(np.abs(v - a), initial=0.0)) if v.shape == a.shape else float("inf")
                 for v, a in zip(log_b1.weight_vectors, log_a.weight_vectors)]
        job = {"target": ref.to_dict(), "method": method_name, "steps": n, "strategy": opts.strategy,
               "seed": opts.seed, "data_position": data_position, "a_weights": a_weights,
               "checkpoint_dir": os.path.join(directory, "checkpoint"), "saved": os.path.join(directory, "saved"),
               "out": directory, "result": os.path.join(directory, "result.json")}
        job_path = os.path.join(directory, "job.json")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job, fh)
        pending.append(_Pending(method_name, directory, job_path, log_b1.losses, diffs))
    del setup
    timings["run B part 1 (train+save)"] = time.perf_counter() - t0

    # Run B part 2: fresh processes, in parallel
    t0 = time.perf_counter()
    if pending:
        say(f"run B: restore in {len(pending)} fresh process(es) and train {n} more steps")
    workers = max(1, min(opts.jobs, len(pending) or 1))
    groups = [pending[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda g: _spawn([p.job_path for p in g], opts.worker_timeout), groups))
    by_method = {p.method: r for group, rs in zip(groups, outcomes) for p, r in zip(group, rs)}
    results = [by_method[p.method] for p in pending]
    timings["run B part 2 (fresh process)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for p, result in zip(pending, results):
        reports[p.method] = _assemble(report_for(p.method), p, result, final_a, log_a.losses, opts, control, fresh)
    timings["compare"] = time.perf_counter() - t0
    for method_name, report in reports.items():
        worker = next((r for p, r in zip(pending, results) if p.method == method_name), {})
        report.timings = {**timings, **{f"worker {k}": v for k, v in worker.get("timings", {}).items()}}
    ordered = {m: reports[m] for m in methods if m in reports}
    return _wrap(ordered, opts, ref, default, timings, unavailable)


def _wrap(reports: dict[str, Report], opts: VerifyOptions, ref: TargetRef, default: str, timings: dict[str, float],
          unavailable: Optional[dict[str, str]] = None) -> Union[Report, MatrixReport]:
    if opts.method != "all":
        return next(iter(reports.values()))
    return MatrixReport(target=ref.describe(), steps=opts.steps, strategy=opts.strategy, reports=reports,
                        unavailable=unavailable or {}, default=default, timings=timings)


def _run_elsewhere(ref: TargetRef, opts: VerifyOptions, workdir: str) -> Union[Report, MatrixReport]:
    """Run the whole verification in a fresh interpreter (where logical devices can still be set up)."""
    from dataclasses import asdict

    request = os.path.join(workdir, "verify-request.json")
    with open(request, "w", encoding="utf-8") as fh:
        json.dump({"target": ref.to_dict(), "options": {**asdict(opts), "workdir": os.path.join(workdir, "run")},
                   "result": os.path.join(workdir, "verify-result.json")}, fh)
    outcome = _spawn([request], opts.worker_timeout, module="ckptlint.harness.delegate")[0]
    if "ckptlint_error" in outcome:
        raise CkptlintError(outcome["ckptlint_error"])
    if "error" in outcome and "schema" not in outcome:
        raise CkptlintError(f"verification process failed: {outcome['error']['message']}")
    if outcome["schema"] == MatrixReport.SCHEMA:
        return MatrixReport.from_dict(outcome)
    return Report.from_dict(outcome)


def _spawn(job_paths: list[str], timeout: float, module: str = "ckptlint.harness.worker") -> list[dict[str, Any]]:
    """Run jobs in one fresh interpreter that sees the same import path as this one."""
    if not job_paths:
        return []
    env = dict(os.environ)
    paths = [p or os.getcwd() for p in sys.path] + [env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result_paths = []
    for job_path in job_paths:
        with open(job_path, encoding="utf-8") as fh:
            result_paths.append(json.load(fh)["result"])
    crash = None
    try:
        proc = subprocess.run([sys.executable, "-m", module, *job_paths], env=env,
                              capture_output=True, text=True, timeout=timeout * len(job_paths))
        if proc.returncode != 0:
            tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-1:] or ["no output"]
            crash = f"worker exited with code {proc.returncode}: {tail[0]}"
    except subprocess.TimeoutExpired:
        crash = f"timed out after {timeout * len(job_paths):.0f}s"
    results = []
    for path in result_paths:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                results.append(json.load(fh))
        else:
            results.append({"error": {"phase": "restore (fresh process)", "message": crash or "no result"}})
    return results


def _assemble(report: Report, pending: _Pending, result: dict[str, Any], final_a: Any,
              losses_a: list[list[float]], opts: VerifyOptions, control: Any, fresh: Any) -> Report:
    from ckptlint.harness.compare import compare_runs, diff_restore
    from ckptlint.harness.methods import METHODS
    from ckptlint.harness.snapshot import Snapshot

    if result.get("error"):
        report.error = result["error"]
        return report
    saved = Snapshot.load(os.path.join(pending.directory, "saved"))
    initial = Snapshot.load(os.path.join(pending.directory, "initial"))
    if fresh is not None:
        initial = initial.filled_from(fresh)
    restored = Snapshot.load(os.path.join(pending.directory, "restored"))
    final_b = Snapshot.load(os.path.join(pending.directory, "final"))
    report.components = diff_restore(saved, initial, restored, METHODS[pending.method].holds_kind,
                                     result.get("restore_errors", {}))
    report.equivalence = compare_runs(final_a, final_b, losses_a, pending.losses_b1 + result["losses"],
                                      pending.weight_diffs_b1 + result["weight_diffs"], opts.atol, opts.rtol)
    report.control = control
    return report
