"""The training process: everything of a verification that comes before the fresh-process restore.

`python -m ckptlint.harness.primary REQUEST.json`, started by the supervisor (runner.py):
  1. start-up: TensorFlow, logical devices for the strategy, the target's module
  2. freshness: two setups from the factory must be identical and share no state (freshness.py)
  3. run A: 2N uninterrupted steps, the weights after every step
  4. control: a cold start over the last N steps; its first update shows the fresh values of state that
     is created lazily (slots, an unbuilt model's variables)
  5. run B part 1, per method: N steps, snapshot, save; each saved job is announced at once, so a worker
     restores it while this process goes on with the next method
Results go to files in the work directory (see `Outputs`); user output goes to this process's log files.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.harness.channel import Channel, die_with_parent


class Outputs:
    """Where the training process leaves its results (read back by assemble.py)."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.summary = os.path.join(workdir, "primary.json")
        self.a_weights = os.path.join(workdir, "a_weights.npy")
        self.final_a = os.path.join(workdir, "final_a")
        self.a_next = os.path.join(workdir, "a_after_first_resumed_step")
        self.fresh = os.path.join(workdir, "fresh")
        self.fresh_probe = os.path.join(workdir, "fresh_probe")
        self.fresh_next = os.path.join(workdir, "fresh_after_first_step")

    def method_dir(self, method: str) -> str:
        return os.path.join(self.workdir, "methods", method)


