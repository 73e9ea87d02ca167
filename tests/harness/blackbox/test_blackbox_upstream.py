"""Verdicts on six programs that follow public TensorFlow and Keras tutorials (programs/upstream; each
file's header names its source and what was shrunk). The expected verdicts were checked by hand: see
the header of each program and the README's black-box section."""

from __future__ import annotations

import pytest

from tests.harness.blackbox.blackbox_helpers import UPSTREAM, causes, component_status, verify_json

pytestmark = pytest.mark.tf
QUICK = ("--no-determinism-check",)


def test_checkpoint_guide_restores_into_an_unbuilt_subclassed_model():
    report, _ = verify_json("tf_guide_checkpoint_net.py", *QUICK, cwd=UPSTREAM)
    assert report["verdict"] == "fail"
    assert causes(report) == ["components", "extra-updates"]
    status = component_status(report)
    assert status["model weights"] == "lost"             # the kernel in use is a fresh one
    assert status["optimizer iterations[adam]"] == "restored" and status["state[step]"] == "restored"
    kernels = [v for c in report["components"] if c["name"] == "model weights" for v in c["variables"]
               if v["key"].endswith("net/dense/kernel")]
    assert [v["status"] for v in kernels] == ["NOT restored", "differs"]  # two kernels after the restore
    assert report["blackbox"]["trials"]["R"]["updates"] == 20  # range(20) again, whatever was restored


def test_builtin_methods_guide_reruns_its_only_epoch():
    report, _ = verify_json("keras_builtin_make_or_restore.py", *QUICK, cwd=UPSTREAM)
    assert report["verdict"] == "fail" and causes(report) == ["epoch-rerun"]
    assert set(component_status(report).values()) == {"restored"}
    assert report["blackbox"]["resume"]["api"] == "keras load_model"


def test_custom_loop_guide_has_no_checkpoint_so_it_did_not_resume():
    report, _ = verify_json("keras_custom_loop.py", *QUICK, cwd=UPSTREAM)
    assert report["verdict"] == "did not resume"
    assert report["blackbox"]["trials"]["R"]["updates"] == report["steps"]


def test_dcgan_restores_only_after_training_so_it_did_not_resume():
    report, _ = verify_json("tf_dcgan.py", *QUICK, cwd=UPSTREAM)
    assert report["verdict"] == "did not resume"
    assert report["blackbox"]["trials"]["K"]["save_points"] >= 1  # it did save before the kill


def test_distributed_guide_trains_its_epochs_again_after_loading():
    report, _ = verify_json("keras_distributed_make_or_restore.py", *QUICK, cwd=UPSTREAM)
    assert report["verdict"] == "fail" and causes(report) == ["extra-updates"]
    assert set(component_status(report).values()) == {"restored"}
    assert report["blackbox"]["resume"]["update"] == 6


def test_multi_worker_backup_and_restore_restarts_the_shuffled_stream():
    report, _ = verify_json("tf_multiworker_backup_and_restore.py", *QUICK, cwd=UPSTREAM)
    assert report["verdict"] == "fail" and causes(report) == ["data-order"]
    assert set(component_status(report).values()) == {"restored"}
    assert report["blackbox"]["resume"]["api"] == "keras load_weights"
