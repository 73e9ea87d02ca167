"""Supervise one verification. This process runs no user code and never imports TensorFlow.

It starts the training process (primary.py: freshness check, run A, the cold-start control, run B part 1
for each method) and, at the same time, the fresh-process workers (worker.py), which import TensorFlow
while the training process works and restore each method's checkpoint as soon as it is saved. It
watches their phases (`--timeout` per phase), keeps their output out of its own, and on every way out
(done, error, timeout, Ctrl-C, SIGTERM) stops them and removes the temporary work directory.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Union

from ckptlint.errors import CkptlintError
from ckptlint.harness.matrix import MatrixReport
from ckptlint.harness.target import TargetRef, parse_target
from ckptlint.harness.tfenv import DEFAULT_SEED, STRATEGIES, require_tensorflow
from ckptlint.harness.verdict import Report

Progress = Callable[[str], None]
DEFAULT_TIMEOUT = 600.0


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
    timeout: float = DEFAULT_TIMEOUT  # seconds one phase of user code may take
    allow_rng: bool = False


def validate(opts: VerifyOptions) -> None:
    """Reject options that would make every verdict meaningless (a negative tolerance fails correct code)."""
    from ckptlint.harness.methods_names import METHOD_NAMES

    if not isinstance(opts.steps, int) or isinstance(opts.steps, bool) or opts.steps < 1:
        raise CkptlintError(f"--steps must be a whole number of at least 1 (got {opts.steps!r})")
    for name in ("atol", "rtol"):
        value = getattr(opts, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise CkptlintError(f"--{name} must be a finite number >= 0 (got {value!r})")
    if not isinstance(opts.timeout, (int, float)) or not math.isfinite(opts.timeout) or opts.timeout <= 0:
        raise CkptlintError(f"--timeout must be a number of seconds > 0 (got {opts.timeout!r})")
    if opts.method is not None and opts.method not in METHOD_NAMES:
        raise CkptlintError(f"unknown --method {opts.method!r} (choose from: {', '.join(METHOD_NAMES)})")
    if opts.strategy is not None and opts.strategy not in STRATEGIES:
        raise CkptlintError(f"unknown --strategy {opts.strategy!r} (choose from: {', '.join(STRATEGIES)})")
    if opts.jobs < 1:
        raise CkptlintError(f"jobs must be at least 1 (got {opts.jobs})")


def run(target: Any, opts: VerifyOptions, progress: Optional[Progress] = None) -> Union[Report, MatrixReport]:
    from ckptlint.harness.process import terminate_on_sigterm

    validate(opts)
    ref = parse_target(target)
    if opts.workdir is not None and os.path.exists(opts.workdir) and not os.path.isdir(opts.workdir):
        raise CkptlintError(f"--workdir {opts.workdir}: exists and is not a directory")
    require_tensorflow()
    owned = opts.workdir is None
    if owned:
        workdir = tempfile.mkdtemp(prefix="ckptlint-verify-")
    else:
        workdir = os.path.abspath(opts.workdir)
        if os.path.exists(workdir) and not os.path.isdir(workdir):
            raise CkptlintError(f"--workdir {opts.workdir}: exists and is not a directory")
        try:
            os.makedirs(workdir, exist_ok=True)
        except OSError as exc:
            raise CkptlintError(f"--workdir {opts.workdir}: cannot create it ({exc.strerror})") from None
    try:
        with terminate_on_sigterm():
            return _supervise(ref, opts, workdir, progress or (lambda _message: None))
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)


def _supervise(ref: TargetRef, opts: VerifyOptions, workdir: str, say: Progress) -> Union[Report, MatrixReport]:
    from ckptlint.harness import process
    from ckptlint.harness.methods_names import BUILTIN_METHODS
    from ckptlint.harness.primary import Outputs

    out = Outputs(workdir)
    for stale in (out.summary,):
        if os.path.exists(stale):
            os.remove(stale)
    request = os.path.join(workdir, "request.json")
    with open(request, "w", encoding="utf-8") as fh:
        json.dump({"target": ref.to_dict(), "options": {**asdict(opts), "workdir": workdir}, "workdir": workdir}, fh)
    n_workers = 1 if opts.method != "all" else max(1, min(opts.jobs, len(BUILTIN_METHODS)))
    strategy_args = ["--strategy", opts.strategy] if opts.strategy else []
    started = time.perf_counter()
    primary = process.spawn("training process", "ckptlint.harness.primary", [request], workdir)
    children = [primary]
    try:
        for i in range(n_workers):
            children.append(process.spawn(f"fresh process {i + 1}", "ckptlint.harness.worker", strategy_args,
                                          workdir, stdin=True))
        outcome = _watch(primary, children[1:], opts, say)
    finally:
        process.terminate(children)
        process.release(children)
    outcome.timings["total (supervisor)"] = time.perf_counter() - started
    return _reports(ref, opts, out, outcome)


@dataclass
class _Outcome:
    """What the supervisor saw: the training process's fate, and each job's result or failure."""

    primary_error: Optional[dict[str, Any]] = None
    job_methods: dict[str, str] = field(default_factory=dict)  # job path -> method
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> worker result
    timings: dict[str, float] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)  # child name -> tail of its output
    deaths: list[str] = field(default_factory=list)  # fresh processes that died between jobs, and how


def _watch(primary: Any, workers: list[Any], opts: VerifyOptions, say: Progress) -> _Outcome:
    from ckptlint.harness import process
    from ckptlint.harness.assemble import load_result

    outcome = _Outcome()
    assigned: dict[str, Any] = {}  # job path -> worker
    done_primary = False
    next_worker = 0
    first_job_at: Optional[float] = None
    live = [primary, *workers]
    for event in process.events(live, opts.timeout):
        child, data = event.child, event.data
        kind = data.get("event")
        if kind == "phase":
            say(f"{child.name}: {data.get('name')}" if child is not primary else str(data.get("name")))
        elif kind == "fatal":
            raise CkptlintError(str(data.get("message")))
        elif kind == "saved":
            usable = [w for w in workers if w.popen.poll() is None and not w.finished]
            worker = usable[next_worker % len(usable)] if usable else None
            next_worker += 1
            first_job_at = first_job_at or time.perf_counter()
            outcome.job_methods[data["job"]] = data["method"]
            try:
                if worker is None:
                    raise BrokenPipeError
                process.send_job(worker, data["job"])
                assigned[data["job"]] = worker
            except (BrokenPipeError, OSError):
                why = "; ".join(outcome.deaths) or "it ended before this job"
                outcome.results[data["method"]] = _failure("restore (fresh process)",
                                                           f"no fresh process left to run it ({why})")
        elif kind == "result":
            method = outcome.job_methods.get(data["job"], "")
            with open(data["job"], encoding="utf-8") as fh:
                result_path = json.load(fh)["result"]
            outcome.results[method] = load_result(result_path) or _failure("restore (fresh process)", "no result")
            assigned.pop(data["job"], None)
        elif kind == "done" and child is primary:
            done_primary = True
            for worker in workers:
                process.close_jobs(worker)
        elif kind == "timeout":
            message = f"timed out after {opts.timeout:g} s (--timeout); stopped"
            _stop(child, primary, workers, assigned, outcome, data.get("phase"), message)
            if child is primary:
                outcome.primary_error = _failure(str(data.get("phase")), message)["error"]
        elif kind == "exited":
            if child is primary and not done_primary and outcome.primary_error is None:
                phase = child.phase or (child.history[-1] if child.history else "start-up")
                outcome.primary_error = _failure(phase, _died(child, "the training process"))["error"]
                outcome.logs[child.name] = child.output_tail()
                for worker in workers:
                    process.close_jobs(worker)
            elif child is not primary:
                if child.popen.returncode not in (0, None) and not any(o is child for o in assigned.values()):
                    outcome.deaths.append(_died(child, child.name))
                for job, owner in list(assigned.items()):
                    if owner is child:
                        phase = child.phase or (child.history[-1] if child.history else "restore (fresh process)")
                        outcome.results[outcome.job_methods[job]] = _failure(phase, _died(child, "the fresh process"))
                        outcome.logs[child.name] = child.output_tail()
                        del assigned[job]
    if first_job_at is not None:
        outcome.timings["run B part 2 (fresh process)"] = time.perf_counter() - first_job_at
    return outcome


def _stop(child: Any, primary: Any, workers: list[Any], assigned: dict[str, Any], outcome: _Outcome,
          phase: Optional[str], message: str) -> None:
    from ckptlint.harness import process

    process.terminate([child])
    if child is primary:
        for worker in workers:
            process.close_jobs(worker)
        return
    for job, owner in list(assigned.items()):
        if owner is child:
            outcome.results[outcome.job_methods[job]] = _failure(str(phase), message)
            del assigned[job]


def _died(child: Any, what: str) -> str:
    how = child.exit_description()
    hint = ""
    code = child.popen.returncode
    if code is not None and code > 0:
        hint = " (the code called os._exit() or sys.exit() outside a phase ckptlint could catch?)"
    elif code is not None and code < 0:
        hint = " (out of memory, or a crash in native code?)"
    last = [line for line in child.output_tail(40).splitlines()
            if line.strip() and not line.startswith(("I0000", "W0000", "E0000", "WARNING: All log"))][-1:]
    said = f"; its last output: {last[0].strip()[:300]}" if last else ""
    return f"{what} {how} without a result{hint}{said}"


def _failure(phase: str, message: str) -> dict[str, Any]:
    return {"error": {"phase": phase, "message": message, "where": None, "traceback": None}}


def _reports(ref: TargetRef, opts: VerifyOptions, out: Any, outcome: _Outcome) -> Union[Report, MatrixReport]:
    from ckptlint.harness.assemble import control_of, method_report

    summary: Optional[dict[str, Any]] = None
    if os.path.exists(out.summary):
        with open(out.summary, encoding="utf-8") as fh:
            summary = json.load(fh)
    if summary is None:
        error = outcome.primary_error or _failure("start-up", "the training process ended without a result")["error"]
        methods = [opts.method] if opts.method not in (None, "all") else ["checkpoint"]
        reports = {m: _report(ref, opts, m, error=error) for m in methods}
        return _wrap(reports, opts, ref, methods[0], outcome.timings, {})
    timings = {**summary.get("timings", {}), **outcome.timings}
    control = control_of(summary)
    reports: dict[str, Report] = {}
    for method in summary["methods"]:
        if method in summary["unavailable"]:
            continue
        report = _report(ref, opts, method)
        report.control = control
        report.random_ops = summary.get("random_ops", [])
        if method in summary["errors"]:
            report.error = summary["errors"][method]
        else:
            result = outcome.results.get(method)
            if result is None:
                error = outcome.primary_error or _failure("restore (fresh process)", "no result")["error"]
                result = {"error": error}
            report = method_report(report, method, out, summary, result, opts.atol, opts.rtol)
            worker_timings = result.get("timings", {})
            report.timings = {**timings, **{f"worker {k}": v for k, v in worker_timings.items()}}
        if not report.timings:
            report.timings = dict(timings)
        reports[method] = report
    return _wrap(reports, opts, ref, summary["default"], timings, summary["unavailable"])


def _report(ref: TargetRef, opts: VerifyOptions, method: str, **fields: Any) -> Report:
    return Report(target=ref.describe(), method=method, steps=opts.steps, strategy=opts.strategy,
                  allow_rng=opts.allow_rng, **fields)


def _wrap(reports: dict[str, Report], opts: VerifyOptions, ref: TargetRef, default: str, timings: dict[str, float],
          unavailable: Optional[dict[str, str]] = None) -> Union[Report, MatrixReport]:
    if opts.method != "all":
        return next(iter(reports.values()))
    return MatrixReport(target=ref.describe(), steps=opts.steps, strategy=opts.strategy, reports=reports,
                        unavailable=unavailable or {}, default=default, timings=timings)
