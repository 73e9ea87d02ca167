"""CKPT103 step-counter-not-saved."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Key, ModuleModel
from ckptlint.model.vocabulary import ASSIGN_METHODS
from ckptlint.model.mentions import Mentions, mentions
from ckptlint.model.counters import advances, checkpoint_holds, is_variable_construction, nearest_checkpoint, untracked_owner
from ckptlint.lint.rule import Diagnostic, Invalid, Rule


class StepCounterNotSaved(Rule):
    """
    ## What it does
    Finds a `tf.Variable` step or epoch counter that the training loop advances (`assign_add`,
    `assign`) and that the run reads — a loop bound, a learning-rate or logging step, a
    `CheckpointManager(step_counter=...)`, a `checkpoint_number=` — while the `tf.train.Checkpoint`
    that the module writes does not hold it.

    ## Why is this bad?
    A checkpoint saves only what it is given. A counter left out comes back at its initial value on
    resume: the loop bound lets the run train its full length again, a schedule driven by the counter
    restarts, summaries are written at steps already logged, and a `CheckpointManager` keyed on it
    numbers and prunes checkpoints as if the run had just begun. Measured on TF 2.21 + Keras 3.15
    (`docs/framework.md#checkpoint-everything`): a step `tf.Variable` in the checkpoint is restored
    exactly; one left out is not (`ckptlint verify` reports `state[step]` NOT restored, still at its
    fresh value). Users hit this as an epoch counter restarting at 1 and a schedule restarting after
    resume (tensorflow/tensorflow#27861, tensorflow/tensorflow#48947).

    The optimizer's own `iterations` is restored with the optimizer; a counter that lives on a
    `tf.Module` or Keras model/layer subclass is tracked by it and not flagged, nor is a counter no
    code reads, nor one the run sets back itself on resume (`step.assign(<checkpoint number>)`).

    ## Use instead
    ```python
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    ```

    ## References
    - `docs/framework.md#checkpoint-everything` (what `Checkpoint` keeps)
    - tensorflow/tensorflow#27861, tensorflow/tensorflow#48947; TF guide "Training checkpoints" (`step=tf.Variable(1)`)
    """

    code = "CKPT103"
    name = "step-counter-not-saved"
    severity = Severity.WARNING
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "A tf.Variable step counter that drives training is not in the checkpoint that is written."
    api_words = ("Checkpoint",)

    VALID = [
        # The TF guide: the step is in the checkpoint.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=opt, net=net)
manager = tf.train.CheckpointManager(ckpt, "./tf_ckpts", max_to_keep=3)
for x, y in data:
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(net(x) - y)
    opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
    ckpt.step.assign_add(1)
    if int(ckpt.step) % 10 == 0:
        manager.save()
""",
        # A step bound to a name and added to the checkpoint.
        """
import tensorflow as tf
step = tf.Variable(0, dtype=tf.int64)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
while step < 1000:
    optimizer.apply_gradients(zip(grads(model), model.trainable_variables))
    step.assign_add(1)
    ckpt.write("/tmp/ckpt")
""",
        # A counter on a tf.Module is tracked by the module the checkpoint holds.
        """
import tensorflow as tf
class Trainer(tf.Module):
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.step = tf.Variable(0)
        self.ckpt = tf.train.Checkpoint(trainer=self)
    def train_step(self, x):
        self.optimizer.apply_gradients(zip(grads(self.model, x), self.model.trainable_variables))
        self.step.assign_add(1)
        tf.summary.scalar("loss", 0.0, step=self.step)
        self.ckpt.save("/tmp/ckpt")
""",
        # Restore-only (inference): nothing is written.
        """
import tensorflow as tf
step = tf.Variable(0)
ckpt = tf.train.Checkpoint(model=model)
ckpt.restore("/pretrained/ckpt-1").expect_partial()
for x in data:
    optimizer.apply_gradients(zip(grads(model, x), model.trainable_variables))
    step.assign_add(1)
    print(int(step))
""",
        # The run restores the counter itself, from the checkpoint number.
        """
import tensorflow as tf
epoch = tf.Variable(0)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3)
if manager.latest_checkpoint:
    ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    epoch.assign(int(manager.latest_checkpoint.split("-")[-1]))
while epoch < 10:
    model.fit(x, y, epochs=1)
    epoch.assign_add(1)
    manager.save(checkpoint_number=epoch)
""",
        # A counter advanced but never read drives nothing.
        """
import tensorflow as tf
calls = tf.Variable(0)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
for x in data:
    optimizer.apply_gradients(zip(grads(model, x), model.trainable_variables))
    calls.assign_add(1)
    ckpt.save("/tmp/ckpt")
""",
        # An argument holder: the Python loop index mirrored into a variable (to avoid retracing).
        """
import tensorflow as tf
step_var = tf.Variable(0, dtype=tf.int64)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=2)
@tf.function
def train_step(x, step):
    optimizer.apply_gradients(zip(grads_of(model, x), model.trainable_variables))
    tf.summary.scalar("loss", 0.0, step=step)
for step, x in enumerate(data):
    step_var.assign(step)
    train_step(x, step_var)
    manager.save()
""",
    ]
    INVALID = [
        # A counter advanced from its own value with assign(v + 1).
        Invalid(
            """
import tensorflow as tf
epoch = tf.Variable(0)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
while epoch < 10:
    for x in data:
        optimizer.apply_gradients(zip(grads_of(model, x), model.trainable_variables))
    epoch.assign(epoch + 1)
    ckpt.save("/tmp/ckpt/ckpt")
""",
            lines=(4,),
        ),
        Invalid(
            """
import tensorflow as tf
step = tf.Variable(0, dtype=tf.int64)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
while step < 1000:
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(next(it)))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    step.assign_add(1)
    if step % 100 == 0:
        ckpt.save("/tmp/ckpt/ckpt")
""",
            lines=(4,),
        ),
        # The manager numbers checkpoints by a step that is not saved.
        Invalid(
            """
import tensorflow as tf
class Trainer:
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.global_step = tf.Variable(0, trainable=False, dtype=tf.int64)
        self.ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
        self.manager = tf.train.CheckpointManager(self.ckpt, "/tmp/run", max_to_keep=3,
                                                  step_counter=self.global_step, checkpoint_interval=100)
    @tf.function
    def train_step(self, x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.model(x))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.model.trainable_variables),
                                           self.model.trainable_variables))
        self.global_step.assign_add(1)
    def fit(self, data):
        for x in data:
            self.train_step(x)
            self.manager.save(check_interval=True)
""",
            lines=(8,),
        ),
        # The epoch loop starts from the counter and sets it from its index; only a throw-away initial
        # snapshot (never restored) holds it.
        Invalid(
            """
import tensorflow as tf
def train(model, optimizer, dataset, checkpoint_dir):
    latest_epoch = tf.Variable(0, trainable=False)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=3)
    checkpoint.restore(manager.latest_checkpoint)
    if not manager.latest_checkpoint:
        tmp_ckpt = tf.train.Checkpoint(epoch=latest_epoch, model=model)
        tf.train.CheckpointManager(tmp_ckpt, checkpoint_dir, None).save(0)
    for epoch in range(int(latest_epoch.numpy()), 100):
        latest_epoch.assign(epoch)
        for x, y in dataset:
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        manager.save()
""",
            lines=(5,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        written = [(fact, module.checkpoint_writes(fact)) for fact in module.checkpoints]
        written = [(fact, writes) for fact, writes in written if writes]
        if not written or any(fact.opaque for fact, _ in written):
            return
        uses: Mentions | None = None
        for key, binding in module.bindings.items():
            if not any(is_variable_construction(module, a.value) for a in binding.assignments):
                continue
            if not untracked_owner(module, key):
                continue
            if any(checkpoint_holds(fact, key, module) for fact, _ in _resuming(module, written)):
                continue
            steps = advances(module, key)
            if not steps:
                continue
            uses = uses if uses is not None else mentions(module)
            read = _driving_read(module, uses, key)
            if read is None or _stored_elsewhere(module, key) or _set_by_hand(module, key, steps):
                continue
            fact = nearest_checkpoint(module, [f for f, _ in written], key)
            writes = next(w for f, w in written if f is fact)
            name = binding.name
            yield Diagnostic(
                fact.call.node,
                f"`{name}` is advanced while training and read by the run, but this checkpoint does not "
                f"hold it: a resume restarts it at its initial value (loop bound, schedule, logging step "
                f"and checkpoint numbering start over); add `{name.split('.')[-1]}={name}`",
                related=[(steps[0].node, f"`{name}` is advanced here"), (read, f"`{name}` is read here"),
                         (writes[0].node, "the checkpoint is written here")],
            )


def _resuming(module: ModuleModel, written: list) -> list:
    """The checkpoints a resume can come from. When some checkpoint is written inside the training loop,
    a checkpoint written only once outside it and never restored (an initial snapshot, a throw-away
    `tmp_ckpt`) is not one of them: holding the counter there brings nothing back."""
    in_loop = [(fact, writes) for fact, writes in written if any(module.in_training_loop(w) for w in writes)]
    if not in_loop:
        return written
    restored = {id(fact) for fact in module.checkpoints if module.calls_on(fact, ("restore", "read"))}
    restored |= {id(m.checkpoint) for m in module.managers if m.checkpoint is not None
                 and module.calls_on_keys(m.keys, ("restore_or_initialize",))}
    return [(fact, writes) for fact, writes in written
            if (fact, writes) in in_loop or id(fact) in restored]


def _driving_read(module: ModuleModel, uses: Mentions, key: Key):
    """A read of the counter other than advancing it or putting it in a checkpoint."""
    receivers = {
        id(call.receiver_expr) for call in module.calls
        if call.receiver == key and call.method in ASSIGN_METHODS
    }
    in_checkpoints = {id(ref.expr) for fact in module.checkpoints for ref in fact.all_items.values()}
    for mention in uses.reads(key):
        if id(mention.node) in receivers or id(mention.node) in in_checkpoints:
            continue
        return mention.node
    return None


def _set_by_hand(module: ModuleModel, key: Key, steps) -> bool:
    """`step.assign(int(path.split("-")[-1]))` outside the loop: the run restores the counter itself
    (from the checkpoint number, a file...). A reset to a literal (`step.assign(0)`) is not that."""
    advancing = {id(call.node) for call in steps}
    for call in module.calls:
        if call.receiver != key or call.method != "assign" or id(call.node) in advancing:
            continue
        value = call.arg(0, "value")
        if value is not None and not isinstance(value, (cst.Integer, cst.Float)):
            return True
    return False


def _stored_elsewhere(module: ModuleModel, key: Key) -> bool:
    """`obj.step = step` or `state["step"] = step`: the counter may be tracked through another object."""
    for _owner, _attr, value, scope in module.attribute_stores():
        if module.key_of(value, scope) == key:
            return True
    return False
