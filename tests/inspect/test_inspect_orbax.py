"""`ckptlint inspect` and `diff` on Orbax checkpoint directories, read from their JSON metadata only.

tests/fixtures/orbax holds two directories written by `keras.callbacks.OrbaxCheckpoint` (Keras 3.15,
JAX backend, orbax-checkpoint 0.12): a Dense/BatchNorm/Dense model trained with Adam for 3 epochs,
`max_to_keep=2` (steps 1 and 2), and the same with `save_weights_only=True` (step 2). The hostile cases
are built by hand in each test; none of these tests needs orbax, JAX or TensorFlow.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("numpy")

from inspect_helpers import assert_error, run  # noqa: E402
from ckptlint.inspect import read_artifact  # noqa: E402
from ckptlint.inspect.artifact_kind import locate  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "orbax"
KERAS_ADAM = FIXTURES / "keras_jax_adam"
WEIGHTS_ONLY = FIXTURES / "keras_jax_weights_only"
MiB = 1 << 20


def leaf(*keys: str, shape: list[int] | None = None, value_type: str = "jax.Array") -> tuple[str, dict]:
    value: dict = {"value_type": value_type, "skip_deserialize": False}
    if shape is not None:
        value["write_shape"] = shape
    return str(keys), {"key_metadata": [{"key": k, "key_type": 2} for k in keys], "value_metadata": value}


def write_item(directory: Path, leaves: list[tuple[str, dict]], use_ocdbt: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"tree_metadata": dict(leaves), "use_ocdbt": use_ocdbt, "use_zarr3": False}
    (directory / "_METADATA").write_text(json.dumps(meta))
    return directory


def test_keras_orbax_checkpoint_lists_model_optimizer_and_steps(capsys):
    with read_artifact(KERAS_ADAM) as inv:
        assert (inv.format, Path(inv.read_path).name) == ("orbax", "2")
        assert inv.components_present() == {"model", "optimizer", "iterations", "other"}
        kernel = inv.by_path()["trainable_variables/sequential/dense/kernel"]
        assert (kernel.shape, kernel.dtype, kernel.readable) == ((4, 3), "unknown", False)
        [adam] = inv.optimizers
        assert (adam.name, adam.slot_kinds, adam.n_trainable) == ("adam", {"momentum": 6, "velocity": 6}, 6)
        assert adam.iterations_path == "optimizer_variables/adam/iteration"
        slot = inv.by_path()["optimizer_variables/adam/sequential_dense_kernel_velocity"]
        assert (slot.slot_kind, slot.slot_for, slot.shape) == ("velocity", kernel.path, (4, 3))
        assert not [v for v in inv.variables if v.is_slot and v.slot_for is None]
        assert inv.declared_optimizer == "adam"  # from model_config, parsed as JSON data
        assert "Orbax steps: 1, 2; reading the latest, 2" in inv.notes
    code, out, err = run(capsys, "inspect", "--require", "optimizer,iterations", str(KERAS_ADAM))
    assert (code, err) == (0, "")
    assert "iterations present, value unknown" in out and "MISSING" not in out


def test_weights_only_orbax_checkpoint_misses_the_optimizer(capsys):
    code, out, _ = run(capsys, "inspect", "--require", "optimizer", str(WEIGHTS_ONLY))
    assert code == 1
    assert "optimizer state: MISSING" in out and "required component(s) missing: optimizer" in out


def test_a_step_or_item_directory_or_metadata_file_reads_that_step():
    for path in (KERAS_ADAM / "1", KERAS_ADAM / "1" / "pytree", KERAS_ADAM / "1" / "_CHECKPOINT_METADATA"):
        with read_artifact(path) as inv:
            assert inv.format == "orbax" and len(inv.variables) == 24, path


def test_diff_of_two_orbax_steps_compares_names_and_shapes_only(capsys):
    code, out, _ = run(capsys, "diff", "--format", "json", str(KERAS_ADAM / "1"), str(KERAS_ADAM / "2"))
    result = json.loads(out)
    assert code == 0 and result["same"] and not result["values_read"]
    assert result["counts"]["not compared"] == 24
    assert result["summary"].startswith("same names and shapes (values not read)")
    code, out, _ = run(capsys, "diff", str(KERAS_ADAM), str(WEIGHTS_ONLY))
    assert code == 1 and out.startswith("DIFFERENT") and "only in A" in out


def test_shape_change_is_reported_without_reading_values(tmp_path, capsys):
    a = write_item(tmp_path / "a", [leaf("params", "w", shape=[2, 3])])
    b = write_item(tmp_path / "b", [leaf("params", "w", shape=[3, 3])])
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 1 and "shape [2, 3] vs [3, 3]" in out


def test_empty_containers_and_strings_are_not_variables(tmp_path):
    item = write_item(tmp_path / "ckpt", [leaf("params", "w", shape=[2]), leaf("config", value_type="string"),
                                          leaf("non_trainable_variables", value_type="Dict")])
    (item / "_METADATA").write_text((item / "_METADATA").read_text().replace(
        '"value_type": "Dict", "skip_deserialize": false', '"value_type": "Dict", "skip_deserialize": true'))
    with read_artifact(item) as inv:
        assert [v.path for v in inv.variables] == ["params/w"]


def test_zarr_metadata_gives_dtypes_without_ocdbt(tmp_path):
    item = write_item(tmp_path / "ckpt", [leaf("params", "w", shape=[2, 3]), leaf("step", value_type="np.ndarray"),
                                          leaf("opt_state", "count", shape=[])], use_ocdbt=False)
    for name, zarray in (("params.w", {"shape": [2, 3], "dtype": "<f4"}), ("step", {"shape": [], "dtype": "<i4"})):
        (item / name).mkdir()
        (item / name / ".zarray").write_text(json.dumps(zarray))
    with read_artifact(item) as inv:
        rows = {v.path: (v.component, v.shape, v.dtype) for v in inv.variables}
    assert rows == {"params/w": ("model", (2, 3), "float32"), "step": ("step counters", (), "int32"),
                    "opt_state/count": ("iterations", (), "unknown")}


def test_other_formats_are_not_taken_for_orbax(tmp_path):
    """Orbax is tried last: a TF directory with a numbered subdirectory stays a TF checkpoint."""
    tf_dir = tmp_path / "tf"
    (tf_dir / "7").mkdir(parents=True)
    (tf_dir / "ckpt-1.index").write_bytes(b"")
    assert locate(tf_dir).kind == "tf-checkpoint"
    plain = tmp_path / "plain"
    (plain / "3").mkdir(parents=True)  # a numbered directory without Orbax metadata is not a step
    with pytest.raises(Exception, match="no checkpoint, SavedModel, Orbax"):
        locate(plain)


def test_only_interrupted_saves_is_one_line(tmp_path, capsys):
    (tmp_path / "5.orbax-checkpoint-tmp").mkdir()
    assert_error(run(capsys, "inspect", str(tmp_path)), "Orbax checkpoint directory without a committed step")


def test_interrupted_save_beside_committed_steps_is_skipped_with_a_note(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(KERAS_ADAM, root)
    shutil.copytree(root / "2", root / "3.orbax-checkpoint-tmp")
    with read_artifact(root) as inv:
        assert Path(inv.read_path).name == "2"
        assert any("1 save(s) in progress or interrupted" in note for note in inv.notes)


@pytest.mark.parametrize("content, message", [
    (b"{not json", "Orbax metadata is not valid JSON"),
    (b'{"x": "\xff"}', "Orbax metadata is not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "Orbax metadata is nested too deeply to parse"),
    (b"[]", "not Orbax tree metadata (no tree_metadata object)"),
    (b'{"tree_metadata": {"x": {"key_metadata": "params"}}}', "leaf 'x' has no usable key_metadata"),
    (json.dumps({"tree_metadata": dict([leaf(*["k"] * 101)])}).encode(), "has no usable key_metadata"),
    (b'{"tree_metadata": {}}', "Orbax checkpoint without arrays"),
])
def test_corrupt_tree_metadata_is_one_line(tmp_path, capsys, content, message):
    (tmp_path / "_METADATA").write_bytes(content)
    assert_error(run(capsys, "inspect", str(tmp_path)), message)


def test_huge_metadata_is_refused_before_it_is_read(tmp_path, capsys):
    with open(tmp_path / "_METADATA", "wb") as fh:
        fh.truncate(17 * MiB)  # sparse: costs no disk
    assert_error(run(capsys, "inspect", str(tmp_path)), "_METADATA: Orbax metadata: 17.0 MiB is over the 16.0 MiB")


def test_metadata_that_is_a_fifo_is_refused(tmp_path, capsys):
    step = tmp_path / "4"
    step.mkdir()
    (step / "_CHECKPOINT_METADATA").write_text("{}")
    os.mkfifo(step / "pytree")  # an item name that is not a directory
    assert_error(run(capsys, "inspect", str(tmp_path)), "Orbax step without an item holding _METADATA")
    write_item(step / "default", [leaf("params", "w", shape=[1])])
    os.unlink(step / "default" / "_METADATA")
    os.mkfifo(step / "default" / "_METADATA")
    assert_error(run(capsys, "inspect", str(step / "default")), "not a regular file")


def test_hostile_names_do_not_forge_report_lines(tmp_path, capsys):
    item = write_item(tmp_path / "ckpt", [leaf("params", "w\n\x1b[2Jverdicts: ok", shape=[1])])
    code, out, _ = run(capsys, "inspect", str(item))
    assert code == 0 and "\x1b" not in out and "w\\nverdicts" not in out and "\\x1b[2J" in out


WRITE_ORBAX = """
import sys
import numpy as np
import keras

