"""`diff_artifacts`: same-format diffs for every format, and cross-format matching."""

from __future__ import annotations

import pytest

from ckptlint.inspect import diff_artifacts
from ckptlint.inspect.diff import CHANGED, EQUAL, NOT_COMPARED, ONLY_A, ONLY_B

pytestmark = pytest.mark.tf

SAME_FORMAT = ["ckpt_dir", "savedmodel", "keras", "weights", "legacy", "sgd_ckpt", "gan_ckpt", "plain_ckpt"]


@pytest.mark.parametrize("name", SAME_FORMAT)
def test_artifact_equals_itself(art, name):
    result = diff_artifacts(art[name], art[name])
    assert result.same
    assert result.count(CHANGED) == result.count(ONLY_A) == result.count(ONLY_B) == 0
    assert result.count(EQUAL) > 0
    assert result.notes == []


def test_iterator_state_is_listed_not_compared(art):
    result = diff_artifacts(art["sgd_ckpt"], art["sgd_ckpt"])
    [entry] = [e for e in result.entries if e.status == NOT_COMPARED]
    assert (entry.component, entry.path, entry.note) == ("data iterator", "it", "values cannot be read (variant)")
    assert result.same


def test_two_saves_of_the_same_state_differ_only_in_save_counter(art):
    result = diff_artifacts(art["ckpt_dir"] / "ckpt-1", art["ckpt_dir"] / "ckpt-2")
    changed = [(e.component, e.path, e.max_abs, e.max_rel) for e in result.entries if e.status != EQUAL]
    assert changed == [("save counter", "save_counter", 1.0, 0.5)]
    assert result.summary() == "DIFFERENT: 15 equal, 1 changed (atol=0, rtol=0)"
    assert not result.same


def test_more_training_changes_weights_slots_and_iterations(art):
    result = diff_artifacts(art["keras"], art["keras_later"])
    by_path = {e.path: e for e in result.entries}
    assert by_path["optimizer/iterations"].status == CHANGED
    assert by_path["optimizer/iterations"].max_abs == 5.0
    assert by_path["optimizer/learning_rate"].status == EQUAL
    moved = [e.path for e in result.entries if e.status == CHANGED]
    assert len(moved) == 4 + 8 + 1  # every weight, every slot, iterations
    assert all(by_path[p].max_abs > 0 and by_path[p].max_rel > 0 for p in moved)
    # A tolerance above the largest change makes them equal again.
    loose = max(by_path[p].max_abs for p in moved)
    assert diff_artifacts(art["keras"], art["keras_later"], atol=loose).same
    assert not diff_artifacts(art["keras"], art["keras_later"], atol=loose / 2).same


def test_relative_tolerance(art):
    result = diff_artifacts(art["keras"], art["keras_later"])
    worst_rel = max(e.max_rel for e in result.entries if e.status == CHANGED)
    assert diff_artifacts(art["keras"], art["keras_later"], rtol=worst_rel * 1.01).same


@pytest.mark.parametrize("other", ["weights", "legacy"])
def test_keras_against_weights_and_legacy_h5_is_the_same_state(art, other):
    result = diff_artifacts(art["keras"], art[other])
    assert result.same, result.summary()
    assert result.count(EQUAL) == 4 + 9 + 1


def test_tf_checkpoint_against_keras_matches_what_it_can(art):
    result = diff_artifacts(art["ckpt_dir"], art["keras"])
    assert [(e.status, e.component, e.path) for e in result.entries if e.status != EQUAL] == [
        (ONLY_A, "step counters", "step"),
        (ONLY_A, "save counter", "save_counter"),
    ]
    model = [e for e in result.entries if e.component == "model"]
    assert [(e.status, e.path_a, e.path_b) for e in model] == [
        (EQUAL, "model/_functional/_operations/1/_kernel", "layers/dense/vars/0"),
        (EQUAL, "model/_functional/_operations/1/bias", "layers/dense/vars/1"),
        (EQUAL, "model/_functional/_operations/2/_kernel", "layers/dense_1/vars/0"),
        (EQUAL, "model/_functional/_operations/2/bias", "layers/dense_1/vars/1"),
    ]
    # Optimizer variables share their Keras positional names across formats: matched by path.
    assert sum(1 for e in result.entries if e.component == "optimizer" and e.path_a == e.path_b) == 9
    assert result.notes == ["model: 4 variable(s) matched by position and shape (paths differ: e.g. "
                            "model/_functional/_operations/1/_kernel ~ layers/dense/vars/0)"]
    assert result.summary() == "DIFFERENT: 14 equal, 2 only in A (atol=0, rtol=0)"


def test_savedmodel_against_checkpoint(art):
    result = diff_artifacts(art["savedmodel"], art["ckpt_dir"])
    assert result.count(EQUAL) == 14
    assert sorted(e.path for e in result.entries if e.status == ONLY_B) == ["save_counter", "step"]


def test_uncompiled_against_compiled_reports_the_optimizer_only_in_b(art):
    result = diff_artifacts(art["plain_keras"], art["keras"])
    only_b = [e for e in result.entries if e.status == ONLY_B]
    assert sorted({e.component for e in only_b}) == ["iterations", "optimizer"]
    assert len(only_b) == 10
    # Different random initial weights: the model variables are matched by path but changed.
    assert [e.status for e in result.entries if e.component == "model"] == [CHANGED] * 4


def test_unmatchable_leftovers_are_explained(art):
    result = diff_artifacts(art["gan_ckpt"], art["ckpt_dir"])
    assert not result.same
    assert "model: could not match 4 variable(s) of A with 4 of B (different count or shapes)" in result.notes
    assert result.count(ONLY_A) > 0 and result.count(ONLY_B) > 0


def test_diff_to_dict_is_json_ready(art):
    import json

    data = json.loads(json.dumps(diff_artifacts(art["ckpt_dir"] / "ckpt-1", art["ckpt_dir"] / "ckpt-2").to_dict()))
    assert data["same"] is False
    assert data["counts"] == {"equal": 15, "changed": 1, "only in A": 0, "only in B": 0, "not compared": 0}
    [changed] = [v for v in data["variables"] if v["status"] == "changed"]
    assert changed == {"status": "changed", "component": "save counter", "path": "save_counter",
                       "path_a": "save_counter", "path_b": "save_counter", "shape_a": [], "shape_b": [],
                       "dtype_a": "int64", "dtype_b": "int64", "max_abs": 1.0, "max_rel": 0.5, "note": ""}


@pytest.mark.parametrize("a, b", [
    ("ckpt_dir", "plain_ckpt"),
    ("savedmodel", "plain_savedmodel"),
    ("keras", "keras_later"),
    ("weights", "reset"),
    ("legacy", "sgd_legacy"),
])
def test_different_artifacts_of_the_same_format_differ(art, a, b):
    result = diff_artifacts(art[a], art[b])
    assert not result.same
    assert result.format_a == result.format_b


def test_reset_iterations_is_the_only_optimizer_change(art, tmp_path):
    """reset.weights.h5 was saved after keras_later, with iterations set to 0 and nothing else touched."""
    result = diff_artifacts(art["keras_later"], art["reset"])
    assert [(e.path, e.max_abs) for e in result.entries if e.status != EQUAL] == [("optimizer/iterations", 10.0)]
