"""Factory mode on programs shaped like the public tutorials (tests/harness/programs): the verdict is right
and names the cause. Each test says which false pass, false failure or missing cause it guards against."""

from __future__ import annotations

import pytest

from ckptlint.harness import verify

pytestmark = pytest.mark.tf

P = "tests.harness.programs"


def _why(report) -> str:
    return "\n".join(report.causes())


def test_unbuilt_subclassed_model_is_reported_reinitialised(workdir):
    """The checkpoint guide restores into an unbuilt Net: Keras 3 gives the layer a fresh kernel."""
    report = verify(f"{P}.checkpoint_guide:make_setup", steps=3, workdir=workdir)
    assert report.verdict == "fail", report.to_text()
    weights = report.component("model weights")
    assert weights.status == "lost" and weights.counts["reinitialised"] == 1 and weights.counts["missing"] == 0
    assert [v.status for v in weights.variables if "kernel" in v.key] == ["re-initialised", "unexpected"]
    assert "not used by the model" in next(v.key for v in weights.variables if v.status == "unexpected")
    assert "re-initialised" in _why(report) and "build the model" in _why(report)
    assert report.component("data position").status == "restored"


def test_building_the_model_before_restoring_resumes_exactly(workdir):
    report = verify(f"{P}.checkpoint_guide:make_setup_built", steps=3, workdir=workdir)
    assert report.verdict == "pass", report.to_text()


def test_fit_backup_and_restore_at_epoch_ends_resumes_exactly(workdir):
    """Interrupted inside fit at epoch 1, batch 2: resumes from the end of epoch 0 and redoes the rest once."""
    report = verify(f"{P}.fit_callbacks:make_backup_and_restore", steps=7, workdir=workdir)
    assert report.verdict == "pass", report.to_text()
    assert report.fit["updates_a"] == 20 and report.fit["resumed_from"] == 5 and report.fit["updates_b"] == 20


def test_fit_backup_every_3_batches_reruns_the_epoch(workdir):
    report = verify(f"{P}.fit_callbacks:make_backup_every_3_batches", steps=7, workdir=workdir)
    assert report.verdict == "fail", report.to_text()
    assert report.lost_components() == set()  # it restored what it saved...
    assert report.fit["resumed_from"] == 6 and report.fit["updates_b"] == 21  # ...then ran epoch 1 again
    assert "interrupted epoch was run again from its first batch" in _why(report)


def test_fit_weights_checkpoint_without_initial_epoch(workdir):
    report = verify(f"{P}.fit_callbacks:make_checkpoint_weights_each_epoch", steps=7, workdir=workdir)
    assert report.verdict == "fail"
    assert report.lost_components() == {"optimizer slots[optimizer]", "optimizer iterations[optimizer]"}
    assert report.fit["resumed_from"] == 5 and report.fit["updates_b"] == 25
    assert "initial_epoch" in _why(report)


def test_dcgan_names_both_random_streams(workdir):
    """Weights and slots restore, yet the run diverges: Dropout seed state and tf.random.normal."""
    report = verify(f"{P}.dcgan:make_setup", steps=3, workdir=workdir)
    assert report.verdict == "fail"
    assert report.lost_components() == {"rng"}
    rng = report.component("rng")
    assert [v.key for v in rng.variables if v.status != "restored"] == ["000 dropout: seed generator"]
    assert report.rng_carried is not None and not report.rng_carried["equivalent"]
    assert [op["op"] for op in report.random_ops] == ["RandomStandardNormal"]
    assert report.random_ops[0]["where"].endswith(":48 in train_step")
    why = _why(report)
    assert "seed_generator" in why and "no checkpoint can hold it" in why


def test_method_all_separates_formats_by_rng(workdir):
    """A compiled classifier with Dropout: RNG is its own column; the formats that keep everything else
    resume 'rng only', the weights-only format diverges, and h5 no longer errors in the train step."""
    matrix = verify(f"{P}.dropout_classifier:make_setup", steps=2, method="all", workdir=workdir)
    assert {m: matrix.cell(m, "rng") for m in ("checkpoint", "manager", "keras", "weights")} == {
        "checkpoint": "lost", "manager": "lost", "keras": "n/a", "weights": "n/a"}
    resume = {m: matrix.resume(m) for m in matrix.methods}
    assert resume == {"checkpoint": "rng only", "manager": "rng only", "keras": "rng only", "h5": "diverged",
                      "weights": "diverged", "savedmodel": "rng only", "backup_and_restore": "rng only",
                      "orbax": "diverged"}  # a Sequential model: load_model of the Orbax directory skips its weights
    h5 = matrix.reports["h5"]
    assert h5.error is None and h5.component("model weights").status == "restored"
    assert "built over no variables" in h5.component("optimizer slots[optimizer]").note
    assert matrix.verdict == "fail"
    allowed = matrix.reports["checkpoint"]
    allowed.allow_rng = True
    assert allowed.verdict == "pass" and allowed.headline().startswith("PASS (--allow-rng)")


def test_tf_keras_trainer_blames_the_data_position(workdir):
    """An Orbit-style trainer on tf_keras: slots resume exactly (no `built` attribute needed), the
    trainer's own iterator restarts, and that is the cause named."""
    pytest.importorskip("tf_keras")
    report = verify(f"{P}.orbit_trainer:make_setup", steps=3, workdir=workdir)
    assert report.verdict == "fail"
    assert report.lost_components() == {"data position"}
    assert report.component("optimizer slots[optimizer]").counts["restored"] == 8
    assert "_train_iter" in report.component("data position").variables[0].key
    assert "data position" in _why(report)


def test_tf_keras_legacy_optimizer_and_checkpointed_iterator_pass(workdir):
    pytest.importorskip("tf_keras")
    report = verify(f"{P}.orbit_trainer:make_setup_with_iterator", steps=3, workdir=workdir)
    assert report.verdict == "pass", report.to_text()


def test_strategy_created_by_the_program(workdir):
    """MultiWorkerMirroredStrategy made in the factory: nothing is built outside its scope."""
    report = verify(f"{P}.multi_worker_ctl:make_setup", steps=2, workdir=workdir)
    assert report.verdict == "pass", report.to_text()


def test_module_level_objects_are_shared_state(workdir):
    report = verify(f"{P}.not_fresh:make_setup_module_level", steps=2, workdir=workdir)
    assert report.verdict == "error" and report.exit_code == 2
    assert report.error["phase"] == "factory"
    assert report.error["message"].startswith("your setups share state")


def test_save_that_ignores_its_directory(workdir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = verify(f"{P}.not_fresh:make_setup_auto_restore", steps=2, workdir=workdir)
    assert report.verdict == "error" and report.error["phase"] == "save"
    assert "wrote nothing into the directory it was given" in report.error["message"]