inputs = keras.Input((4,))
model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(3)(inputs)))
model.compile(optimizer="sgd", loss="mse")  # SGD without momentum: no slots, only iterations
x, y = np.ones((8, 4), "float32"), np.ones((8, 1), "float32")
callback = keras.callbacks.OrbaxCheckpoint(sys.argv[1], save_on_background=False)
model.fit(x, y, epochs=2, batch_size=4, callbacks=[callback], verbose=0)
"""


@pytest.mark.tf
def test_what_keras_writes_today_reads_like_the_recorded_fixture(tmp_path):
    """The fixtures were recorded once; this writes a fresh OrbaxCheckpoint on JAX (in a child process,
    KERAS_BACKEND is read at import) so a change in what Keras or orbax write shows here."""
    pytest.importorskip("jax")
    pytest.importorskip("orbax.checkpoint")
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": "jax"}
    subprocess.run([sys.executable, "-c", WRITE_ORBAX, str(tmp_path / "ckpt")], env=env, check=True,
                   capture_output=True, timeout=300)
    with read_artifact(tmp_path / "ckpt") as inv:
        assert Path(inv.read_path).name == "1"  # epochs 0 and 1, max_to_keep=1
        # Dense(1) is made first, so it is `dense`; the empty non_trainable_variables {} is no variable
        assert {v.path: v.shape for v in inv.by_component("model")} == {
            "trainable_variables/dense/kernel": (3, 1), "trainable_variables/dense/bias": (1,),
            "trainable_variables/dense_1/kernel": (4, 3), "trainable_variables/dense_1/bias": (3,)}
        [sgd] = inv.optimizers
        assert (sgd.name, sgd.slot_kinds, sgd.iterations_path) == ("sgd", {}, "optimizer_variables/sgd/iteration")
