"""Run B, part 2, in a FRESH process: fresh setup, snapshot, restore, snapshot, N more steps.

Invoked as `python -m ckptlint.harness.worker JOB.json [JOB.json ...]`. The job (written by the runner) names the
target, method, checkpoint directory and where to write results; nothing else crosses the process
boundary, so no state can survive in memory. The result JSON is {"error": {"phase","message"} | null,
"restore_errors": {kind: message}, "losses": [[float]], "weight_diffs": [float], "timings": {..}}, with
the snapshots written next to it (initial, restored, final).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from ckptlint.errors import CkptlintError


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Do the fresh-process half of run B and return the result (errors become a result, not a crash)."""
    from ckptlint.harness.tfenv import configure_devices, quiet_tf_logs

    quiet_tf_logs()
    timings: dict[str, float] = {}
    result: dict[str, Any] = {"error": None, "restore_errors": {}, "losses": [], "weight_diffs": [],
                              "timings": timings}
    t0 = time.perf_counter()
    configure_devices(job["strategy"])
    import numpy as np
    import tensorflow  # noqa: F401  (timed on its own: it dominates a fresh process)

    from ckptlint.harness.compare import max_abs_diff
    from ckptlint.harness.methods import METHODS
    from ckptlint.harness.session import Session
    from ckptlint.harness.snapshot import Snapshot, take_snapshot
    from ckptlint.harness.target import TargetRef
    from ckptlint.harness.training import PhaseError, guarded, run_steps

    timings["import"] = time.perf_counter() - t0
    steps, out, dp = job["steps"], job["out"], job["data_position"]
    try:
        t0 = time.perf_counter()
        try:
            session = Session(TargetRef.from_dict(job["target"]), job["strategy"], job["seed"])
            setup = session.fresh()
        except CkptlintError as exc:
            raise PhaseError("factory", str(exc)) from None
        initial = guarded("inventory", take_snapshot, setup, dp)
        restored = guarded("restore", METHODS[job["method"]].restore, setup, job["checkpoint_dir"])
        setup = restored.setup
        result["restore_errors"] = restored.errors
        session.build_optimizers(setup, Snapshot.load(job["saved"]).built_over)
        after = guarded("inventory", take_snapshot, setup, dp)
        timings["setup+restore"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        log = run_steps(setup, steps, steps, record_weights=True)
        timings["train"] = time.perf_counter() - t0
        a_weights = np.load(job["a_weights"])
        result["losses"] = log.losses
        result["weight_diffs"] = [max_abs_diff(v, a_weights[steps + i]) for i, v in enumerate(log.weight_vectors)]
        final = guarded("inventory", take_snapshot, setup, dp)
        initial.save(os.path.join(out, "initial"))
        after.save(os.path.join(out, "restored"))
        final.save(os.path.join(out, "final"))
    except PhaseError as exc:
        result["error"] = {"phase": exc.phase, "message": exc.message}
    return result


def main(argv: list[str]) -> int:
    """Run each job in turn. Several jobs (methods) may share one worker: each still restores into a
    fresh setup built after a cleared Keras session, and none of them ever held the saved run in memory."""
    if not argv:
        print("usage: python -m ckptlint.harness.worker JOB.json [JOB.json ...]", file=sys.stderr)
        return 2
    for job_path in argv:
        with open(job_path, encoding="utf-8") as fh:
            job = json.load(fh)
        result = run_job(job)
        tmp = job["result"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(result, fh)
        os.replace(tmp, job["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
