"""CKPT302 manager-save-wrapped."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Call, ModuleModel, Role
from ckptlint.lint.rule import Diagnostic, Fix, Invalid, FixSafety, Rule


class ManagerSaveWrapped(Rule):
    """
    ## What it does
    Finds `checkpoint.save(...)` whose path is the result of another save: `checkpoint.save(manager.save())`,
    `checkpoint.save(checkpoint.save(prefix))`, or a name bound to such a result.

    ## Why is this bad?
    Both calls write a checkpoint and both advance `save_counter`. Measured on TF 2.21
    (`docs/framework.md#wrapped-saves`): `checkpoint.save(manager.save())` writes `ckpt-1` (the
    manager's) *and* `ckpt-1-2`, then `ckpt-3` and `ckpt-3-4`, ... The manager never prunes the
    `ckpt-N-M` files (they are not its own), so the directory grows without bound; the `checkpoint` state
    file names `ckpt-N-M` as the latest while `manager.latest_checkpoint` names `ckpt-N` — two different
    "latest" checkpoints, and the numbers no longer count steps (on foreign files: tensorflow/tensorflow#34234).

    ## Use instead
    ```python
    path = manager.save()
    ```

    ## Fix safety
    Safe. When the inner save is written inline as the only argument (`ckpt.save(manager.save())`),
    the fix keeps only the inner call (`manager.save()`): one checkpoint per save, pruned by the
    manager, one "latest", and the same return value type (the path written). A result kept in a name
    first (`prefix = manager.save()`) is left to the author.

    ## References
    - `docs/framework.md#wrapped-saves`
    - tensorflow/tensorflow#34234
    """

    code = "CKPT302"
    name = "manager-save-wrapped"
    severity = Severity.WARNING
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "A checkpoint save is given another save's result: doubled counter, unpruned files, two 'latest'."
    fix_safety = FixSafety.SAFE
    # A `.save(` call on a checkpoint or manager, a role that only comes from `tf.train.Checkpoint` or
    # `CheckpointManager` (named in the call, or in the import an alias comes from). Not two saves: a
    # name bound once, to its own save's result (`prefix = ckpt.save(prefix)`), is flagged with one.
    api_words = (("Checkpoint", ".save("),)

    VALID = [
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3)
path = manager.save()
print("saved", path)
ckpt.write(path + "-copy")
""",
        # Checking the result of a save is fine.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model)
saved = ckpt.save("/tmp/run/ckpt")
assert tf.io.gfile.exists(saved + ".index")
ckpt.restore(saved)
""",
        # TF1 Saver: not a tf.train.Checkpoint.
        """
import tensorflow as tf
saver = tf.compat.v1.train.Saver()
saver.save(sess, saver.save(sess, "/tmp/a"))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3)
for step in range(1000):
    train_step()
    if step % 100 == 0:
        ckpt.save(manager.save())
""",
            lines=(8,),
        ),
        Invalid(
            """
import tensorflow as tf
class Trainer:
    def __init__(self):
        self.ckpt = tf.train.Checkpoint(step=tf.Variable(0))
        self.manager = tf.train.CheckpointManager(self.ckpt, "/tmp/run", max_to_keep=5)
    def checkpoint(self):
        prefix = self.manager.save()
        self.ckpt.save(file_prefix=prefix)
""",
            lines=(9,),
        ),
        # Aliased classes: "Checkpoint" is only in the import.
        Invalid(
            """
from tensorflow.train import Checkpoint as Ckpt, CheckpointManager as Manager
ckpt = Ckpt(step=step)
manager = Manager(ckpt, "/tmp/run", max_to_keep=3)
ckpt.save(manager.save())
""",
            lines=(5,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        for call in module.calls:
            if call.method != "save" or not _is_checkpoint_like(module, call):
                continue
            argument = call.arg(0, "file_prefix")
            inner = _save_behind(module, call, argument)
            if inner is None:
                continue
            what = "manager.save()" if Role.MANAGER in module.roles(inner.receiver) else "another save"
            yield Diagnostic(
                call.node,
                f"this save writes a second checkpoint under the path returned by {what}: the save counter "
                "advances twice, the manager never prunes the `ckpt-N-M` files, and `latest_checkpoint` "
                "differs from `manager.latest_checkpoint`; keep only the manager's save",
                related=[(inner.node, "the inner save")],
                fix=_keep_inner_save_fix(call),
            )


def _is_checkpoint_like(module: ModuleModel, call: Call) -> bool:
    roles = module.roles(call.receiver)
    if Role.CHECKPOINT in roles or Role.MANAGER in roles:
        return True
    inline = call.receiver_expr
    return isinstance(inline, cst.Call) and module.qualify(inline.func) == "tf.train.Checkpoint"


def _save_behind(module: ModuleModel, outer: Call, expr: cst.BaseExpression | None) -> Call | None:
    """The checkpoint/manager save whose result `expr` is (inline, or a name bound once to it)."""
    if expr is None:
        return None
    if isinstance(expr, cst.Call):
        inner = module.call_at(expr)
        if inner is not None and inner.method == "save" and _is_checkpoint_like(module, inner):
            return inner
        return None
    key = module.key_of(expr, outer.scope)
    if key is None or key not in module.bindings:
        return None
    values = [a.value for a in module.bindings[key].assignments]
    if len(values) == 1 and isinstance(values[0], cst.Call):
        return _save_behind(module, outer, values[0])
    return None


def _keep_inner_save_fix(call: Call) -> Fix | None:
    """`ckpt.save(manager.save())` -> `manager.save()`: only an inline inner save, the only argument."""
    args = call.node.args
    if len(args) != 1 or args[0].star or not isinstance(args[0].value, cst.Call):
        return None
    inner = args[0].value
    return Fix(call.node, inner.with_changes(lpar=call.node.lpar, rpar=call.node.rpar), safe=True,
               description="keep only the inner save")
