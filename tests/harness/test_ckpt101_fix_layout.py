"""What CKPT101's fix does to the checkpoints written before it, measured on real TensorFlow.

The buggy twin of sample_projects/checkpoint_missing_optimizer trains and saves a checkpoint of the
pre-fix layout (the model only). `ckptlint check --fix --unsafe-fixes` then adds the optimizer, and the
fixed code restores that old checkpoint three ways. Measured with TF 2.21 + Keras 3.15: a plain
`restore()` restores the weights (the optimizer starts fresh, as before the fix); both strict checks,
`assert_existing_objects_matched()` and `assert_consumed()`, raise AssertionError, because the optimizer's
`iteration` and `learning_rate` variables exist from its construction and the old checkpoint has no value
for them. That is why the rule's fix is marked unsafe (its page's "Fix safety" section states this).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytestmark = pytest.mark.tf

SAMPLE = Path(__file__).resolve().parents[2] / "sample_projects" / "checkpoint_missing_optimizer" / "buggy"


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def old_checkpoint_and_fixed_code(tmp_path_factory) -> tuple[str, list[np.ndarray], ModuleType, str]:
    project = tmp_path_factory.mktemp("ckpt101") / "project"
    shutil.copytree(SAMPLE, project)
    before = _import(project / "train.py", "_ckpt101_before_fix")
    trainer = before.Trainer()
    for step in range(2):
        trainer.train_step(before.make_batch(step))
    old_path = trainer.save(str(project / "old_checkpoints"))
    saved_weights = [w.numpy() for w in trainer.model.weights]

    fixed = subprocess.run([sys.executable, "-m", "ckptlint", "check", "--no-cache", "--fix", "--unsafe-fixes",
                            "train.py"], cwd=project, capture_output=True, text=True, timeout=300)
    source = (project / "train.py").read_text()
    assert "tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)" in source, fixed.stdout + fixed.stderr
    after = _import(project / "train.py", "_ckpt101_after_fix")
    return old_path, saved_weights, after, source


def _restore(module: ModuleType, path: str):
    trainer = module.Trainer()
    return trainer, trainer.checkpoint.restore(path)


def test_plain_restore_of_an_old_checkpoint_works_with_a_fresh_optimizer(old_checkpoint_and_fixed_code):
    old_path, saved_weights, fixed, _source = old_checkpoint_and_fixed_code
    trainer, _status = _restore(fixed, old_path)
    for restored, saved in zip(trainer.model.weights, saved_weights):
        np.testing.assert_array_equal(restored.numpy(), saved)
    assert int(trainer.optimizer.iterations.numpy()) == 0  # nothing to restore it from: as before the fix


def test_expect_partial_restore_of_an_old_checkpoint_works(old_checkpoint_and_fixed_code):
    old_path, saved_weights, fixed, _source = old_checkpoint_and_fixed_code
    trainer, status = _restore(fixed, old_path)
    status.expect_partial()
    np.testing.assert_array_equal(trainer.model.weights[0].numpy(), saved_weights[0])


@pytest.mark.parametrize("strict", ["assert_existing_objects_matched", "assert_consumed"])
def test_strict_restore_of_an_old_checkpoint_raises(old_checkpoint_and_fixed_code, strict):
    old_path, _weights, fixed, _source = old_checkpoint_and_fixed_code
    _trainer, status = _restore(fixed, old_path)
    with pytest.raises(AssertionError, match="not bound to checkpointed values"):
        getattr(status, strict)()


def test_the_project_own_strict_restore_breaks_on_its_old_checkpoints(old_checkpoint_and_fixed_code):
    # The sample restores with assert_existing_objects_matched(): after the fix, its resume from a
    # checkpoint written before the fix fails loudly instead of silently dropping the optimizer.
    old_path, _weights, fixed, source = old_checkpoint_and_fixed_code
    assert ".assert_existing_objects_matched()" in source
    trainer = fixed.Trainer()
    with pytest.raises(AssertionError):
        trainer.restore(str(Path(old_path).parent))
