"""CKPT201 restore-status-unchecked."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import ModuleModel, ObjKind, Role
from ckptlint.model import ancestors
from ckptlint.model.restores import (
    asserted_after, built_from_a_subset, checkpoint_restores, imported_restores, in_test_case, initialises_weights,
    restored_objects, resumes_own_checkpoint, trained_after,
)
from ckptlint.lint.fix.edits import replace_statement, statement_of, unique_identifier
from ckptlint.model import Call
from ckptlint.lint.rule import Diagnostic, Fix, Invalid, FixSafety, Rule


class RestoreStatusUnchecked(Rule):
    """
    ## What it does
    Finds `tf.train.Checkpoint.restore(...)` / `.read(...)` used to resume training whose returned
    status is thrown away: the call is a statement of its own, or the status is kept in a name that is
    never looked at. A status counts as checked when one of `assert_consumed()`,
    `assert_existing_objects_matched()` or `assert_nontrivial_match()` is called on it (chained, or later
    on the name it was assigned to), or when the restored values are asserted right after the restore.
    A restore "resumes training" when the objects it restores are trained after it on some path: later
    in the same function (directly or through a function it calls), in a later notebook cell, or in a
    caller after the call that leads to it. A restore followed only by evaluation, generation or export
    is left alone, as are restores in unittest-style test classes.

    `expect_partial()` says a partial restore is intended: right for loading weights to fine-tune or
    evaluate, wrong on a resume, where it silences exactly the mismatch this rule is about. On a restore
    whose checkpoint holds the optimizer and whose objects are trained after it, it is reported.

    Severity: an error when the restored path comes from elsewhere (a flag, a config, another directory
    or module), where a mismatch is likely; a warning for the TF guide's auto-resume, where the same
    checkpoint object writes and restores (`ckpt.restore(manager.latest_checkpoint)`): the keys match
    until the object graph changes between runs, and then the resume silently restores nothing.

    ## Why is this bad?
    `restore` matches saved values to objects by their keys and never raises on a mismatch: whatever
    does not match is silently left at its fresh value. Measured on TF 2.21 + Keras 3.15
    (`docs/framework.md#key-mismatch`): a checkpoint saved as `Checkpoint(net=model)` and restored as
    `Checkpoint(model=model)` restores *nothing* with no error; training then continues from random weights and a fresh
    optimizer. Only the status tells: `assert_consumed()` and `assert_existing_objects_matched()` raise
    "Found 4 Python objects that were not bound to checkpointed values". (`assert_nontrivial_match()`
    passed in that measurement, because `save_counter` matched; it only catches "nothing matched".)
    Users report this as "a SILENT error" (tensorflow/tensorflow#27937, tensorflow/tensorflow#33150,
    tensorflow/tensorflow#52346). `ckptlint verify` on the
    `unchecked_restore` sample project (saved as `net=`, restored as `model=`): with the status
    discarded the resume "succeeds" and the model weights are NOT restored; with
    `.assert_existing_objects_matched()` the restore fails at once with that message.

    Which assert to use:
    - `assert_existing_objects_matched()` right after `restore`: every object that exists now was
      matched. It passes even though a Keras 3 optimizer that is not built yet receives its slots
      later (deferred, not lost; `docs/framework.md#unbuilt-optimizer`).
    - `assert_consumed()` also requires every value in the checkpoint to have found an object, so it
      raises until the optimizer is built: call it after the first training step, or call
      `optimizer.build(model.trainable_variables)` before restoring.
    - `expect_partial()` for a deliberate partial restore (weights only, fine-tuning): it silences the
      "unresolved object" warnings and says the partial match is intended.

    The fresh-start case needs care: `restore(None)` (no checkpoint yet) returns a status whose asserts
    raise "No checkpoint specified (save_path=None); nothing is being restored." (see
    `docs/framework.md#save-prefix-and-latest_checkpoint`), so check the path first, and assert only then.

    `CheckpointManager.restore_or_initialize()` returns the path it restored (or None), not a status:
    it is not flagged, but it cannot check the match either; restore by hand (below) when you want the
    check.

    ## Use instead
    ```python
    path = manager.latest_checkpoint
    if path:
        ckpt.restore(path).assert_existing_objects_matched()
    ```

    ## Fix safety
    Unsafe (`--unsafe-fixes`). For a restore whose status is discarded, the fix applies the idiom
    above: `ckpt.restore(path).assert_existing_objects_matched()`, under `if path:` so that a fresh
    start (no checkpoint yet, `path` is None) still runs. An inline path expression
    (`ckpt.restore(tf.train.latest_checkpoint(d))`) is first bound to a new name, `checkpoint_path`.
    If the restore already sits under `if path:` or `if path is not None:`, or the path is a string
    literal, the assert is chained with no guard. A status kept in a name and never checked is left
    to the author. Unsafe because a restore that used to pass silently, because it matched nothing,
    now raises: that is the point, but your run stops where it used to go on.

    ## References
    - `docs/framework.md#checking-a-restore`, `docs/framework.md#key-mismatch`, `docs/framework.md#unbuilt-optimizer`
    - tensorflow/tensorflow#27937, tensorflow/tensorflow#33150, tensorflow/tensorflow#52346, deepchem/deepchem#2596
    """

    code = "CKPT201"
    name = "restore-status-unchecked"
    severity = Severity.ERROR
    precision = "1.00: 8 of 8 findings true on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "The status of a Checkpoint restore used to resume training is never checked."
    fix_safety = FixSafety.UNSAFE
    # A status comes from a tf.train.Checkpoint (or CheckpointManager.checkpoint), or from the checkpoint
    # attribute of another module's class (`trainer.checkpoint.restore(p)`).
    api_words = ("Checkpoint", (".restore(", "checkpoint"))

    VALID = [
        # The idiom: check the path, then assert on the status.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3)
path = manager.latest_checkpoint
if path:
    ckpt.restore(path).assert_existing_objects_matched()
for x, y in data:
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) - y)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    manager.save()
""",
        # The status is kept in a name and checked later (after the first step, for assert_consumed).
        """
import tensorflow as tf
def train(model, optimizer, data, path):
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    status = ckpt.restore(path)
    for step, (x, y) in enumerate(data):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x) - y)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        if step == 0:
            status.assert_consumed()
""",
        # TF1-style graph code: the status is handed to a session (the TF docs' compat.v1 example).
        """
import tensorflow as tf
checkpoint = tf.compat.v1.train.Checkpoint(optimizer=optimizer, model=model)
status = checkpoint.restore(tf.train.latest_checkpoint("/tmp/training_checkpoints"))
train_op = optimizer.minimize(loss)
with tf.compat.v1.Session() as session:
    status.initialize_or_restore(session)
    for _ in range(100):
        session.run(train_op)
""",
        # A deliberate partial restore for fine-tuning.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model)
ckpt.restore(tf.train.latest_checkpoint("/pretrained")).expect_partial()
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
""",
        # Restore-only script (evaluation): nothing trains.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model)
ckpt.restore(tf.train.latest_checkpoint("/run"))
print(model.evaluate(x, y))
""",
        # restore_or_initialize returns a path, not a status; TF1 Saver.restore returns nothing.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3, init_fn=None)
manager.restore_or_initialize()
saver = tf.compat.v1.train.Saver()
saver.restore(sess, "/tmp/model.ckpt")
model.fit(x, y)
""",
        # A test case: the test asserts the restored values itself.
        """
import tensorflow as tf
class CheckpointTest(tf.test.TestCase):
    def test_roundtrip(self):
        ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
        path = ckpt.save(self.get_temp_dir() + "/ckpt")
        ckpt.v.assign(2.0)
        ckpt.restore(path)
        self.assertEqual(ckpt.v.numpy(), 1.0)
    def test_training(self):
        model.fit(x, y)
""",
        # The status is handed back to the caller, who decides.
        """
import tensorflow as tf
class Trainer:
    def __init__(self, model, optimizer):
        self.ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
        self.optimizer = optimizer
    def restore(self, path):
        return self.ckpt.restore(path)
    def step(self, grads, variables):
        self.optimizer.apply_gradients(zip(grads, variables))
""",
        # A trainer's evaluate(): the restored model is evaluated, never trained after the restore.
        """
import tensorflow as tf
class Trainer:
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    def train(self, data):
        for x, y in data:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(self.model(x) - y)
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
    def evaluate(self, directory, data):
        self.ckpt.restore(tf.train.latest_checkpoint(directory))
        return [self.model(x) for x, _ in data]
""",
        # After training, a restore of the best checkpoint to generate samples.
        """
import tensorflow as tf
generator = make_generator()
optimizer = tf.keras.optimizers.Adam()
ckpt = tf.train.Checkpoint(generator=generator, optimizer=optimizer)
for batch in dataset:
    with tf.GradientTape() as tape:
        loss = generator_loss(generator(batch))
    optimizer.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables), generator.trainable_variables))
