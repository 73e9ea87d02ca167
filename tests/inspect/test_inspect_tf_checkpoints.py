"""Inventories of TF object checkpoints and SavedModels written by TF 2.21 / Keras 3.15."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy", reason="the inspector's array readers need numpy (installed with the tf extra)")
import numpy as np  # noqa: E402

from ckptlint.inspect import read_artifact
from ckptlint.inspect.verdicts import verdicts
from inspect_helpers import MLP_SHAPES, adam_slots, table, value

pytestmark = pytest.mark.tf

TF_MODEL = [f"model/_functional/_operations/{i}/{n}" for i in (1, 2) for n in ("_kernel", "bias")]


def test_checkpoint_directory_follows_state_file_to_latest(art):
    with read_artifact(art["ckpt_dir"]) as inv:
        assert inv.format == "tf-checkpoint"
        assert inv.read_path == str(art["ckpt_dir"] / "ckpt-2")
        # Keys say `optimizer/_trainable_variables/0` (TF's BFS naming); the graph says these are the model's.
        assert table(inv, "model") == [(p, "model", s, "float32", None, None) for p, s in zip(TF_MODEL, MLP_SHAPES)]
        assert {v.key for v in inv.by_component("model")} == {
            f"optimizer/_trainable_variables/{i}/.ATTRIBUTES/VARIABLE_VALUE" for i in range(4)
        }
        assert table(inv, "optimizer") == [
            ("optimizer/learning_rate", "optimizer", (), "float32", None, None),
            *adam_slots("optimizer", TF_MODEL),
        ]
        assert table(inv, "iterations") == [("optimizer/iterations", "iterations", (), "int64", None, None)]
        assert table(inv, "step counters") == [("step", "step counters", (), "int64", None, None)]
        assert table(inv, "save counter") == [("save_counter", "save counter", (), "int64", None, None)]
        assert len(inv.variables) == 4 + 9 + 1 + 1 + 1
        assert value(inv, "optimizer/iterations") == 5
        assert value(inv, "step") == 7
        assert value(inv, "save_counter") == 2
        assert inv.components_present() == {"model", "optimizer", "iterations", "step counters", "save counter"}
        [opt] = inv.optimizers
        assert (opt.path, opt.slot_kinds, opt.n_trainable) == ("optimizer", {"momentum": 4, "velocity": 4}, 4)


def test_explicit_prefix_and_index_file_read_that_checkpoint(art):
    for given in (art["ckpt_dir"] / "ckpt-1", art["ckpt_dir"] / "ckpt-1.index"):
        with read_artifact(given) as inv:
            assert inv.read_path == str(art["ckpt_dir"] / "ckpt-1")
            assert value(inv, "save_counter") == 1


def test_savedmodel_reads_variables_only(art):
    with read_artifact(art["savedmodel"]) as inv:
        assert inv.format == "savedmodel"
        assert inv.read_path == str(art["savedmodel"] / "variables" / "variables")
        sm_model = [f"_layers/{i}/{n}" for i in (1, 2) for n in ("_kernel", "bias")]
        assert table(inv, "model") == [(p, "model", s, "float32", None, None) for p, s in zip(sm_model, MLP_SHAPES)]
        assert table(inv, "optimizer")[1:] == adam_slots("optimizer", sm_model)
        assert value(inv, "optimizer/iterations") == 5
        assert inv.components_present() == {"model", "optimizer", "iterations"}


def test_uncompiled_model_checkpoint_and_savedmodel_have_no_optimizer(art):
    for name in ("plain_ckpt", "plain_savedmodel"):
        with read_artifact(art[name]) as inv:
            assert inv.components_present() == {"model"}
            assert [v.shape for v in inv.variables] == MLP_SHAPES
            assert inv.optimizers == []


def test_compiled_model_alone_carries_its_optimizer_under_model(art):
    with read_artifact(art["model_only_compiled"]) as inv:
        assert [v.path for v in inv.by_component("model")] == TF_MODEL
        assert table(inv, "optimizer")[1:] == adam_slots("model/optimizer", TF_MODEL)
        assert value(inv, "model/optimizer/iterations") == 5
        assert "save counter" not in inv.components_present()  # write() does not bump save_counter


def test_sgd_momentum_batchnorm_rng_and_iterator(art):
    with read_artifact(art["sgd_ckpt"]) as inv:
        bn = "model/_functional/_operations/2"
        dense1, dense2 = "model/_functional/_operations/1", "model/_functional/_operations/3"
        model = [f"{dense1}/_kernel", f"{dense1}/bias", f"{bn}/gamma", f"{bn}/beta", f"{bn}/moving_mean",
                 f"{bn}/moving_variance", f"{dense2}/_kernel", f"{dense2}/bias"]
        assert [v.path for v in inv.by_component("model")] == model
        trainable = [p for p in model if "moving" not in p]
        # A schedule, not a variable: no learning_rate, so the slots start at vars/1.
        assert [(v.path, v.slot_kind, v.slot_for) for v in inv.by_component("optimizer")] == [
            (f"optimizer/vars/{i + 1}", "momentum", owner) for i, owner in enumerate(trainable)
        ]
        assert table(inv, "step counters") == [("epoch", "step counters", (), "int32", None, None)]
        assert table(inv, "rng") == [("gen/_state_var", "rng", (3,), "int64", None, None)]
        [it] = inv.by_component("data iterator")
        assert (it.path, it.dtype, it.readable) == ("it", "variant", False)
        np.testing.assert_array_equal(inv.by_path()["gen/_state_var"].values().shape, (3,))
        assert inv.components_present() == {"model", "optimizer", "iterations", "step counters", "rng",
                                            "data iterator"}


def test_gan_with_two_optimizers(art):
    with read_artifact(art["gan_ckpt"]) as inv:
        assert sorted(o.path for o in inv.optimizers) == ["d_optimizer", "g_optimizer"]
        g_model = ["generator/_functional/_operations/1/_kernel", "generator/_functional/_operations/1/bias"]
        d_model = ["discriminator/_functional/_operations/1/_kernel", "discriminator/_functional/_operations/1/bias"]
        assert sorted(v.path for v in inv.by_component("model")) == sorted(g_model + d_model)
        for opt, owners in (("g_optimizer", g_model), ("d_optimizer", d_model)):
            slots = [(v.path, v.slot_kind, v.slot_for) for v in inv.variables if v.optimizer == opt and v.is_slot]
            assert slots == [(f"{opt}/vars/{2 + 2 * i + j}", kind, owner)
                             for i, owner in enumerate(owners) for j, kind in enumerate(("momentum", "velocity"))]
            assert value(inv, f"{opt}/iterations") == 2


def test_optimizer_only_checkpoint_keeps_weights_through_the_optimizer(art):
    with read_artifact(art["optimizer_only"]) as inv:
        assert [v.path for v in inv.by_component("model")] == [
            "optimizer/trainable_variables/0", "optimizer/trainable_variables/1"]
        assert [v.slot_for for v in inv.by_component("optimizer") if v.is_slot] == [
            "optimizer/trainable_variables/0"] * 2 + ["optimizer/trainable_variables/1"] * 2


def test_tf1_checkpoint_without_object_graph_is_classified_by_name(tmp_path):
    tf = pytest.importorskip("tensorflow")
    prefix = str(tmp_path / "tf1")
    with tf.Graph().as_default():
        w = tf.compat.v1.get_variable("dense/kernel", [2, 3])
        step = tf.compat.v1.train.get_or_create_global_step()
        train = tf.compat.v1.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(w * w), global_step=step)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train)
            tf.compat.v1.train.Saver().save(sess, prefix, write_meta_graph=False)
    with read_artifact(prefix) as inv:
        assert table(inv) == [
            ("beta1_power", "optimizer", (), "float32", None, None),
            ("beta2_power", "optimizer", (), "float32", None, None),
            ("dense/kernel", "model", (2, 3), "float32", None, None),
            ("dense/kernel/Adam", "optimizer", (2, 3), "float32", "Adam", "dense/kernel"),
            ("dense/kernel/Adam_1", "optimizer", (2, 3), "float32", "Adam_1", "dense/kernel"),
            ("global_step", "step counters", (), "int64", None, None),
        ]
        assert value(inv, "global_step") == 1
        assert inv.notes == ["no object graph in this checkpoint (TF1 name-based?): classified by key names"]
        assert [v.message for v in verdicts(inv)][0] == (
            "optimizer state: present (tf1 optimizer (by key names), 2 slots (Adam, Adam_1) × 1 variables, "
            "iterations=1)")


class _ShapesOnly:
    """Classification needs shapes and dtypes only; values are never read here."""

    def can_read(self, key: str) -> bool:
        return True

    def read(self, key: str):
        raise AssertionError(f"classification read the value of {key}")

    def chunks(self, key: str, chunk_bytes: int):
        raise AssertionError(f"classification read the value of {key}")

    def close(self) -> None:
        pass


def test_tf_keras_style_slot_variables_in_the_object_graph():
    """tf_keras / OptimizerV2 checkpoints list slots in the proto's `slot_variables` (hand-built graph)."""
    pytest.importorskip("tensorflow")
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    from ckptlint.inspect.tf_classify import classify
    from ckptlint.inspect.tf_graph import decode_object_graph

    graph = TrackableObjectGraph()
    nodes = [graph.nodes.add() for _ in range(9)]

    def child(parent: int, name: str, node: int) -> None:
        ref = nodes[parent].children.add()
        ref.local_name, ref.node_id = name, node

    def attr(node: int, key: str) -> str:
        a = nodes[node].attributes.add()
        a.name, a.checkpoint_key = "VARIABLE_VALUE", f"{key}/.ATTRIBUTES/VARIABLE_VALUE"
        return a.checkpoint_key

    child(0, "model", 1), child(1, "kernel", 2), child(0, "optimizer", 3), child(3, "iter", 4)
    child(3, "learning_rate", 5), child(0, "save_counter", 7)
    keys = {attr(2, "model/kernel"): (3, 4), attr(4, "optimizer/iter"): (), attr(5, "optimizer/learning_rate"): (),
            attr(6, "model/kernel/.OPTIMIZER_SLOT/optimizer/m"): (3, 4), attr(7, "save_counter"): (),
            attr(8, "model/kernel/.OPTIMIZER_SLOT/optimizer/v"): (4, 3)}  # shaped unlike its variable
    slot = nodes[3].slot_variables.add()
    slot.original_variable_node_id, slot.slot_name, slot.slot_variable_node_id = 2, "m", 6
    bad = nodes[3].slot_variables.add()
    bad.original_variable_node_id, bad.slot_name, bad.slot_variable_node_id = 2, "v", 8
    dtypes = {k: ("int64" if s == () and "learning_rate" not in k else "float32") for k, s in keys.items()}
    result = classify(decode_object_graph(graph.SerializeToString()), keys, dtypes, _ShapesOnly())
    rows = {(v.path, v.component, v.slot_kind, v.slot_for) for v in result.variables}
    assert rows == {
        ("model/kernel", "model", None, None),
        ("optimizer/iterations", "iterations", None, None),
        ("optimizer/learning_rate", "optimizer", None, None),
        ("optimizer/m/model/kernel", "optimizer", "m", "model/kernel"),
        ("optimizer/v/model/kernel", "optimizer", "v", None),
        ("save_counter", "save counter", None, None),
    }
    [opt] = result.optimizers
    assert (opt.path, opt.slot_kinds, opt.n_trainable) == ("optimizer", {"m": 1, "v": 1}, 1)
