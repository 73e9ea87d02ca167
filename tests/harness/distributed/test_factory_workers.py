"""`ckptlint verify factory.py:make_setup --workers 2`: the factory mode on real two-worker
MultiWorkerMirroredStrategy clusters. ckptlint's driver (ckptlint.harness.factory_cluster) is the training
command of the black-box cluster trials, so U, K and R are each two worker processes on 127.0.0.1. One
verification per verdict (each costs ~40 s here); the usage errors run no TensorFlow program at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ckptlint.harness.blackbox.report import BLACKBOX_JSON_SCHEMA
from ckptlint.harness.target import declared_parameters, parse_target
from tests.harness.blackbox.blackbox_helpers import component_status, verify
from tests.harness.distributed.cluster_helpers import (
    assert_bounded_to_loopback, assert_only_the_optimizer_lost_on_both_workers, worker_verdicts)

pytestmark = pytest.mark.tf
PROGRAMS = Path(__file__).resolve().parent / "programs"
CLUSTER = ("--workers", "2", "--steps", "3", "--kill-at", "4", "--no-determinism-check")


def verify_factory(target: str, *options: str) -> dict:
    proc = verify("--format", "json", target, *CLUSTER, *options, cwd=PROGRAMS)
    assert proc.stdout, proc.stderr
    report = json.loads(proc.stdout)
    jsonschema.validate(report, BLACKBOX_JSON_SCHEMA)
    assert report["exit_code"] == proc.returncode
    return report


def test_correct_factory_passes_on_two_workers_each_restoring_the_chiefs_save(tmp_path):
    report = verify_factory("factory.py:make_setup", "--workdir", str(tmp_path / "wd"))
    assert report["verdict"] == "pass" and report["exit_code"] == 0, report["blackbox"]["causes"]
    assert report["target"] == "factory.py:make_setup"
    assert report["blackbox"]["command"][1:3] == ["-m", "ckptlint.harness.factory_cluster"]
    assert report["blackbox"]["command"][-2:] == ["--steps", "6"]  # --steps N: the uninterrupted run trains 2N
    assert worker_verdicts(report) == ["pass", "pass"]
    for worker in report["blackbox"]["workers"]:
        assert worker["exactly_once"] == {"resumed_at": 3, "updates_after_resume": 3, "uninterrupted": 6,
                                          "exactly_once": True}
        assert worker["resume"]["path"].endswith("/K/work/ckpt-3")  # every worker restored the chief's save
    assert set(component_status(report).values()) == {"restored"}
    assert {"model weights", "optimizer slots[adam]", "optimizer iterations[adam]", "state[step]"} <= \
        set(component_status(report))
    assert_bounded_to_loopback(report)
    chief_dir = tmp_path / "wd" / "K" / "work"  # R went on in K's directory and finished the run
    assert json.loads((chief_dir / "ckptlint-step.json").read_text()) == {"step": 6}
    assert not (chief_dir / "ckptlint-scratch").exists()  # the other worker's scratch saves are gone


def test_factory_leaving_the_optimizer_out_fails_naming_it_on_each_worker():
    report = verify_factory("factory.py:make_setup_without_optimizer")
    assert report["verdict"] == "fail" and report["exit_code"] == 1
    assert report["target"] == "factory.py:make_setup_without_optimizer"
    assert_only_the_optimizer_lost_on_both_workers(report)
    assert_bounded_to_loopback(report)


FACTORY_WITHOUT_STRATEGY = '''\
def make_setup():
    open("CALLED", "w").close()
'''


@pytest.mark.parametrize("args, message", [
    (["train.py:make_setup", "--workers", "2"],
     "factory train.py:make_setup does not take `strategy`: with --workers 2 the factory must take a `strategy` "
     "argument and create the model and its optimizers inside `with strategy.scope():`"),
    (["train.py:make_setup", "--workers", "2", "--method", "checkpoint"],
     "--method checkpoint with --workers 2: the workers verify the Setup's own save and restore only (leave out "
     "--method, or use --workers 1)"),
    (["train.py:make_setup", "--workers", "3", "--strategy", "mirrored"],
     "--strategy and --workers 3 both choose the distribution: --workers 3 runs MultiWorkerMirroredStrategy"),
    (["train.py:make_setup", "--workers", "2", "--steps", "0"], "--steps must be a whole number of at least 1 (got 0)"),
])
def test_factory_workers_usage_errors_are_one_line_before_anything_runs(tmp_path, args, message):
    (tmp_path / "train.py").write_text(FACTORY_WITHOUT_STRATEGY)
    proc = verify(*args, cwd=tmp_path, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"ckptlint: error: {message}\n")
    assert not (tmp_path / "CALLED").exists()


def test_declared_parameters_reads_a_plain_def_and_admits_what_it_cannot_tell(tmp_path):
    source = tmp_path / "f.py"
    source.write_text("import functools\n\ndef plain(strategy, *, seed=0): ...\n\ndef bare(): ...\n\n"
                      "@functools.cache\ndef decorated(): ...\n\nassigned = plain\n\n"
                      "def rebound(strategy): ...\nrebound = bare\n")
    params = {name: declared_parameters(parse_target(f"{source}:{name}"))
              for name in ("plain", "bare", "decorated", "assigned", "rebound", "absent")}
    assert params == {"plain": {"strategy", "seed"}, "bare": set(), "decorated": None, "assigned": None,
                      "rebound": None, "absent": None}
