"""verify() on custom GradientTape loops: correct and buggy checkpointing, the components it names."""

from __future__ import annotations

from ckptlint.harness import verify
from tests.harness.setups import gan, tape

STEPS = 2


def test_checkpoint_model_and_optimizer_passes(workdir):
    report = verify(tape.make_checkpoint_full, steps=STEPS, workdir=workdir)  # a callable target
    assert report.verdict == "pass", report.to_text()
    assert report.exit_code == 0
    assert report.method == "user"
    assert report.lost_components() == set()
    names = {c.name: c for c in report.components}
    assert names["model weights"].counts["restored"] == 4
    assert names["optimizer slots[optimizer]"].counts["restored"] == 8  # Adam m and v for 4 variables
    assert names["optimizer iterations[optimizer]"].status == "restored"
    assert report.equivalence.equivalent and report.equivalence.first_divergent_step is None
    assert report.equivalence.weight_diff_per_step == [0.0] * (2 * STEPS)
    assert report.control.differs and report.control.max_weight_diff > 0


def test_checkpoint_model_only_loses_optimizer_state(workdir):
    report = verify("tests.harness.setups.tape:make_checkpoint_model_only", steps=STEPS, workdir=workdir)
    assert report.verdict == "fail" and report.exit_code == 1
    assert report.lost_components() == {"optimizer slots[optimizer]", "optimizer iterations[optimizer]"}
    slots = report.component("optimizer slots[optimizer]")
    assert slots.status == "lost" and slots.counts["not_restored"] == 8 and slots.worst_diff > 0
    iterations = report.component("optimizer iterations[optimizer]")
    assert iterations.worst_diff == STEPS  # fresh 0 instead of the saved STEPS
    assert report.component("model weights").status == "restored"
    assert not report.equivalence.equivalent
    # the first resumed step still uses restored weights; Adam's fresh moments change the update from then on
    assert report.equivalence.first_divergent_step == STEPS + 2
    assert report.equivalence.first_weight_divergent_step == STEPS + 1  # the first resumed update
    assert "FAIL" in report.to_text() and "NOT restored" in report.to_text()


def test_gan_two_optimizers_and_batchnorm(workdir):
    report = verify(gan.make_gan, steps=STEPS, workdir=workdir)
    assert report.verdict == "pass", report.to_text()
    weights = report.component("model weights")
    assert weights.counts["restored"] == 12  # incl. BatchNorm gamma/beta/moving_mean/moving_variance
    assert any("moving_mean" in v.key for v in weights.variables)
    assert report.component("optimizer slots[generator]").counts["restored"] == 12
    assert report.component("optimizer slots[discriminator]").counts["restored"] == 8


def test_gan_forgetting_one_optimizer_names_it(workdir):
    report = verify(gan.make_gan_forgets_d_opt, steps=STEPS, workdir=workdir)
    assert report.verdict == "fail"
    assert report.lost_components() == {"optimizer slots[discriminator]", "optimizer iterations[discriminator]"}


def test_lr_schedule_follows_restored_iterations(workdir):
    report = verify(tape.make_schedule, steps=STEPS, workdir=workdir)
    assert report.verdict == "pass", report.to_text()
    lr = report.component("learning rate[optimizer]")
    assert lr.status == "restored" and lr.counts["unchanged"] == 0  # the schedule moved; restore proved


def test_lr_schedule_restarts_when_optimizer_not_saved(workdir):
    report = verify(tape.make_schedule_lost, steps=STEPS, workdir=workdir)
    assert "learning rate[optimizer]" in report.lost_components()
    assert report.component("learning rate[optimizer]").counts["not_restored"] == 1


def test_step_counter_generator_and_iterator(workdir):
    report = verify(tape.make_stateful, steps=STEPS, workdir=workdir)
    assert report.verdict == "pass", report.to_text()
    for name in ("state[step]", "state[generator]", "state[iterator]", "data position"):
        assert report.component(name).status == "restored", name


def test_step_counter_generator_and_iterator_lost(workdir):
    report = verify(tape.make_stateful_model_and_optimizer_only, steps=STEPS, workdir=workdir)
    assert report.verdict == "fail"
    assert report.lost_components() == {"state[step]", "state[generator]", "state[iterator]", "data position"}
    assert report.component("state[step]").worst_diff == STEPS


def test_restore_that_raises_is_an_error_not_a_traceback(workdir):
    report = verify(tape.make_restore_raises, steps=STEPS, workdir=workdir)
    assert report.verdict == "error" and report.exit_code == 2
    assert report.error["phase"] == "restore"
    assert report.error["message"].startswith("NotFoundError")  # the framework's own message
    assert "Traceback" not in report.to_text()
    assert report.to_text().startswith("ERROR in restore: NotFoundError")


def test_builtin_checkpoint_holds_a_keras_metric(workdir):
    report = verify(tape.make_with_metric, steps=STEPS, workdir=workdir)
    assert report.method == "checkpoint"
    assert report.verdict == "pass", report.to_text()
    metric = report.component("state[mean_loss]")
    assert metric.kind == "state:metric" and metric.counts["restored"] == 2  # total and count
