"""The inspector agrees with the linter: the artifacts that sample projects' buggy twins write lack the
optimizer state the linter said they would lose, and the fixed twins' artifacts hold it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ckptlint.inspect import read_artifact

pytestmark = pytest.mark.tf  # the sample projects train with TensorFlow to write their artifacts

SAMPLES = Path(__file__).resolve().parents[2] / "sample_projects"
CASES = [
    ("checkpoint_missing_optimizer", "buggy", False),
    ("checkpoint_missing_optimizer", "fixed", True),
    ("model_save_without_optimizer", "buggy", False),
    ("model_save_without_optimizer", "fixed", True),
]


def _artifact(directory: Path) -> Path:
    """What the project's save() wrote: a checkpoint directory, a prefix, or a Keras file."""
    if (directory / "checkpoint").exists():
        return directory
    for pattern in ("*.keras", "*.h5"):
        found = sorted(directory.glob(pattern))
        if found:
            return found[0]
    index = sorted(directory.glob("*.index"))
    assert index, f"save() wrote nothing recognisable into {directory}"
    return index[0].with_suffix("")


@pytest.mark.parametrize(("project", "twin", "has_optimizer"), CASES)
def test_artifact_of_twin(project, twin, has_optimizer, tmp_path):
    spec = importlib.util.spec_from_file_location(f"{project}_{twin}_inspect", SAMPLES / project / twin / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    setup = module.make_setup()
    for step in range(2):
        setup.train_step(setup.batch(step))
    setup.save(str(tmp_path))
    inventory = read_artifact(str(_artifact(tmp_path)))
    present = inventory.components_present()
    assert "model" in present
    assert ("optimizer" in present) is has_optimizer, present
    assert ("iterations" in present) is has_optimizer, present
