"""Pure-Python pieces of the inspector (no TensorFlow needed)."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy", reason="the inspector's array readers need numpy (installed with the tf extra)")

from ckptlint.errors import CkptlintError
from ckptlint.inspect.cli import parse_required
from ckptlint.inspect.inventory import slot_kind_from_attr
from ckptlint.inspect.keras_layout import StoredTensor, layout
from ckptlint.inspect.keras_v3 import declared_optimizer, layer_order, natural_key
from ckptlint.inspect.artifact_kind import locate


def t(i: int, shape: tuple[int, ...], dtype: str = "float32") -> StoredTensor:
    return StoredTensor(f"optimizer/vars/{i}", shape, dtype)


MODEL = [(3, 4), (4,), (4, 1), (1,)]


def test_adam_layout_interleaves_momentum_and_velocity():
    shapes = [(), ()] + [s for s in MODEL for _ in range(2)]
    tensors = [t(0, (), "int64")] + [t(i, s) for i, s in enumerate(shapes[1:], start=1)]
    lay = layout("adam", tensors, MODEL)
    assert (lay.iterations, lay.learning_rate, lay.slots_per_variable, lay.n_trainable) == (0, 1, 2, 4)
    assert lay.slots[2] == ("momentum", 0) and lay.slots[3] == ("velocity", 0) and lay.slots[9] == ("velocity", 3)


def test_schedule_means_no_learning_rate_variable_and_second_optimizer_name_is_numbered():
    tensors = [t(0, (), "int64")] + [t(i + 1, s) for i, s in enumerate(MODEL)]
    lay = layout("sgd_1", tensors, MODEL)
    assert (lay.learning_rate, lay.slots_per_variable) == (None, 1)
    assert [lay.slots[i] for i in range(1, 5)] == [("momentum", j) for j in range(4)]


def test_trainable_subset_skips_non_trainable_model_variables():
    model = [(3, 4), (4,), (4,), (4,), (4,), (4,)]  # dense + batchnorm (gamma, beta, mean, var)
    tensors = [t(0, (), "int64")] + [t(i + 1, s) for i, s in enumerate(model[:4])]
    lay = layout("sgd", tensors, model)
    assert [lay.slots[i][1] for i in range(1, 5)] == [0, 1, 2, 3]


def test_unknown_optimizer_gets_generic_slot_names_and_amsgrad_gets_three():
    tensors = [t(0, (), "int64"), t(1, ())] + [t(i + 2, s) for i, s in enumerate(s for s in MODEL for _ in range(3))]
    assert layout("mystery", tensors, MODEL).slots[2][0] == "slot0"
    assert [layout("adam", tensors, MODEL).slots[i][0] for i in (2, 3, 4)] == ["momentum", "velocity", "velocity_hat"]


def test_unaligned_slots_attach_only_to_uniquely_shaped_variables():
    tensors = [t(0, (), "int64"), t(1, (7, 7)), t(2, (3, 4))]
    lay = layout("adam", tensors, MODEL)
    assert lay.slots == {1: ("slot", None), 2: ("slot", 0)}
    assert lay.slots_per_variable == 0


@pytest.mark.parametrize("attr, kind", [("_momentums", "momentum"), ("_velocities", "velocity"),
                                        ("momentums", "momentum"), ("_average_gradients", "average_gradient"),
                                        ("accumulator", "accumulator")])
def test_slot_kind_from_attr(attr, kind):
    assert slot_kind_from_attr(attr) == kind


def test_layer_order_replicates_keras_store_names():
    config = {"config": {"layers": [
        {"class_name": "InputLayer"}, {"class_name": "Dense"}, {"class_name": "BatchNormalization"},
        {"class_name": "Dense"}, {"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D"}]}},
    ]}}
    assert layer_order(config) == ["layers/dense", "layers/batch_normalization", "layers/dense_1",
                                   "layers/sequential", "layers/sequential/layers/conv2d"]
    assert layer_order("not a dict") == []


def test_declared_optimizer_and_natural_sort():
    assert declared_optimizer({"compile_config": {"optimizer": {"class_name": "Adam"}}}) == "adam"
    assert declared_optimizer({"compile_config": {"optimizer": "rmsprop"}}) == "rmsprop"
    assert declared_optimizer({"compile_config": None}) is None
    assert sorted(["dense_10", "dense_2", "dense"], key=natural_key) == ["dense", "dense_2", "dense_10"]


def test_parse_required_normalizes_spelling():
    assert parse_required("optimizer, Step-Counters,save_counter") == ["optimizer", "step counters", "save counter"]
    assert parse_required(None) == []
    with pytest.raises(CkptlintError, match="unknown component 'weights'"):
        parse_required("weights")


def test_locate_resolves_state_files_shards_and_prefixes(tmp_path):
    (tmp_path / "ckpt-3.index").write_bytes(b"x")
    (tmp_path / "ckpt-3.data-00000-of-00001").write_bytes(b"x")
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "ckpt-3"\n')
    assert locate(tmp_path).read_path == str(tmp_path / "ckpt-3")
    assert locate(tmp_path / "checkpoint").read_path == str(tmp_path / "ckpt-3")
    assert locate(tmp_path / "ckpt-3").kind == "tf-checkpoint"
    assert locate(tmp_path / "ckpt-3.data-00000-of-00001").read_path == str(tmp_path / "ckpt-3")
    (tmp_path / "checkpoint").write_text(f'model_checkpoint_path: "{tmp_path / "ckpt-3"}"\n')
    assert locate(tmp_path).read_path == str(tmp_path / "ckpt-3")


def test_locate_without_state_file(tmp_path):
    (tmp_path / "a.index").write_bytes(b"x")
    assert locate(tmp_path).read_path == str(tmp_path / "a")
    (tmp_path / "b.index").write_bytes(b"x")
    with pytest.raises(CkptlintError, match="no `checkpoint` state file and 2 checkpoints"):
        locate(tmp_path)
    (tmp_path / "junk").mkdir()
    with pytest.raises(CkptlintError, match="junk: empty directory"):
        locate(tmp_path / "junk")
    (tmp_path / "junk" / "f.txt").write_text("x")
    with pytest.raises(CkptlintError, match="no checkpoint, SavedModel, Orbax, .keras or .h5 artifact"):
        locate(tmp_path / "junk")
