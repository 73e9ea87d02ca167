"""The runtime half of CKPT303 (every-worker-writes-one-path): two real worker processes of
MultiWorkerMirroredStrategy on 127.0.0.1, each with its own TF_CONFIG, run the sample project's own
`train()` with a CheckpointManager save after every step.

- buggy twin: both workers write the same checkpoint directory. A TF checkpoint save writes its shards
  to `<prefix>_temp/` and then merges them into `<prefix>.index`/`.data` and deletes that directory;
  two processes doing this on the same prefix delete each other's files, and a save fails
  (`MergeV2Checkpoints`: `NotFoundError` or "allow_missing_files was set to false"). The worker that hits
  it dies, and the job with it.
- fixed twin: the chief writes the real directory, the other worker a directory of its own (the TF
  multi-worker tutorial's pattern). No save fails; both workers restarted resume from the chief's
  latest checkpoint with every variable equal to what was saved and the optimizer's step count intact.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tf

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "sample_projects" / "multi_worker_one_path"
STEPS = 20  # steps (and saves) of the fixed twin's run
RACE_STEPS = 40  # saves per worker and run for the buggy twin
RACE_RUNS = 3
# The race is a race: alone on the machine, 6 of 6 runs of 20 saves had a save fail; in one full-suite
# run, with another TensorFlow test beside it, a run of 20 had none. Up to three runs of 40 saves.

_WORKER = r"""
import hashlib, importlib.util, json, sys
import numpy as np
import tensorflow as tf

spec = importlib.util.spec_from_file_location("twin", sys.argv[1])
twin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twin)
checkpoint_dir, steps = sys.argv[2], int(sys.argv[3])


def digest(variables):
    h = hashlib.sha256()
    for v in variables:
        h.update(np.ascontiguousarray(v.numpy()).tobytes())
    return h.hexdigest()


if steps == 0:  # restart: restore only, report what was restored
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    model, optimizer = twin.train(checkpoint_dir, 0, strategy)
    with strategy.scope():
        optimizer.build(model.trainable_variables)  # the deferred slot restore happens here
else:
    model, optimizer = twin.train(checkpoint_dir, steps)
print(json.dumps({"iterations": int(optimizer.iterations.numpy()), "weights": digest(model.weights),
                  "optimizer": digest(optimizer.variables)}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_workers(twin: str, checkpoint_dir: Path, steps: int, timeout: float = 240) -> list[dict]:
    """Start both workers, wait for both; each result is {"rc", "stdout", "stderr"}."""
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(PROJECT / twin / "train.py"), str(checkpoint_dir), str(steps)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True))
    results = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in processes:  # a worker left waiting for a dead peer: end both
                if other.poll() is None:
                    os.killpg(other.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        results.append({"rc": process.returncode, "stdout": stdout, "stderr": stderr})
    return results


def _report(result: dict) -> dict:
    assert result["rc"] == 0, result["stderr"][-3000:]
    return json.loads(result["stdout"].strip().splitlines()[-1])


def test_buggy_twin_workers_break_each_others_saves(tmp_path):
    failed: list[dict] = []
    for attempt in range(RACE_RUNS):
        results = _run_workers("buggy", tmp_path / f"ckpt{attempt}", RACE_STEPS)
        failed = [r for r in results if r["rc"] != 0]
        if failed:
            break
    assert failed, f"both workers wrote one directory {RACE_RUNS * RACE_STEPS} times without a failed save"
    assert any("MergeV2Checkpoints" in r["stderr"] for r in failed), [r["stderr"][-2000:] for r in failed]


def test_fixed_twin_chief_writes_and_both_workers_resume_exactly(tmp_path):
    checkpoint_dir = tmp_path / "ckpt"
    first = [_report(r) for r in _run_workers("fixed", checkpoint_dir, STEPS)]
    assert [r["iterations"] for r in first] == [STEPS, STEPS]
    assert first[0]["weights"] == first[1]["weights"]  # mirrored: the workers hold the same values
    assert {p.name for p in checkpoint_dir.iterdir() if p.is_dir()} == {"worker_temp_1"}
    resumed = [_report(r) for r in _run_workers("fixed", checkpoint_dir, 0)]
    for result in resumed:
        assert result["iterations"] == STEPS
        assert result["weights"] == first[0]["weights"]
        assert result["optimizer"] == first[0]["optimizer"]
