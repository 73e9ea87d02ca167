"""Run B, part 2, in a FRESH process: fresh setup, restore, read the state, N more steps.

Started by the supervisor as `python -m ckptlint.harness.worker [--strategy NAME]` while the training
process is still at work: it imports TensorFlow, then takes job files from its standard input, one path
per line, until the input closes. A job (written by the training process) names the target, method,
checkpoint directory and where to write results; nothing else crosses the process boundary, so no state
can survive in memory. The worker never imports the target before its first job, which is saved by then.

The result JSON is {"error": {"phase", "message", "where", "traceback"} | null, "restore_errors": {kind: message},
"losses": [[float]], "weight_diffs": [float], "unused": [key], "rng_carried": {...} | null, "timings": {..}},
with the snapshots written next to it: initial (fresh, before restore), restored (right after restore),
probe (at the first update), after_first (data position after the first resumed step), final.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from ckptlint.errors import CkptlintError
from ckptlint.harness.channel import Channel, die_with_parent


def run_job(job: dict[str, Any], channel: Channel) -> dict[str, Any]:
    """Do the fresh-process half of run B and return the result (errors become a result, not a crash)."""
    import numpy as np

    from ckptlint.harness.compare import max_abs_diff
    from ckptlint.harness.discover import forget
    from ckptlint.harness.methods import METHODS
    from ckptlint.harness.probe import FirstUpdateProbe
    from ckptlint.harness.session import Session
    from ckptlint.harness.snapshot import Snapshot, take_snapshot
    from ckptlint.harness.target import TargetRef
    from ckptlint.harness.training import PhaseError, guarded, run_steps

    timings: dict[str, float] = {}
    result: dict[str, Any] = {"error": None, "restore_errors": {}, "losses": [], "weight_diffs": [],
                              "unused": [], "rng_carried": None, "timings": timings}
    method, steps, out, dp = job["method"], job["steps"], job["out"], job["data_position"]
    a_weights = np.load(job["a_weights"])
    if job.get("fit"):
        return _resume_fit(job, channel, result, a_weights)

    def restored_setup() -> Any:
        try:
            session = Session(TargetRef.from_dict(job["target"]), job["strategy"], job["seed"])
            setup = session.fresh()
        except CkptlintError as exc:
            raise PhaseError("factory (fresh process)", str(exc)) from None
        initial = guarded("inventory", take_snapshot, setup, dp)
        restored = guarded("restore", METHODS[method].restore, setup, job["checkpoint_dir"])
        return initial, restored

    try:
        t0 = time.perf_counter()
        channel.phase(f"restore ({method}, fresh process)")
        initial, restored = restored_setup()
        setup = restored.setup
        result["restore_errors"] = restored.errors
        forget(setup)
        after = guarded("inventory", take_snapshot, setup, dp)
        timings["setup+restore"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        channel.phase(f"resumed training ({method}, fresh process): {steps} steps")
        with FirstUpdateProbe(setup) as probe:
            log = run_steps(setup, steps, 1, record_weights=True)
        probe_snap = probe.snapshot()
        result["unused"] = probe.unused_variables()
        if dp:
            forget(setup)
            guarded("inventory", lambda s: take_snapshot(s, True, rng=False), setup).save(
                os.path.join(out, "after_first"))
        if steps > 1:
            rest = run_steps(setup, steps + 1, steps - 1, record_weights=True)
            log.losses += rest.losses
            log.weight_vectors += rest.weight_vectors
        timings["train"] = time.perf_counter() - t0
        result["losses"] = log.losses
        result["weight_diffs"] = [max_abs_diff(v, a_weights[steps + 1 + i]) for i, v in enumerate(log.weight_vectors)]
        forget(setup)
        final = guarded("inventory", take_snapshot, setup, dp)
        initial.save(os.path.join(out, "initial"))
        after.save(os.path.join(out, "restored"))
        if probe_snap is not None:
            probe_snap.save(os.path.join(out, "probe"))
        final.save(os.path.join(out, "final"))

        saved = Snapshot.load(job["saved"])
        diverged = any(not d <= job.get("atol", 0.0) for d in result["weight_diffs"])
        if diverged and _rng_not_restored(saved, after):
            channel.phase(f"resumed training again ({method}), the saved RNG state carried over")
            result["rng_carried"] = _with_rng_carried_over(restored_setup, saved, steps, a_weights, job)
    except PhaseError as exc:
        result["error"] = exc.to_dict()
    except Exception as exc:  # a failure of ckptlint's own code: reported, not a dead worker
        import traceback

        result["error"] = {"phase": "ckptlint (internal error)", "message": f"{type(exc).__name__}: {exc}",
                           "where": None, "traceback": traceback.format_exc()}
    return result


def _resume_fit(job: dict[str, Any], channel: Channel, result: dict[str, Any], a_weights: Any) -> dict[str, Any]:
    """Fit mode: a fresh Setup, the program's restore (if any), then its own fit() again to the end."""
    from ckptlint.harness.compare import max_abs_diff
    from ckptlint.harness.fitmode import resume_point, run_fit
    from ckptlint.harness.probe import FirstUpdateProbe
    from ckptlint.harness.rng import carry_over
    from ckptlint.harness.session import Session
    from ckptlint.harness.snapshot import Snapshot, take_snapshot, weights_vector
    from ckptlint.harness.target import TargetRef
    from ckptlint.harness.training import PhaseError, guarded

    import shutil

    out, n = job["out"], job["steps"]
    # the resumed fit() may rewrite or delete its backups (BackupAndRestore does at the end of training):
    # every resumed run starts from its own copy of what the interrupted run left
    runs = iter(range(1, 100))
    directory = job["checkpoint_dir"]

    def fresh_copy() -> str:
        path = f"{job['checkpoint_dir']}-resumed-{next(runs)}"
        shutil.copytree(job["checkpoint_dir"], path)
        return path

    def fresh_restored() -> tuple[Any, Any]:
        nonlocal directory
        directory = fresh_copy()
        try:
            setup = Session(TargetRef.from_dict(job["target"]), job["strategy"], job["seed"]).fresh()
        except CkptlintError as exc:
            raise PhaseError("factory (fresh process)", str(exc)) from None
        initial = guarded("inventory", take_snapshot, setup, False)
        if setup.restore is not None:
            returned = guarded("restore", setup.restore, directory)
            if returned is not None and hasattr(returned, "model") and hasattr(returned, "fit"):
                setup = returned
        return initial, setup

    try:
        channel.phase("user: fresh setup and the program's restore, in a fresh process")
        initial, setup = fresh_restored()
        seen: dict[str, Any] = {}

        def at_first_batch(trained: Any) -> None:  # after the program's on_train_begin (BackupAndRestore)
            seen["restored"] = take_snapshot(trained, False)
            seen["weights"] = weights_vector(trained)

        channel.phase("user: the program's fit() again, resumed")
        with FirstUpdateProbe(setup) as probe:
            log = guarded("fit", run_fit, setup, directory, None, None, at_first_batch)
        if "restored" not in seen:
            raise PhaseError("fit", "the resumed fit() made no update: it considered training finished")
        k = resume_point(seen["weights"], a_weights, n)
        result.update(losses=log.losses, positions=log.positions, resumed_from=k, unused=probe.unused_variables())
        result["weight_diffs"] = [
            max_abs_diff(v, a_weights[k + i]) if k is not None and k + i < len(a_weights) else float("inf")
            for i, v in enumerate(log.weight_vectors, start=1)]
        initial.save(os.path.join(out, "initial"))
        seen["restored"].save(os.path.join(out, "restored"))
        first_update = probe.snapshot()
        if first_update is not None:
            first_update.save(os.path.join(out, "probe"))
        guarded("inventory", take_snapshot, setup, False).save(os.path.join(out, "final"))
        saved = Snapshot.load(job["saved"])
        diverged = any(not d <= job.get("atol", 0.0) for d in result["weight_diffs"])
        if diverged and k is not None and _rng_not_restored(saved, seen["restored"]):
            channel.phase("user: resumed again with the saved RNG state carried over")
            expected = saved if k == n else (Snapshot.load(os.path.join(out, "at", str(k))) if k else None)
            if expected is not None:
                _initial, again = fresh_restored()
                carried: list[str] = []
                rerun = guarded("fit", run_fit, again, directory, None, None,
                                lambda s: carried.extend(carry_over(s, expected.values.get("rng", {}))))
                diffs = [max_abs_diff(v, a_weights[k + i]) if k + i < len(a_weights) else float("inf")
                         for i, v in enumerate(rerun.weight_vectors, start=1)]
                first = next((k + i for i, d in enumerate(diffs, start=1) if not d <= job.get("atol", 0.0)), None)
                result["rng_carried"] = {"equivalent": first is None and len(diffs) == len(a_weights) - 1 - k,
                                         "first_weight_divergent_step": first, "carried": carried}
    except PhaseError as exc:
        result["error"] = exc.to_dict()
    return result


