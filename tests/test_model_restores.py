"""ckptlint.model.restores: the facts CKPT103/104/201/202 read (mentions, restore statuses, save
prefixes, step counters, iterators), checked on small modules without TensorFlow."""

from __future__ import annotations

import textwrap

import libcst as cst

from ckptlint.model import ModuleModel, Role
from ckptlint.model.counters import advances, dataset_iterators, iterator_consumptions, untracked_owner
from ckptlint.model.restores import checkpoint_restores, parameter_roles, resumes_training, roles_with_aliases
from ckptlint.model.paths import ends_with_separator, prefix_identity as path_identity, prefix_writes
from ckptlint.model.mentions import mentions


def build(code: str) -> ModuleModel:
    return ModuleModel.build(cst.parse_module(textwrap.dedent(code)))


def key(model: ModuleModel, name: str, scope_name: str | None = None):
    found = [b.key for b in model.bindings.values()
             if b.name == name and (scope_name is None or b.scope.name == scope_name)]
    assert len(found) == 1, (name, found)
    return found[0]


def test_mentions_separate_reads_from_stores_and_skip_keywords_and_attributes():
    model = build("""
        import tensorflow as tf
        step = tf.Variable(0)
        def run(n):
            step.assign_add(1)
            f(step=n)
            if step < n:
                print(other.step)
    """)
    uses = mentions(model)
    step = key(model, "step")
    reads = uses.reads(step)
    # `step.assign_add` and `step < n`; not the keyword `step=` nor the attribute `other.step`.
    assert len(reads) == 2
    assert len([m for m in uses.by_key[step] if m.store]) == 1


def test_restore_status_fates():
    model = build("""
        import tensorflow as tf
        ckpt = tf.train.Checkpoint(model=model)
        ckpt.restore("a")
        ckpt.restore("b").expect_partial()
        s1 = ckpt.restore("c")
        s1.assert_consumed()
        s2 = ckpt.read("d")
        s3 = ckpt.restore("e")
        keep(s3)
        def f():
            return ckpt.restore("f")
        ckpt.restore("g").run_restore_ops()
    """)
    fates = [fact.status for fact in checkpoint_restores(model)]
    assert fates == ["discarded", "partial", "checked", "unused", "used", "used", "used"]


def test_restore_receivers_a_manager_checkpoint_and_a_parameter():
    model = build("""
        import tensorflow as tf
        def load(ckpt, path):
            ckpt.restore(path)
        manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=m), "/d", max_to_keep=1)
        manager.checkpoint.restore(manager.latest_checkpoint)
        load(tf.train.Checkpoint(model=m), "/d/ckpt-1")
        saver = tf.compat.v1.train.Saver()
        saver.restore(sess, "/x")
    """)
    restores = checkpoint_restores(model)
    assert [fact.call.method for fact in restores] == ["restore", "restore"]
    assert Role.CHECKPOINT in parameter_roles(model, key(model, "ckpt"))


def test_resumes_training_through_callers_and_sibling_methods():
    model = build("""
        import tensorflow as tf
        def load(ckpt):
            ckpt.restore("p")
        def evaluate(ckpt):
            ckpt.restore("q")
            model.evaluate(x)
        def main():
            ckpt = tf.train.Checkpoint(model=model)
            load(ckpt)
            model.fit(x, y)
        def report():
            evaluate(tf.train.Checkpoint(model=model))
        class Trainer:
            def __init__(self):
                self.ckpt = tf.train.Checkpoint(model=model)
            def resume(self):
                self.ckpt.restore("r")
            def step(self, grads):
                self.opt.apply_gradients(grads)
    """)
    by_arg = {fact.call.node.args[0].value.value: fact.call for fact in checkpoint_restores(model)}
    assert resumes_training(model, by_arg['"p"'])
    assert not resumes_training(model, by_arg['"q"'])
    assert resumes_training(model, by_arg['"r"'])


def test_path_identity_and_prefix_writes():
    model = build("""
        import os
        import tensorflow as tf
        PREFIX = os.path.join("runs", "ckpt")
        ckpt = tf.train.Checkpoint(model=model)
        def save(directory):
            ckpt.save(os.path.join(directory, "ckpt"))
            ckpt.write(PREFIX)
        def restore(directory):
            return os.path.join(directory, "ckpt")
    """)
    writes = prefix_writes(model)
    assert [w.call.method for w in writes] == ["save", "write"]
    restore_join = next(c for c in model.calls if c.scope.name == "restore")
    # Parameters compare by name, across the two methods.
    assert path_identity(model, restore_join.node, restore_join.scope) == writes[0].identity
    assert writes[1].identity == ("binding", key(model, "PREFIX"))


def test_ends_with_separator():
    model = build("""
        import os
        a = d + os.sep
        b = "runs/"
        c = f"{d}/"
        e = os.path.join(d, "ckpt")
    """)
    scope = model.builder.module_scope
    results = {name: ends_with_separator(model, cst.Name(name), scope) for name in "abce"}
    assert results == {"a": True, "b": True, "c": True, "e": False}


def test_step_counter_advances_only_while_training_and_owner_tracking():
    model = build("""
        import tensorflow as tf
        step = tf.Variable(0)
        step.assign(0)
        for x in data:
            opt.apply_gradients(zip(g, model.trainable_variables))
            step.assign_add(1)
        class Plain:
            def __init__(self):
                self.count = tf.Variable(0)
        class Tracked(tf.Module):
            def __init__(self):
                self.count = tf.Variable(0)
    """)
    assert len(advances(model, key(model, "step"))) == 1  # the reset outside the loop does not count
    plain, tracked = [b.key for b in model.bindings.values() if b.name == "self.count"]
    assert untracked_owner(model, plain)
    assert not untracked_owner(model, tracked)


def test_dataset_iterators_and_their_consumption():
    model = build("""
        import tensorflow as tf
        ds = tf.data.Dataset.range(10).repeat()
        it = iter(ds)
        other = iter([1, 2, 3])
        for _ in range(5):
            opt.apply_gradients(zip(grads(model, next(it)), model.trainable_variables))
    """)
    iterators = [model.name_of(k) for k, _ in dataset_iterators(model)]
    assert iterators == ["it"]
    assert iterator_consumptions(model, key(model, "it"))


def test_roles_with_aliases_sees_a_parameter_stored_on_self():
    model = build("""
        class Trainer:
            def __init__(self, model):
                self.model = model
            def step(self):
                return self.model.trainable_variables
    """)
    assert Role.MODEL in roles_with_aliases(model, key(model, "model", "__init__"))
