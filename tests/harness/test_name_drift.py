"""CKPT301 at run time: Keras 3 names unnamed optimizers from a process-global counter, so a checkpoint
keyed by optimizer name restores nothing when the resuming process built its optimizers in another order
or built others first (a notebook cell run twice, a test suite, a sweep in one process). The harness cannot
show this (it builds every setup under the same counter), so this test does it directly, on real TF."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

TWINS = Path(__file__).resolve().parents[2] / "sample_projects" / "unnamed_optimizers"


def _load(twin: str):
    spec = importlib.util.spec_from_file_location(f"unnamed_optimizers_{twin}", TWINS / twin / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("twin", "restored"), [("buggy", False), ("fixed", True)])
def test_name_keyed_checkpoint_survives_a_second_construction_only_with_explicit_names(twin, restored, tmp_path):
    train = _load(twin)
    first = train.GAN()
    for step in range(2):
        first.train_step(train.make_batch(step))
    first.save(str(tmp_path))
    second = train.GAN()  # same process, later in the counter: the unnamed ones are now adam_2, adam_3
    second.restore(str(tmp_path))
    second.generator_optimizer.build(second.generator.trainable_variables)  # deferred slots restore on build
    assert int(second.generator_optimizer.iterations.numpy()) == (2 if restored else 0)
    saved = [v.numpy() for v in first.generator_optimizer.variables[1:]]
    loaded = [v.numpy() for v in second.generator_optimizer.variables[1:]]
    assert all(np.array_equal(a, b) for a, b in zip(saved, loaded)) is restored