def _rng_not_restored(saved: Any, restored: Any) -> bool:
    """Some RNG state (the rng component, or a tf.random.Generator in Setup.state) differs after restore."""
    from ckptlint.harness.compare import equal

    for name, entries in saved.values.items():
        if name != "rng" and saved.kinds.get(name) != "state:generator":
            continue
        mine = list(restored.values.get(name, {}).values())
        theirs = list(entries.values())
        if len(mine) != len(theirs) or not all(equal(a, b) for a, b in zip(mine, theirs)):
            return True
    return False


def _with_rng_carried_over(restored_setup: Any, saved: Any, steps: int, a_weights: Any,
                           job: dict[str, Any]) -> dict[str, Any]:
    """The counterfactual: restore again, copy the saved RNG state in, train N steps. Identical to run A
    means the RNG streams explain the whole divergence."""
    from ckptlint.harness.compare import max_abs_diff
    from ckptlint.harness.rng import RNG, carry_over
    from ckptlint.harness.training import run_steps

    _initial, restored = restored_setup()
    setup = restored.setup
    written = carry_over(setup, saved.values.get(RNG, {}))
    for key, obj in setup.state.items():  # declared generators are RNG state too
        entries = saved.values.get(f"state[{key}]", {})
        if saved.kinds.get(f"state[{key}]") == "state:generator" and entries:
            obj.reset(next(iter(entries.values())))
            written.append(f"Setup.state[{key!r}]")
    log = run_steps(setup, steps, steps, record_weights=True)
    diffs = [max_abs_diff(v, a_weights[steps + 1 + i]) for i, v in enumerate(log.weight_vectors)]
    atol = job.get("atol", 0.0)
    first = next((i for i, d in enumerate(diffs, start=steps + 1) if not d <= atol), None)
    return {"equivalent": first is None, "first_weight_divergent_step": first, "carried": written}