def main(argv: list[str]) -> int:
    channel = Channel.from_environment()
    die_with_parent()
    from ckptlint.harness.training import report_steps

    report_steps(lambda done, total: channel.send("step", done=done, total=total))
    if len(argv) != 1:
        print("usage: python -m ckptlint.harness.primary REQUEST.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        request = json.load(fh)
    try:
        summary = run(request, channel)
    except CkptlintError as exc:
        channel.send("fatal", message=str(exc))
        return 0
    except Exception as exc:  # a failure of ckptlint's own code: one line for the user, the rest in the log
        import traceback

        traceback.print_exc()
        channel.send("fatal", message=f"internal error in the training process: {type(exc).__name__}: {exc}")
        return 0
    out = Outputs(request["workdir"])
    tmp = out.summary + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(summary, fh)
    os.replace(tmp, out.summary)
    channel.send("done")
    return 0


def run(request: dict[str, Any], channel: Channel) -> dict[str, Any]:
    from ckptlint.harness.runner import VerifyOptions
    from ckptlint.harness.target import TargetRef
    from ckptlint.harness.tfenv import configure_devices, quiet_tf_logs

    opts = VerifyOptions(**request["options"])
    ref = TargetRef.from_dict(request["target"])
    out = Outputs(request["workdir"])
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    channel.phase("start-up")
    quiet_tf_logs()
    configure_devices(opts.strategy)
    import numpy as np
    import tensorflow  # noqa: F401  (timed as start-up)

    from ckptlint.harness.compare import judge_control
    from ckptlint.harness.discover import forget
    from ckptlint.harness.freshness import freshness_problem, wrote_nothing
    from ckptlint.harness.methods import METHODS, default_method
    from ckptlint.harness.probe import FirstUpdateProbe
    from ckptlint.harness.rng import stateful_random_ops
    from ckptlint.harness.session import Session
    from ckptlint.harness.snapshot import take_snapshot, weights_vector
    from ckptlint.harness.training import PhaseError, guarded, run_steps

    channel.phase("importing the target")
    session = Session(ref, opts.strategy, opts.seed)
    n = opts.steps
    timings["start-up"] = time.perf_counter() - t0
    summary: dict[str, Any] = {"errors": {}, "b1": {}, "unavailable": {}, "timings": timings, "control": None,
                               "random_ops": [], "notes": []}

    # Freshness: two setups before anything trains
    t0 = time.perf_counter()
    channel.phase("factory: two fresh setups")
    first = session.fresh()
    data_position = first.batch is None
    default = default_method(first)
    methods = list(METHODS) if opts.method == "all" else [opts.method or default]
    if opts.method == "all" and not first.has_own_checkpointing:
        methods.remove("user")
    summary.update(default=default, methods=methods, data_position=data_position)
    try:
        snap_first = guarded("inventory", take_snapshot, first, data_position)
        second = session.fresh()
        snap_second = guarded("inventory", take_snapshot, second, data_position)
    except PhaseError as exc:
        return _all_failed(summary, methods, exc.to_dict())
    problem = freshness_problem(first, second, snap_first, snap_second)
    del second
    if problem:
        return _all_failed(summary, methods, {"phase": "factory", "message": problem, "where": None,
                                              "traceback": None})
    timings["freshness"] = time.perf_counter() - t0

    if first.fit is not None:
        return _fit_mode(first, session, opts, ref, out, summary, channel)

    # Run A: 2N uninterrupted steps (peeking at the data position after step N+1)
    t0 = time.perf_counter()
    channel.phase(f"run A: {2 * n} uninterrupted steps")
    setup = first

    def after_step(step: int, trained: Any) -> None:
        if step == n and data_position:
            forget(trained)
            take_snapshot(trained, True, rng=False).save(out.a_next)

    try:
        initial_weights = weights_vector(setup)
        log_a = run_steps(setup, 0, 2 * n, record_weights=True, on_step=after_step)
        forget(setup)
        final_a = guarded("inventory", take_snapshot, setup, data_position)
        summary["random_ops"] = [asdict(op) for op in stateful_random_ops(setup)]
    except PhaseError as exc:
        return _all_failed(summary, methods, exc.to_dict())
    vectors = [initial_weights, *log_a.weight_vectors]
    if len({v.shape for v in vectors}) == 1:
        np.save(out.a_weights, np.stack(vectors))
    else:  # an unbuilt model: no weights before its first step
        np.save(out.a_weights, np.stack([np.full_like(vectors[-1], np.nan), *log_a.weight_vectors]))
    final_a.save(out.final_a)
    summary["losses_a"] = log_a.losses
    timings["run A"] = time.perf_counter() - t0
    del setup, first

    # Negative control: a cold start over the last N steps, without restore
    t0 = time.perf_counter()
    channel.phase(f"control: cold start, {n} steps without restore")
    cold = session.fresh()
    try:
        guarded("inventory", take_snapshot, cold, data_position).save(out.fresh)
        with FirstUpdateProbe(cold) as probe:
            run_steps(cold, n, 1, record_weights=False)
        fresh_probe = probe.snapshot()
        if fresh_probe is not None:
            fresh_probe.save(out.fresh_probe)
        if data_position:
            forget(cold)
            take_snapshot(cold, True, rng=False).save(out.fresh_next)
        if n > 1:
            run_steps(cold, n + 1, n - 1, record_weights=False)
        summary["control"] = asdict(judge_control(log_a.weight_vectors[-1], weights_vector(cold), opts.atol,
                                                  opts.rtol))
    except PhaseError as exc:
        summary["control_error"] = exc.to_dict()  # a cold start that cannot train proves nothing
    del cold
    timings["control"] = time.perf_counter() - t0

    # Run B part 1 for each method: N steps, snapshot, save
    t0 = time.perf_counter()
    for method_name in methods:
        method = METHODS[method_name]
        channel.phase(f"run B ({method_name}): {n} steps, then save")
        setup = session.fresh()
        reason = method.unavailable(setup)
        if reason is not None:
            if opts.method != "all":
                raise CkptlintError(f"--method {method_name} does not apply: {reason}")
            summary["unavailable"][method_name] = reason
            continue
        directory = out.method_dir(method_name)
        checkpoint_dir = os.path.join(directory, "checkpoint")
        os.makedirs(checkpoint_dir, exist_ok=True)
        try:
            log_b1 = run_steps(setup, 0, n, record_weights=True)
            forget(setup)
            saved = guarded("inventory", take_snapshot, setup, data_position)
            saved.save(os.path.join(directory, "saved"))
            channel.phase(f"run B ({method_name}): save")
            guarded("save", method.save, setup, checkpoint_dir)
        except PhaseError as exc:
            summary["errors"][method_name] = exc.to_dict()
            continue
        if wrote_nothing(checkpoint_dir):
            summary["errors"][method_name] = {
                "phase": "save", "where": None, "traceback": None,
                "message": "save(directory) wrote nothing into the directory it was given: the checkpoint went "
                           "somewhere else (a path fixed in the code?), so the fresh process cannot find it"}
            continue
        diffs = [float(np.max(np.abs(v - a), initial=0.0)) if v.shape == a.shape else float("inf")
                 for v, a in zip(log_b1.weight_vectors, log_a.weight_vectors)]
        summary["b1"][method_name] = {"losses": log_b1.losses, "weight_diffs": diffs}
        job = {"target": ref.to_dict(), "method": method_name, "steps": n, "strategy": opts.strategy,
               "seed": opts.seed, "data_position": data_position, "a_weights": out.a_weights,
               "atol": opts.atol, "checkpoint_dir": checkpoint_dir, "saved": os.path.join(directory, "saved"),
               "out": directory, "result": os.path.join(directory, "result.json")}
        job_path = os.path.join(directory, "job.json")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job, fh)
        channel.send("saved", method=method_name, job=job_path)
        del setup
    timings["run B part 1 (train+save)"] = time.perf_counter() - t0
    return summary


