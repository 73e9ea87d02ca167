"""`ckptlint verify --workers 2 -- COMMAND` on real two-worker MultiWorkerMirroredStrategy clusters.

Every test is one verification: U and K run at the same time (--kill-at is given, so K need not wait for
U), then R, each a cluster of two worker processes on 127.0.0.1 with a TF_CONFIG each. The determinism
run U2 is skipped to keep the set short: the programs are deterministic (fixed data, fixed order, no
randomness in the step), which the single-process suite's determinism tests cover.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jsonschema
import pytest

from ckptlint.harness.blackbox.report import BLACKBOX_JSON_SCHEMA
from tests.harness.blackbox.blackbox_helpers import causes, component_status, verify, verify_json
from tests.harness.distributed.cluster_helpers import (
    assert_bounded_to_loopback, assert_only_the_optimizer_lost_on_both_workers, worker_verdicts)

pytestmark = pytest.mark.tf
PROGRAMS = Path(__file__).resolve().parent / "programs"
CLUSTER = ("--workers", "2", "--no-determinism-check")
# The scheduler's SIGTERM, then its SIGKILL one second later; each step of the fit program lasts half a
# second, so the SIGKILL lands mid-training (MultiWorkerMirroredStrategy swallows the SIGTERM itself).
TERM = ("--signal", "term", "--grace", "1")


def verify_cluster(program: str, *options: str, args: tuple[str, ...] = ()) -> dict:
    report, proc = verify_json(program, *CLUSTER, *options, cwd=PROGRAMS, extra=("--out", "{out}", *args))
    jsonschema.validate(report, BLACKBOX_JSON_SCHEMA)
    return report


def test_custom_loop_with_chief_writing_the_real_directory_passes_when_one_worker_is_killed():
    """Worker 1 is killed at update 4; the chief halts where it would wait for it; both are restarted."""
    report = verify_cluster("custom_loop.py", "--kill-at", "4", "--kill-worker", "1", args=("--steps", "6"))
    assert report["verdict"] == "pass" and report["exit_code"] == 0, report["blackbox"]["causes"]
    bb = report["blackbox"]
    assert worker_verdicts(report) == ["pass", "pass"]
    assert bb["kill"]["happened"]["n"] == 4 and bb["resume"]["update"] == 3
    assert bb["cluster"]["kill_worker"] == "1" and "0" in bb["cluster"]["trials"]["K"]["ended_by_group"]
    for worker in bb["workers"]:
        assert worker["exactly_once"] == {"resumed_at": 3, "updates_after_resume": 3, "uninterrupted": 6,
                                          "exactly_once": True}
        assert worker["resume"]["path"].endswith("/K/work/ckpt-1")  # every worker read the chief's save
    assert set(component_status(report).values()) == {"restored"}
    assert {"model weights", "optimizer slots[adam]", "optimizer iterations[adam]", "state[step]"} <= \
        set(component_status(report))
    assert_bounded_to_loopback(report)


def test_custom_loop_without_the_optimizer_fails_naming_it_on_each_worker():
    report = verify_cluster("custom_loop.py", "--kill-at", "4", args=("--steps", "6", "--without-optimizer"))
    assert report["verdict"] == "fail" and report["exit_code"] == 1
    assert_only_the_optimizer_lost_on_both_workers(report)


def test_every_worker_writing_the_chiefs_directory_is_named_as_a_shared_path():
    """The race between the two writers is real: measured, it sometimes crashes a worker's checkpoint
    merge in U or K (its temporary file moved away by the peer) and sometimes lets the run finish; the
    verdict names the shared path either way."""
    report = verify_cluster("custom_loop.py", "--kill-at", "4", args=("--steps", "6", "--every-worker-writes-out"))
    assert report["verdict"] == "fail" and report["exit_code"] == 1
    assert "shared-path" in causes(report)
    shared = next(c["message"] for c in report["blackbox"]["causes"] if c["code"] == "shared-path")
    assert shared.startswith("worker 1 writes the chief's path {out}") and "tensorflow/tensorflow#38635" in shared


def test_preemption_checkpoint_handler_saves_on_sigterm_and_resumes_exactly_once():
    report = verify_cluster("preemption_handler.py", "--signal", "term", "--kill-at", "6")
    assert report["verdict"] == "pass", report["blackbox"]["causes"]
    bb = report["blackbox"]
    assert worker_verdicts(report) == ["pass", "pass"]
    # The handler saves at the step the workers agree on after the notice, one past the signalled one.
    assert bb["kill"]["happened"]["n"] == 6 and bb["resume"]["update"] == 7
    assert [w["exactly_once"]["exactly_once"] for w in bb["workers"]] == [True, True]
    assert bb["trials"]["R"]["updates"] == 5


def test_preemption_checkpoint_handler_ignoring_its_run_count_reruns_steps():
    report = verify_cluster("preemption_handler.py", "--signal", "term", "--kill-at", "6",
                            args=("--ignore-run-calls",))
    assert report["verdict"] == "fail"
    assert [w["exactly_once"]["exactly_once"] for w in report["blackbox"]["workers"]] == [False, False]
    assert causes(report) == ["extra-updates"]
    assert report["blackbox"]["causes"][0]["message"].startswith("workers 0, 1: R trains 7 extra update(s)")


def test_fit_with_backup_and_restore_resumes_from_its_epoch_backup_after_the_sigkill():
    proc = verify(*CLUSTER, *TERM, "--kill-at", "5", "--", sys.executable, "fit_backup_and_restore.py",
                  "--out", "{out}", "--step-seconds", "0.5", cwd=PROGRAMS)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.startswith("PASS: every worker resumed from update 4 (save point 1, "
                                  "tf.train.Checkpoint.restore {out}/backup/chief/ckpt-1)")
    table = proc.stdout.split("\n\n")[1].splitlines()
    assert table[0].split() == ["worker", "verdict", "resumed", "at", "updates", "U/K/R", "exactly", "once",
                                "not", "restored"]
    assert [row.split()[:3] for row in table[2:]] == [["0", "pass", "4"], ["1", "pass", "4"]]


def test_fit_with_a_reshuffling_dataset_fails_on_data_order():
    report = verify_cluster("fit_backup_and_restore.py", *TERM, "--kill-at", "5",
                            args=("--step-seconds", "0.5", "--shuffle"))
    assert report["verdict"] == "fail" and causes(report) == ["data-order"]
    assert set(component_status(report).values()) == {"restored"}
    assert worker_verdicts(report) == ["fail", "fail"]
