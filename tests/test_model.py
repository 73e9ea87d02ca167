"""The semantic model on its own: canonical names, roles, attributes on self, calls in order."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from ckptlint.model import ModuleModel, Role
from ckptlint.model.vocabulary import canonical


def build(code: str) -> ModuleModel:
    return ModuleModel.build(cst.parse_module(textwrap.dedent(code)))


def roles(model: ModuleModel, name: str) -> set[Role]:
    found = [b for b in model.bindings.values() if b.name == name]
    assert found, name
    return set().union(*(b.roles for b in found))


@pytest.mark.parametrize(
    ("dotted", "expected"),
    [
        ("tensorflow.keras.optimizers.Adam", "keras.optimizers.Adam"),
        ("tf_keras.optimizers.Adam", "keras.optimizers.Adam"),
        ("tensorflow.python.keras.optimizers.Adam", "keras.optimizers.Adam"),
        ("keras.optimizers.legacy.Adam", "keras.optimizers.Adam"),
        ("keras.src.optimizers.adam.Adam", "keras.optimizers.Adam"),
        ("tensorflow.optimizers.SGD", "keras.optimizers.SGD"),
        ("tensorflow.train.Checkpoint", "tf.train.Checkpoint"),
        ("tensorflow.compat.v2.train.CheckpointManager", "tf.train.CheckpointManager"),
        ("tensorflow.compat.v1.train.Saver", "tf.compat.v1.train.Saver"),
        ("keras.saving.load_model", "keras.models.load_model"),
        ("tensorflow.keras.models.Model", "keras.Model"),
        ("tensorflow.keras.mixed_precision.LossScaleOptimizer", "keras.optimizers.LossScaleOptimizer"),
    ],
)
def test_canonical_names(dotted, expected):
    assert canonical(dotted) == expected


@pytest.mark.parametrize(
    "imports, expr",
    [
        ("import tensorflow as tf", "tf.keras.optimizers.Adam"),
        ("import tensorflow", "tensorflow.keras.optimizers.Adam"),
        ("from tensorflow import keras", "keras.optimizers.Adam"),
        ("from tensorflow.keras import optimizers as O", "O.Adam"),
        ("from keras.optimizers import Adam", "Adam"),
        ("from keras.optimizers import Adam as A", "A"),
        ("import tf_keras as keras", "keras.optimizers.Adam"),
        ("import keras", "keras.optimizers.Adam"),
    ],
)
def test_import_aliases_resolve_to_one_symbol(imports, expr):
    model = build(f"{imports}\nopt = {expr}()\n")
    assert model.calls[0].callee == "keras.optimizers.Adam"
    assert roles(model, "opt") == {Role.OPTIMIZER}


def test_unimported_names_do_not_resolve():
    model = build("opt = Adam()\n")
    assert model.calls[0].callee is None and roles(model, "opt") == set()


def test_roles_from_constructors_functions_and_usage():
    model = build("""
        import tensorflow as tf
        from my_project import build_model
        def make():
            net = tf.keras.Sequential([])
            return net
        class Net(tf.keras.Model):
            pass
        a = make()
        b = Net()
        c = build_model()
        c.compile(optimizer="adam", loss="mse")
        d = build_other()
        d.apply_gradients([])
        ckpt = tf.train.Checkpoint(model=a)
        manager = tf.train.CheckpointManager(ckpt, "/tmp/x", max_to_keep=2)
        step = tf.Variable(0, dtype=tf.int64)
        gen = tf.random.Generator.from_seed(1)
        ds = tf.data.Dataset.range(10).shuffle(10).batch(2)
        it = iter(ds)
        alias = a
        opt = a.optimizer
        status = ckpt.restore("/tmp/x/ckpt-1")
    """)
    assert roles(model, "a") == {Role.MODEL}
    assert roles(model, "b") == {Role.MODEL}
    assert roles(model, "c") == {Role.MODEL}
    assert roles(model, "d") == {Role.OPTIMIZER}
    assert roles(model, "ckpt") == {Role.CHECKPOINT}
    assert roles(model, "manager") == {Role.MANAGER}
    assert roles(model, "step") == {Role.VARIABLE}
    assert roles(model, "gen") == {Role.GENERATOR}
    assert roles(model, "ds") == {Role.DATASET}
    assert roles(model, "it") == {Role.ITERATOR}
    assert roles(model, "alias") == {Role.MODEL}
    assert roles(model, "opt") == {Role.OPTIMIZER}
    assert roles(model, "status") == {Role.STATUS}
    assert model.managers[0].checkpoint is model.checkpoints[0]


def test_self_attributes_bind_in_the_class_across_methods():
    model = build("""
        import tensorflow as tf
        class Trainer:
            def __init__(self):
                self.model = tf.keras.Sequential([])
                self.opt = tf.keras.optimizers.Adam()
                self.ckpt = tf.train.Checkpoint(net=self.model, opt=self.opt)
            def step(self, x):
                with tf.GradientTape() as tape:
                    loss = self.model(x)
                grads = tape.gradient(loss, self.model.trainable_variables)
                self.opt.apply_gradients(zip(grads, self.model.trainable_variables))
        def unrelated(self):
            self.model = None
    """)
    fact = model.checkpoints[0]
    assert {k: model.name_of(r.key) for k, r in fact.items.items()} == {"net": "self.model", "opt": "self.opt"}
    trainer_model = fact.items["net"].key
    assert roles(model, "self.model") >= {Role.MODEL}
    refs = model.optimizer_refs_training(trainer_model)
    assert [(model.name_of(r.key), call.method) for r, call in refs] == [("self.opt", "apply_gradients")]


def test_calls_are_ordered_with_loops_chains_discards_and_conditions():
    model = build("""
        import tensorflow as tf
        ckpt = tf.train.Checkpoint()
        ckpt.restore(path)
        status = ckpt.read(path)
        ckpt.restore(path).expect_partial()
        if ckpt.restore(path):
            pass
        for i in range(3):
            while True:
                ckpt.save("p")
    """)
    methods = [(c.method, c.discarded, bool(c.loops), c.in_condition, tuple(c.chained)) for c in model.calls if c.method in ("restore", "read", "save")]
    assert methods == [
        ("restore", True, False, False, ()),
        ("read", False, False, False, ()),
        ("restore", False, False, False, ("expect_partial",)),
        ("restore", False, False, True, ()),
        ("save", True, True, False, ()),
    ]
    assert [c.order for c in model.calls] == sorted(c.order for c in model.calls)
    read = next(c for c in model.calls if c.method == "read")
    assert [model.name_of(k) for k in read.assigned_to] == ["status"]


def test_checkpoint_items_added_later_writes_and_training_loop():
    model = build("""
        import tensorflow as tf
        model = tf.keras.Sequential([])
        opt = tf.keras.optimizers.Adam()
        ckpt = tf.train.Checkpoint(model=model)
        ckpt.optimizer = opt
        manager = tf.train.CheckpointManager(ckpt, "/tmp/run", 3)
        def train_step(x):
            opt.minimize(lambda: model(x), var_list=model.trainable_variables)
        for x in data:
            train_step(x)
            manager.save()
        manager.save()
    """)
    fact = model.checkpoints[0]
    assert set(fact.all_items) == {"model", "optimizer"}
    saves = model.checkpoint_writes(fact)
    assert len(saves) == 2
    assert [model.in_training_loop(c) for c in saves] == [True, False]


def test_string_values_through_constants():
    model = build("""
        import os
        import tensorflow as tf
        CKPT_DIR = "runs/" "exp1"
        latest = tf.train.latest_checkpoint(CKPT_DIR)
    """)
    call = next(model.calls_to("tf.train.latest_checkpoint"))
    assert model.string_value(call.arg(0, "checkpoint_dir"), call.scope) == "runs/exp1"


def test_a_helper_that_returns_its_argument_keeps_two_calls_apart():
    """`load(net, path)` loads into the network it is given and returns it: each call's result is that
    call's argument, not every caller's (a checkpoint of the first network must not hold the second)."""
    model = build("""
import tensorflow as tf
def load(network, path):
    network.load_weights(path)
    return network
head = load(tf.keras.Sequential(), "a")
full = load(tf.keras.Model(), "b")
def rebinds(network):
    network = tf.keras.Sequential()
    return network
other = rebinds(full)
""")
    scope = model.module_scope
    head, full, other = (model.objects(cst.parse_expression(name), scope) for name in ("head", "full", "other"))
    assert len(head) == 1 and len(full) == 1 and head != full
    assert {obj.callee for obj in head} == {"keras.Sequential"} and {obj.callee for obj in full} == {"keras.Model"}
    assert "keras.Sequential" in {obj.callee for obj in other}  # rebound inside: not just the argument