def _fit_mode(first: Any, session: Any, opts: Any, ref: Any, out: Outputs, summary: dict[str, Any],
              channel: Channel) -> dict[str, Any]:
    """The same runs with the program's own `model.fit`: A uninterrupted, a cold start, and B interrupted
    inside fit after update N (its state after every update kept, to compare with wherever it resumes)."""
    import numpy as np

    from ckptlint.harness.compare import judge_control
    from ckptlint.harness.fitmode import run_fit
    from ckptlint.harness.probe import FirstUpdateProbe
    from ckptlint.harness.snapshot import take_snapshot, weights_vector
    from ckptlint.harness.training import PhaseError, guarded

    if opts.method not in (None, "user"):
        raise CkptlintError(f"--method {opts.method} does not apply to Setup.fit: a fit-style program is verified "
                            "through its own callbacks and restore (method user)")
    n, timings = opts.steps, summary["timings"]
    summary.update(methods=["user"], default="user", data_position=False)
    t0 = time.perf_counter()
    channel.phase("run A: the program's fit(), uninterrupted")
    try:
        initial_weights = weights_vector(first)
        log_a = guarded("fit", run_fit, first, os.path.join(out.workdir, "runs", "A"))
        final_a = guarded("inventory", take_snapshot, first, False)
    except PhaseError as exc:
        return _all_failed(summary, ["user"], exc.to_dict())
    total = len(log_a.positions)
    if n >= total:
        raise CkptlintError(f"--steps {n}: the program's fit() makes only {total} update(s); interrupt it "
                            f"earlier (--steps below {total})")
    rows = [initial_weights if initial_weights.shape == log_a.weight_vectors[0].shape
            else np.full_like(log_a.weight_vectors[0], np.nan), *log_a.weight_vectors]
    np.save(out.a_weights, np.stack(rows))
    final_a.save(out.final_a)
    summary["losses_a"] = log_a.losses
    summary["fit"] = {"updates_a": total, "interrupted_at": n, "positions_a": log_a.positions}
    timings["run A"] = time.perf_counter() - t0
    del first

    t0 = time.perf_counter()
    channel.phase(f"control: the program's fit() from a cold start, {total - n} updates")
    cold = session.fresh()
    try:
        guarded("inventory", take_snapshot, cold, False).save(out.fresh)
        with FirstUpdateProbe(cold) as probe:
            guarded("fit", run_fit, cold, os.path.join(out.workdir, "runs", "control"), total - n)
        first_update = probe.snapshot()
        if first_update is not None:
            first_update.save(out.fresh_probe)
        summary["control"] = asdict(judge_control(log_a.weight_vectors[-1], weights_vector(cold), opts.atol,
                                                  opts.rtol))
    except PhaseError as exc:
        summary["control_error"] = exc.to_dict()
    del cold
    timings["control"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    channel.phase(f"run B: the program's fit(), interrupted after update {n}")
    setup = session.fresh()
    directory = out.method_dir("user")
    checkpoint_dir = os.path.join(directory, "checkpoint")
    os.makedirs(os.path.join(directory, "at"), exist_ok=True)

    def keep(update: int, trained: Any) -> None:
        take_snapshot(trained, False).save(os.path.join(directory, "at", str(update)))

    try:
        log_b1 = guarded("fit", run_fit, setup, checkpoint_dir, n, keep)
    except PhaseError as exc:
        summary["errors"]["user"] = exc.to_dict()
        return summary
    os.replace(os.path.join(directory, "at", f"{n}.npz"), os.path.join(directory, "saved.npz"))
    os.replace(os.path.join(directory, "at", f"{n}.json"), os.path.join(directory, "saved.json"))
    diffs = [float(np.max(np.abs(v - a), initial=0.0)) if v.shape == a.shape else float("inf")
             for v, a in zip(log_b1.weight_vectors, log_a.weight_vectors)]
    summary["b1"]["user"] = {"losses": log_b1.losses, "weight_diffs": diffs}
    timings["run B part 1 (train+save)"] = time.perf_counter() - t0
    job = {"target": ref.to_dict(), "method": "user", "steps": n, "strategy": opts.strategy, "seed": opts.seed,
           "data_position": False, "a_weights": out.a_weights, "atol": opts.atol, "fit": True,
           "checkpoint_dir": checkpoint_dir, "saved": os.path.join(directory, "saved"), "out": directory,
           "result": os.path.join(directory, "result.json")}
    job_path = os.path.join(directory, "job.json")
    with open(job_path, "w", encoding="utf-8") as fh:
        json.dump(job, fh)
    channel.send("saved", method="user", job=job_path)
    return summary


def _all_failed(summary: dict[str, Any], methods: list[str], error: dict[str, Any]) -> dict[str, Any]:
    summary["errors"] = {m: error for m in methods}
    return summary


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