ckpt.restore(FLAGS.best_checkpoint)
images = generator(noise)
""",
        # The restored values are asserted right after the restore.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(step=tf.Variable(0), model=model, optimizer=optimizer)
ckpt.restore(FLAGS.resume_from)
assert int(ckpt.step.numpy()) > 0, "nothing was restored"
for x in data:
    optimizer.apply_gradients(zip(grads_of(model, x), model.trainable_variables))
""",
    ]
    INVALID = [
        # A resume from a path given on the command line: an error.
        Invalid(
            """
import tensorflow as tf
def main(argv):
    model = build_model()
    optimizer = tf.keras.optimizers.Adam()
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    ckpt.restore(FLAGS.init_checkpoint)
    for x, y in dataset:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(x) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
""",
            lines=(7,),
            message="a key mismatch restores nothing",
            example=True,
        ),
        # expect_partial() on a resume hides the mismatch.
        Invalid(
            """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
ckpt.restore(tf.train.latest_checkpoint(FLAGS.model_dir)).expect_partial()
for x, y in dataset:
    optimizer.apply_gradients(zip(grads_of(model, x, y), model.trainable_variables))
""",
            lines=(4,),
            message="`expect_partial()` on a restore that resumes training",
        ),
        # The TF guide's pattern: the status of a resume is discarded.
        Invalid(
            """
import tensorflow as tf
ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=optimizer, net=net)
manager = tf.train.CheckpointManager(ckpt, "./tf_ckpts", max_to_keep=3)
ckpt.restore(manager.latest_checkpoint)
for x, y in dataset:
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(net(x) - y))
    optimizer.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
    manager.save()
""",
            lines=(5,),
            message="this checkpoint object also writes what it restores",
        ),
        # In a trainer class; the status is assigned and then forgotten.
        Invalid(
            """
import tensorflow as tf
class Trainer:
    def __init__(self, model, optimizer, directory):
        self.model = model
        self.optimizer = optimizer
        self.ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
        self.directory = directory
    def resume(self):
        status = self.ckpt.read(self.directory + "/ckpt")
        print("resumed")
    def train_step(self, x):
        with tf.GradientTape() as tape:
            loss = self.model(x)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.model.trainable_variables),
                                           self.model.trainable_variables))
""",
            lines=(10,),
        ),
        # A restore helper called by the training entry point.
        Invalid(
            """
import tensorflow as tf
def load(ckpt, directory):
    ckpt.restore(tf.train.latest_checkpoint(directory))
def main():
    model = build()
    model.compile(optimizer="adam", loss="mse")
    ckpt = tf.train.Checkpoint(model=model)
    load(ckpt, "/tmp/run")
    model.fit(x, y, epochs=3)
""",
            lines=(4,),
        ),
        # The checkpoint holds a model's variables list (deepchem's reinforcement-learning agents).
        Invalid(
            """
import tensorflow as tf
class Agent:
    def __init__(self, model, model_dir):
        self.model, self.model_dir = model, model_dir
        self.optimizer = tf.keras.optimizers.Adam()
        self._checkpoint = tf.train.Checkpoint()
        self._checkpoint.listed = self.model.trainable_variables
    def fit(self, steps, restore=False):
        if restore:
            self.restore()
        manager = tf.train.CheckpointManager(self._checkpoint, self.model_dir, 5)
        for _ in range(steps):
            with tf.GradientTape() as tape:
                loss = self.loss()
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
            manager.save()
    def restore(self):
        last = tf.train.latest_checkpoint(self.model_dir)
        if last is None:
            raise ValueError("no checkpoint")
        self._checkpoint.restore(last)
""",
            lines=(23,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        yield from _through_helpers(module)
        for fact in checkpoint_restores(module):
            call = fact.call
            if fact.status not in ("discarded", "unused", "partial"):
                continue
            if call.function is not None and in_test_case(call.function):
                continue
            objects = restored_objects(module, call)
            evidence = trained_after(module, call, objects)
            if evidence is None:
                continue  # no training of the restored objects follows: evaluation, inference, export
            if initialises_weights(module, call, objects):
                continue  # pretrained weights to start from, not a resume
            method = call.method
            if fact.status == "partial":
                if not any(Role.OPTIMIZER in obj.roles for obj in objects) or built_from_a_subset(objects):
                    continue  # a deliberate partial restore (weights for fine-tuning, chosen sub-modules)
                yield Diagnostic(
                    call.node,
                    "`expect_partial()` on a restore that resumes training (the checkpoint holds the "
                    "optimizer, and the restored objects are trained after it) silences exactly the "
                    "mismatch that makes a resume restore nothing; check it with "
                    "`.assert_existing_objects_matched()` instead",
                    related=[(evidence.node, "the restored objects are trained here")],
                )
                continue
            if asserted_after(module, call, objects, evidence.order):
                continue
            if fact.status == "discarded":
                how = f"the status returned by `{method}` is discarded"
            else:
                names = ", ".join(f"`{module.name_of(k)}`" for k in fact.status_keys)
                how = f"the status returned by `{method}` is kept in {names} but never checked"
            own = resumes_own_checkpoint(module, call)
            if own:
                why = ("this checkpoint object also writes what it restores, so the keys match today; the "
                       "day the object graph changes (a renamed attribute, a new layer, an optimizer added) "
                       "a resume silently restores nothing")
            else:
                why = "a key mismatch restores nothing and training silently starts over"
            yield Diagnostic(
                call.node,
                f"{how}: {why}; check it with `.assert_existing_objects_matched()` (or `.expect_partial()` "
                f"for a deliberate partial restore), and skip the restore when the path is None",
                related=[(evidence.node, "the restored objects are trained here")],
                fix=_checked_status_fix(module, call) if fact.status == "discarded" else None,
                severity=Severity.WARNING if own else None,
            )


def _through_helpers(module: ModuleModel) -> Iterator[Diagnostic]:
    """A helper of another project module restores the checkpoint it is given and drops the status;
    this module hands it a checkpoint and then trains what it holds: the finding lands on the call."""
    for call, argument, parameter in imported_restores(module):
        if call.function is not None and in_test_case(call.function):
            continue
        objects: frozenset = frozenset()
        if parameter == "self":
            # the wrapper was built with what its checkpoint holds: the arguments of its construction
            for wrapper in module.objects(argument, call.scope, call.order):
                made = module.call_at(wrapper.node) if wrapper.kind is ObjKind.IMPORTED else None
                if made is not None:
                    for arg in made.node.args:
                        objects |= module.objects(arg.value, made.scope, made.order)
        for fact in module.checkpoints_of(argument, call.scope):
            objects |= fact.held_objects
        evidence = trained_after(module, call, objects)
        if evidence is None:
            continue
        helper = module.code_of(call.node.func)
        given = "its own checkpoint" if parameter == "self" else f"the checkpoint given as `{parameter}`"
        yield Diagnostic(
            call.node,
            f"`{helper}` restores {given} and discards the restore status, and "
            f"training follows here: a key mismatch restores nothing and training silently starts over; "
            f"check the status in `{helper}` with `.assert_existing_objects_matched()` (or return it)",
            related=[(evidence.node, "the restored objects are trained here")],
        )


def _guard_tests(module: ModuleModel, statement: cst.CSTNode) -> list[str]:
    """The tests of the `if` statements whose body holds `statement`, as code (an `else` branch is not
    guarded by its `if`'s test)."""
    path = ancestors(module.module, statement) or []
    empty = cst.Module([])
    return [empty.code_for_node(node.test).strip() for node, below in zip(path, path[1:])
            if isinstance(node, cst.If) and below is node.body]


def _checked_status_fix(module: ModuleModel, call: Call) -> Fix | None:
    """`ckpt.restore(path)` -> `if path:` / `ckpt.restore(path).assert_existing_objects_matched()`."""
    if not call.discarded or len(call.node.args) != 1 or call.node.args[0].star:
        return None
    statement = statement_of(module.module, call.node)
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expr = statement.body[0]
    if not isinstance(expr, cst.Expr) or expr.value is not call.node:
        return None

    def checked(restore: cst.Call) -> cst.SimpleStatementLine:
        value = cst.Call(cst.Attribute(restore, cst.Name("assert_existing_objects_matched")))
        return statement.with_changes(body=[expr.with_changes(value=value)])

    arg = call.node.args[0].value
    code = cst.Module([]).code_for_node(arg)
    if isinstance(arg, (cst.SimpleString, cst.ConcatenatedString)) or any(
            test in (code, f"{code} is not None") for test in _guard_tests(module, statement)):
        return Fix(statement, checked(call.node), safe=False, description="check the restore status")
    before: list[cst.BaseStatement] = []
    restore = call.node
    if not isinstance(arg, (cst.Name, cst.Attribute)):
        if not isinstance(arg, cst.Call):
            return None
        # Bind an inline path expression once, as it was evaluated once before.
        name = unique_identifier("checkpoint_path", {b.name for b in module.bindings.values()})
        before.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], arg)]))
        restore = call.node.with_changes(args=[call.node.args[0].with_changes(value=cst.Name(name))])
        arg = cst.Name(name)
    guarded = cst.If(test=arg, body=cst.IndentedBlock([checked(restore).with_changes(leading_lines=[])]))
    return Fix(statement, replace_statement(statement, [*before, guarded]), safe=False,
               description="check the restore status when there is a checkpoint")
