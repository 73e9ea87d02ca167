"""The cluster causes of `verify --workers`, judged from probe records written by hand (no TensorFlow: the
analysis is pure over records; tests/harness/distributed runs the real clusters)."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy")  # the record reader loads snapshots with numpy

from ckptlint.harness.blackbox.analysis import FAIL  # noqa: E402
from ckptlint.harness.blackbox.cluster_analysis import shared_path_crash, shared_paths  # noqa: E402
from ckptlint.harness.blackbox.record import ProcessRecord, TrialRecord  # noqa: E402
from ckptlint.harness.blackbox.report import BLACKBOX_JSON_SCHEMA  # noqa: E402

OUT = "/trials/U/work"


def worker(saves: list[tuple[str, str, bool]]) -> TrialRecord:
    """A worker's record: started in the trial directory, then (begin path, end path, ok) per save."""
    events = [{"e": "start", "cwd": OUT, "argv": ["train.py"]}]
    for point, (begin, end, ok) in enumerate(saves, start=1):
        events.append({"e": "save_begin", "kind": "tf.train.CheckpointManager.save", "path": begin, "n": 3 * point,
                       "point": point})
        events.append({"e": "save_end", "kind": "tf.train.CheckpointManager.save", "path": end, "n": 3 * point,
                       "point": point, "fp": None, "ok": ok})
    return TrialRecord(OUT + "/record", ProcessRecord("1", events), 1)


def test_workers_with_their_own_scratch_directories_share_no_path():
    chief = worker([(OUT, OUT + "/ckpt-1", True)])
    other = worker([(OUT + "/scratch/worker-1", OUT + "/scratch/worker-1/ckpt-1", True)])
    assert shared_paths([chief, other]) == []
    assert shared_path_crash([chief, other], "U failed") is None


def test_a_worker_saving_into_the_chiefs_directory_is_named():
    chief = worker([(OUT, OUT + "/ckpt-1", True)])
    other = worker([(OUT, OUT + "/ckpt-1", True)])
    [cause] = shared_paths([chief, other])
    assert cause.code == "shared-path"
    assert cause.message.startswith("worker 1 writes the chief's path {out}, {out}/ckpt-1: ")
    assert "tensorflow/tensorflow#38635" in cause.message


def test_a_race_that_failed_the_chiefs_save_still_names_the_shared_path():
    """Measured: the chief's merge finds its temporary file moved by the peer, so only the peer's save
    ends with a checkpoint; the directories both asked to write are the evidence."""
    chief = worker([(OUT, OUT, False)])
    other = worker([(OUT, OUT + "/ckpt-1", True)])
    outcome = shared_path_crash([chief, other], "the uninterrupted run failed: worker 0: exit code 1")
    assert outcome is not None and outcome.verdict == FAIL
    assert [c.code for c in outcome.causes] == ["shared-path"]
    assert outcome.summary.startswith("the uninterrupted run failed: worker 0: exit code 1; worker 1 writes "
                                      "the chief's path {out}")


def test_the_blackbox_schema_requires_only_what_a_blackbox_report_has():
    """The factory report's own members (its causes, notes, rng and fit results) are not required of a
    black-box report, whose causes and notes are in "blackbox"."""
    assert set(BLACKBOX_JSON_SCHEMA["required"]) == {
        "schema", "target", "method", "steps", "strategy", "verdict", "exit_code", "error", "components",
        "equivalence", "control", "timings", "mode", "blackbox"}
    assert set(BLACKBOX_JSON_SCHEMA["properties"]) == set(BLACKBOX_JSON_SCHEMA["required"])
