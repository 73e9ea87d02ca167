"""Each verdict of `ckptlint verify -- COMMAND`, produced on a program made to show it (programs/made).

Every test is one black-box verification (three or four real TensorFlow processes); most skip the
determinism run to keep the suite short, the pass and inconclusive cases keep it.
"""

from __future__ import annotations

import sys

import jsonschema
import pytest

from ckptlint.harness.blackbox.report import BLACKBOX_JSON_SCHEMA
from tests.harness.blackbox.blackbox_helpers import causes, component_status, verify, verify_json

pytestmark = pytest.mark.tf
QUICK = ("--no-determinism-check",)


def test_manager_loop_passes_with_determinism_check(tmp_path):
    plot = tmp_path / "curves.png"
    report, proc = verify_json("manager_loop.py", "--plot", str(plot))
    assert plot.read_bytes().startswith(b"\x89PNG")
    jsonschema.validate(report, BLACKBOX_JSON_SCHEMA)
    assert report["verdict"] == "pass" and proc.returncode == 0
    bb = report["blackbox"]
    assert bb["determinism"]["identical"] is True
    assert bb["kill"]["happened"]["reason"] == "update" and bb["kill"]["happened"]["n"] == 6
    assert bb["resume"] == {"update": 3, "save_point": 1, "api": "tf.train.Checkpoint.restore",
                            "path": bb["resume"]["path"], "identified_by": "restore"}
    assert bb["resume"]["path"].endswith("ckpt-1")
    assert set(component_status(report).values()) == {"restored"}
    assert {"model weights", "optimizer slots[adam]", "optimizer iterations[adam]", "state[step]"} <= \
        set(component_status(report))
    assert report["equivalence"]["equivalent"] is True
    assert bb["trials"]["R"]["updates"] == 9 and bb["trials"]["U"]["updates"] == 12


def test_kill_inside_a_checkpoint_manager_save_resumes_from_the_previous_one():
    report, _ = verify_json("manager_loop.py", *QUICK, "--kill-in-save")
    happened = report["blackbox"]["kill"]["happened"]
    assert happened["reason"] == "save" and "state file not yet moved" in happened["where"]
    assert report["verdict"] == "pass"
    assert report["blackbox"]["resume"]["update"] == 3  # save point 2 was torn: R read save point 1


def test_checkpoint_without_the_optimizer_fails_naming_it():
    report, proc = verify_json("model_only_checkpoint.py", *QUICK)
    assert report["verdict"] == "fail" and proc.returncode == 1
    status = component_status(report)
    assert status["model weights"] == "restored" and status["state[step]"] == "restored"
    assert status["optimizer slots[adam]"] == "lost" and status["optimizer iterations[adam]"] == "lost"
    assert causes(report) == ["components"]


def test_dropout_seed_state_not_checkpointed_fails_on_rng():
    report, _ = verify_json("dropout_checkpoint.py", *QUICK)
    assert report["verdict"] == "fail" and causes(report) == ["rng"]
    assert component_status(report)["RNG"] == "lost"
    assert component_status(report)["optimizer slots[sgd]"] == "restored"


def test_reshuffled_dataset_is_accepted_by_allow_and_the_output_says_so():
    proc = verify(*QUICK, "--allow", "rng,data-order", "--", sys.executable, "fit_shuffle.py", "{out}")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.startswith("PASS: R resumed from update 3")
    assert "accepted by --allow data-order:" in proc.stdout
    assert "the data order restarted" in proc.stdout


def test_reshuffled_dataset_fails_on_data_order():
    report, proc = verify_json("fit_shuffle.py", *QUICK)
    assert report["verdict"] == "fail" and causes(report) == ["data-order"]
    assert set(component_status(report).values()) == {"restored"}
    resume = report["blackbox"]["resume"]
    assert resume["update"] == 3 and resume["api"] == "keras load_model"
    assert report["equivalence"]["first_divergent_step"] == 4
    assert "shuffle(reshuffle_each_iteration=True)" in report["blackbox"]["causes"][0]["message"]
    assert report["blackbox"]["curves"]["quantity"] == "loss"


def test_fit_without_initial_epoch_trains_extra_updates():
    report, _ = verify_json("fit_restarts_epochs.py", *QUICK)
    assert report["verdict"] == "fail" and causes(report) == ["epoch-restart"]
    assert "4 extra update(s)" in report["blackbox"]["causes"][0]["message"]
    assert report["blackbox"]["trials"]["R"]["updates"] == 12


def test_backup_and_restore_with_step_saves_reruns_the_interrupted_epoch():
    report, _ = verify_json("backup_and_restore_steps.py", *QUICK)
    assert report["verdict"] == "fail" and causes(report) == ["epoch-rerun"]
    assert report["blackbox"]["resume"]["api"] == "keras load_weights"
    assert "re-run from its start" in report["blackbox"]["causes"][0]["message"]


def test_kill_while_backup_and_restore_rewrites_its_file_crashes_the_resume():
    report, proc = verify_json("backup_and_restore_steps.py", *QUICK, "--kill-in-save")
    assert report["verdict"] == "crashed on resume" and proc.returncode == 1
    assert "latest.weights.h5" in report["blackbox"]["kill"]["happened"]["where"]
    assert report["error"]["phase"].startswith("restore (keras load_weights {out}/latest.weights.h5")
    assert "OSError: Unable to synchronously open file" in report["error"]["message"]


def test_a_program_that_never_reads_its_checkpoints_did_not_resume():
    report, proc = verify_json("never_resumes.py", *QUICK)
    assert report["verdict"] == "did not resume" and proc.returncode == 1
    assert report["blackbox"]["resume"] is None
    assert report["blackbox"]["trials"]["R"]["updates"] == report["steps"] == 10


def test_a_resume_that_raises_is_crashed_on_resume_with_its_error_line():
    report, _ = verify_json("crash_on_resume.py", *QUICK)
    assert report["verdict"] == "crashed on resume"
    assert report["error"]["phase"] == "start-up, before the first update"
    assert report["error"]["message"].endswith("ZeroDivisionError: division by zero")


def test_weights_from_os_entropy_are_inconclusive_and_named():
    report, proc = verify_json("unseeded.py")
    assert report["verdict"] == "inconclusive" and proc.returncode == 1
    det = report["blackbox"]["determinism"]
    assert det["identical"] is False
    assert "before the first update, model weights: 000 sequential/dense/kernel" in det["first_difference"]
    assert "unseeded generator" in det["likely_cause"]
    assert "K" not in report["blackbox"]["trials"]  # nothing K and R could show would mean anything


def test_sigterm_lets_a_preemptible_program_save_and_resume_exactly():
    report, _ = verify_json("saves_on_sigterm.py", *QUICK, "--signal", "term", "--kill-at", "4")
    assert report["blackbox"]["kill"]["happened"] == {"reason": "update", "n": 4, "where": None}
    assert report["verdict"] == "pass"
    assert report["blackbox"]["resume"]["update"] == 4  # saved by its own SIGTERM handler
    assert report["blackbox"]["trials"]["K"]["exit_code"] == 0