def main(argv: list[str]) -> int:
    """Run each job as it arrives. Several jobs (methods) may share one worker: each still restores into a
    fresh setup built after a cleared Keras session, and none of them ever held the saved run in memory."""
    parser = argparse.ArgumentParser(prog="python -m ckptlint.harness.worker")
    parser.add_argument("--strategy", default=None)
    args = parser.parse_args(argv)
    channel = Channel.from_environment()
    die_with_parent()
    from ckptlint.harness.training import report_steps

    report_steps(lambda done, total: channel.send("step", done=done, total=total))
    from ckptlint.harness.tfenv import configure_devices, quiet_tf_logs

    t0 = time.perf_counter()
    channel.phase("start-up")
    quiet_tf_logs()
    try:
        configure_devices(args.strategy)
    except CkptlintError as exc:
        channel.send("fatal", message=str(exc))
        return 0
    import tensorflow  # noqa: F401  (paid while the training process works)

    import_time = time.perf_counter() - t0
    channel.send("idle")
    for line in sys.stdin:
        job_path = line.strip()
        if not job_path:
            continue
        with open(job_path, encoding="utf-8") as fh:
            job = json.load(fh)
        result = run_job(job, channel)
        result["timings"]["import"] = import_time
        tmp = job["result"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(result, fh, allow_nan=True)
        os.replace(tmp, job["result"])
        channel.send("result", job=job_path)
        channel.send("idle")
    channel.send("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

