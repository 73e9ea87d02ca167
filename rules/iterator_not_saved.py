"""CKPT104 iterator-not-saved."""

from __future__ import annotations

from typing import Iterator

from ckptlint.lint.findings import Severity
from ckptlint.model import ModuleModel, Role
from ckptlint.model.counters import checkpoint_holds, dataset_iterators, iterator_consumptions, nearest_checkpoint
from ckptlint.model.restores import roles_with_aliases
from ckptlint.lint.rule import Diagnostic, Invalid, Rule


class IteratorNotSaved(Rule):
    """
    ## What it does
    Finds a `tf.data` iterator (`it = iter(dataset)`) that the training loop consumes (`next(it)`,
    `it.get_next()`, `for batch in it`) while the `tf.train.Checkpoint` written by the module holds the
    model but not the iterator.

    Off by default: many pipelines deliberately restart the data on resume (a fresh shuffle per run,
    or an epoch-based loop that recreates the iterator), and a repeated shuffled stream makes the
    effect statistical rather than a bug. Select it (`--select CKPT104`) for runs that must resume
    exactly.

    ## Why is this bad?
    An iterator's position is state like any other. Left out of the checkpoint, a resumed run starts
    the dataset again from its first element: it trains again on the batches it already saw and
    never reaches the ones it would have seen next, so the resumed run differs from an uninterrupted
    one and the data distribution is skewed toward the start of the dataset. Measured on TF 2.21
    (`docs/framework.md#data-order`, and `ckptlint verify` on the `iterator_position` sample project):
    `tf.train.Checkpoint(iterator=it)` restores the position exactly (the next batch after restore is
    the one an uninterrupted run would have seen, and the 3+3-step resume is bitwise equal to 6 steps);
    without it `state[iterator]` and the data position are reported NOT restored and the resumed run
    diverges. Users report replayed or skipped data (tensorflow/tensorflow#34020,
    tensorflow/tensorflow#24408, tensorflow/tensorflow#58925, tensorflow/tensorflow#48178).

    ## Use instead
    ```python
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, iterator=it)
    ```
    (A `shuffle` buffer is saved with the iterator and can make checkpoints large; use a moderate
    buffer or `reshuffle_each_iteration` with a per-epoch seed.)

    ## References
    - `docs/framework.md#data-order`
    - tensorflow/tensorflow#34020, tensorflow/tensorflow#24408, tensorflow/tensorflow#58925; google/orbax#413
    """

    code = "CKPT104"
    name = "iterator-not-saved"
    severity = Severity.INFO
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    default_enabled = False
    summary = "A tf.data iterator consumed by the training loop is not in the checkpoint with the model."
    api_words = ("Checkpoint",)

    VALID = [
        """
import tensorflow as tf
dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()
it = iter(dataset)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, iterator=it)
for step in range(100):
    xb, yb = next(it)
    optimizer.apply_gradients(zip(grads(model, xb, yb), model.trainable_variables))
    ckpt.save("/tmp/ckpt/ckpt")
""",
        # Iterating a dataset directly: there is no iterator object to save.
        """
import tensorflow as tf
dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
for epoch in range(3):
    for xb, yb in dataset:
        optimizer.apply_gradients(zip(grads(model, xb, yb), model.trainable_variables))
    ckpt.save("/tmp/ckpt/ckpt")
""",
        # A Python iterator over a list is not a tf.data iterator.
        """
import tensorflow as tf
batches = iter([1, 2, 3])
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
for _ in range(3):
    optimizer.apply_gradients(zip(grads(model, next(batches)), model.trainable_variables))
    ckpt.save("/tmp/ckpt/ckpt")
""",
        # The iterator is added to the checkpoint after construction.
        """
import tensorflow as tf
it = iter(tf.data.Dataset.range(10))
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
ckpt.iterator = it
while True:
    optimizer.apply_gradients(zip(grads(model, next(it)), model.trainable_variables))
    ckpt.write("/tmp/w")
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(100, seed=0).batch(8).repeat()
it = iter(dataset)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=2)
for step in range(1000):
    xb, yb = next(it)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(xb) - yb) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    if step % 100 == 0:
        manager.save()
""",
            lines=(6,),
        ),
        # In a trainer class, the iterator consumed by a train step.
        Invalid(
            """
import tensorflow as tf
class Trainer:
    def __init__(self, model, optimizer, dataset: tf.data.Dataset):
        self.model = model
        self.optimizer = optimizer
        self.iterator = iter(tf.data.Dataset.from_tensor_slices(dataset).repeat())
        self.ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    def train_step(self):
        x = next(self.iterator)
        self.optimizer.apply_gradients(zip(grads(self.model, x), self.model.trainable_variables))
    def run(self, steps):
        for _ in range(steps):
            self.train_step()
        self.ckpt.save("/tmp/ckpt")
""",
            lines=(8,),
        ),
        # A dataset from another package's builder, known as tf.data by `reshuffle_each_iteration=`.
        Invalid(
            """
import tensorflow as tf
from datasets import modelnet40
ds, info = modelnet40.ModelNet40.load(split="train", with_info=True)
ds = ds.shuffle(1000, reshuffle_each_iteration=True).repeat(10).batch(32)
it = iter(ds)
model = tf.keras.Sequential([tf.keras.layers.Dense(40)])
optimizer = tf.keras.optimizers.Adam()
checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(checkpoint, "ckpts", max_to_keep=3)
for step in range(int(optimizer.iterations.numpy()), 1000):
    x, y = next(it)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    manager.save()
""",
            lines=(9,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        written = [fact for fact in module.checkpoints if module.checkpoint_writes(fact)]
        if not written or any(fact.opaque for fact in written):
            return
        with_model = [
            fact for fact in written
            if any(ref.attr is None and Role.MODEL in roles_with_aliases(module, ref.key)
                   for ref in fact.all_items.values())
        ]
        if not with_model:
            return
        for key, construction in dataset_iterators(module):
            if any(checkpoint_holds(fact, key, module) for fact in written):
                continue
            consumed = iterator_consumptions(module, key)
            if not consumed:
                continue
            name = module.name_of(key)
            fact = nearest_checkpoint(module, with_model, key)
            yield Diagnostic(
                fact.call.node,
                f"the training loop consumes the tf.data iterator `{name}`, but this checkpoint does not "
                f"hold it: a resume restarts the data from the first batch (batches replayed, others "
                f"skipped); add `iterator={name}`",
                related=[(construction, f"`{name}` is created here"), (consumed[0], f"`{name}` is consumed here")],
            )
