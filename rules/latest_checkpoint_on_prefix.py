"""CKPT202 latest-checkpoint-on-prefix."""

from __future__ import annotations

import posixpath
from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import ModuleModel
from ckptlint.model.paths import path_value, directory_identities, ends_with_separator, latest_checkpoint_calls, prefix_identity as path_identity, prefix_writes
from ckptlint.lint.fix.edits import string_literal
from ckptlint.lint.rule import Diagnostic, Fix, Invalid, FixSafety, Rule


class LatestCheckpointOnPrefix(Rule):
    """
    ## What it does
    Finds `tf.train.latest_checkpoint(p)` where `p` is a checkpoint *file prefix* rather than the
    directory holding the checkpoints: the same value or name that is passed to `Checkpoint.save` /
    `Checkpoint.write` (`file_prefix`), to `model.save_weights`, or to a TF1 `Saver.save`, including a
    prefix built as `os.path.join(directory, "ckpt")`, or a name bound to such a join whose name says it
    is a prefix (`checkpoint_prefix`).

    ## Why is this bad?
    `save(prefix)` writes `prefix-1.index`, `prefix-1.data-...` and a `checkpoint` state file *in the
    directory*; `latest_checkpoint` reads that state file from the directory it is given. Given the
    prefix, it looks for `prefix/checkpoint`, finds nothing, and returns `None` — every time, even when
    checkpoints exist. `restore(None)` then restores nothing and raises nothing, so every "resume"
    silently trains from scratch. Measured on TF 2.21 (`docs/framework.md#save-prefix-and-latest_checkpoint`):
    `save('./initial_checkpoint')` writes `./initial_checkpoint-1`, and
    `latest_checkpoint('./initial_checkpoint')` returns `None`; `restore(None)` returns an
    `InitializationOnlyStatus` silently. Code that saves to a prefix and then asks for the latest
    checkpoint of that same prefix does exactly this; users hit it as tensorflow/models#974
    ("I passed the full path of checkpoint file instead of its directory").

    ## Use instead
    ```python
    path = tf.train.latest_checkpoint(checkpoint_dir)   # the directory
    if path:
        checkpoint.restore(path).assert_existing_objects_matched()
    ```

    ## Fix safety
    Safe. The fix passes the directory: `os.path.join(d, "ckpt")` becomes `d` (the file name dropped),
    a string literal becomes its directory (`'./initial_checkpoint'` -> `'.'`), and a prefix kept in a
    name becomes `os.path.dirname(name)` when the module imports `os`; otherwise there is no fix. The
    prefix form always returned None, so the restore that the code was written to do now happens.

    ## References
    - `docs/framework.md#save-prefix-and-latest_checkpoint`
    - tensorflow/models#974
    """

    code = "CKPT202"
    name = "latest-checkpoint-on-prefix"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "tf.train.latest_checkpoint is given a save prefix instead of a directory, so it returns None."
    fix_safety = FixSafety.SAFE
    # `latest_checkpoint(...)`; or a load or restore that may be given the `checkpoint` state file
    api_words = ("latest_checkpoint", ".load_weights(", (".restore(", "Checkpoint"), (".read(", "Checkpoint"))

    VALID = [
        # A prefix ending in a separator is a directory: save("run/") writes run/-1 and run/checkpoint.
        """
import os
import tensorflow as tf
def roundtrip(model, directory):
    checkpoint_prefix = directory + os.sep
    checkpoint = tf.train.Checkpoint(model=model)
    checkpoint.save(checkpoint_prefix)
    checkpoint.restore(tf.train.latest_checkpoint(checkpoint_prefix)).assert_consumed()
    ckpt2 = tf.train.Checkpoint(model=model)
    ckpt2.save("runs/")
    path = tf.train.latest_checkpoint("runs/")
""",
        # The TF tutorial: save under a prefix, look up the directory.
        """
import os
import tensorflow as tf
checkpoint_dir = "./training_checkpoints"
checkpoint_prefix = os.path.join(checkpoint_dir, "ckpt")
checkpoint = tf.train.Checkpoint(optimizer=optimizer, model=model)
checkpoint.save(file_prefix=checkpoint_prefix)
checkpoint.restore(tf.train.latest_checkpoint(checkpoint_dir))
""",
        # A directory called "ckpt" used by a manager is a directory, not a prefix.
        """
import os
import tensorflow as tf
ckpt_dir = os.path.join(model_dir, "ckpt")
ckpt = tf.train.Checkpoint(model=model)
manager = tf.train.CheckpointManager(ckpt, ckpt_dir, max_to_keep=3)
path = tf.train.latest_checkpoint(ckpt_dir)
if path:
    ckpt.restore(path).assert_existing_objects_matched()
""",
        # Two methods whose `path` parameters are different things: a prefix and a directory.
        """
import tensorflow as tf
class Trainer:
    def __init__(self, model):
        self.ckpt = tf.train.Checkpoint(model=model)
    def save(self, path):
        self.ckpt.save(path)
    def restore(self, path):
        latest = tf.train.latest_checkpoint(path)
        if latest:
            self.ckpt.restore(latest).assert_existing_objects_matched()
""",
        # Keras-2 style weights checkpoints: the directory of the prefix.
        """
import os
import tensorflow as tf
checkpoint_path = "training_1/cp-{epoch:04d}.ckpt"
checkpoint_dir = os.path.dirname(checkpoint_path)
model.save_weights(checkpoint_path.format(epoch=0))
latest = tf.train.latest_checkpoint(checkpoint_dir)
""",
        # TF1 Saver with the directory.
        """
import os
import tensorflow as tf
saver = tf.compat.v1.train.Saver()
saver.save(sess, os.path.join(FLAGS.train_dir, "model.ckpt"), global_step=step)
saver.restore(sess, tf.train.latest_checkpoint(FLAGS.train_dir))
""",
        # A Keras weights prefix that is itself named `checkpoint` (tf-models' BERT classifier): a real
        # checkpoint, whatever the state file beside it.
        """
import os
import tf_keras
def export(model, checkpoint_dir):
    model.load_weights(os.path.join(checkpoint_dir, "checkpoint"))
def train(model, model_dir):
    callback = tf_keras.callbacks.ModelCheckpoint(os.path.join(model_dir, "checkpoint"), save_weights_only=True)
    model.fit(x, y, callbacks=[callback])
""",
    ]
    INVALID = [
        # The state file passed where a checkpoint prefix is wanted (the manager writes `ckpt-N`).
        Invalid(
            """
import os
import tensorflow as tf
def train(model, optimizer, ckpt_dir):
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(ckpt, ckpt_dir, max_to_keep=3)
    ckpt.read(os.path.join(ckpt_dir, "checkpoint"))
    model.fit(x, y)
    manager.save()
""",
            lines=(7,),
            message="`checkpoint` state file",
        ),
        # The seed article: the save prefix given to latest_checkpoint.
        Invalid(
            """
import tensorflow as tf
initial_checkpoint = tf.train.Checkpoint(model=initial_model, optimizer=initial_optimizer)
initial_checkpoint.save('./initial_checkpoint')
new_checkpoint = tf.train.Checkpoint(model=new_model)
new_checkpoint.restore(tf.train.latest_checkpoint('./initial_checkpoint'))
""",
            lines=(6,),
        ),
        # A prefix variable, in functions.
        Invalid(
            """
import os
import tensorflow as tf
CKPT_PREFIX = os.path.join("runs", "ckpt")
def save(ckpt):
    ckpt.save(file_prefix=CKPT_PREFIX)
def restore(ckpt):
    path = tf.train.latest_checkpoint(CKPT_PREFIX)
    if path:
        ckpt.restore(path).assert_existing_objects_matched()
""",
            lines=(8,),
        ),
        # The same join spelled twice.
        Invalid(
            """
import os
import tensorflow as tf
def run(model, workdir):
    ckpt = tf.train.Checkpoint(model=model)
    latest = tf.train.latest_checkpoint(os.path.join(workdir, "ckpt"))
    if latest:
        ckpt.restore(latest).expect_partial()
    ckpt.write(os.path.join(workdir, "ckpt"))
""",
            lines=(6,),
        ),
        # Named as a prefix and built as a join onto a file name.
        Invalid(
            """
import os
import tensorflow as tf
checkpoint_prefix = os.path.join(checkpoint_dir, "ckpt")
status = ckpt.restore(tf.train.latest_checkpoint(checkpoint_prefix))
""",
            lines=(5,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        yield from _state_file_given(module)
        calls = list(latest_checkpoint_calls(module))
        if not calls:
            return
        writes = prefix_writes(module)
        directories = directory_identities(module)
        for call in calls:
            arg = call.arg(0, "checkpoint_dir")
            identity = path_identity(module, arg, call.scope)
            if identity is None or identity in directories or ends_with_separator(module, arg, call.scope):
                continue
            write = next((w for w in writes if w.identity == identity
                          and not ends_with_separator(module, w.expr, w.call.scope)), None)
            if write is not None:
                what = "the prefix" if write.call.method != "save_weights" else "the weights prefix"
                yield Diagnostic(
                    call.node,
                    f"`latest_checkpoint` is given {what} that checkpoints are saved under, not their "
                    f"directory: it always returns None, so the restore silently starts from scratch; "
                    f"pass the directory (`os.path.dirname(...)`)",
                    related=[(write.call.node, "saved under this prefix here")],
                    fix=_directory_fix(module, call),
                )
            elif _named_prefix_join(module, arg, call):
                yield Diagnostic(
                    call.node,
                    "`latest_checkpoint` is given a checkpoint prefix (a file name joined onto a "
                    "directory), not a directory: it always returns None, so the restore silently starts "
                    "from scratch; pass the directory",
                    fix=_directory_fix(module, call),
                )


def _state_file_given(module: ModuleModel) -> Iterator[Diagnostic]:
    """`load_weights(os.path.join(d, "checkpoint"))` / `ckpt.restore(".../checkpoint")`: `checkpoint` is
    the state file TF keeps beside the checkpoints (it names the latest prefix), not a checkpoint."""
    written = None
    for call in module.calls:
        if call.method not in ("load_weights", "restore", "read"):
            continue
        arg = call.arg(0, "filepath" if call.method == "load_weights" else "save_path")
        value = path_value(module, arg, call.scope, symbolic=True)
        if value is None or posixpath.basename(value.replace("\\", "/")) != "checkpoint":
            continue
        # Only where this module writes checkpoints into that directory under another name: a prefix
        # that is itself named `checkpoint` (ModelCheckpoint(os.path.join(d, "checkpoint"))) makes the
        # path a real checkpoint, which ckptlint cannot rule out when the writer is elsewhere.
        if written is None:
            written = _written_prefixes(module)
        directory = posixpath.dirname(value.replace("\\", "/"))
        names = {name for d, name in written if d == directory}
        if not names or "checkpoint" in names:
            continue
        yield Diagnostic(
            call.node,
            f"`{call.method}` is given TF's `checkpoint` state file (it names the latest checkpoint), not a "
            f"checkpoint prefix: it raises, or restores nothing; pass `tf.train.latest_checkpoint(directory)`",
        )


def _written_prefixes(module: ModuleModel) -> set[tuple[str, str]]:
    """(directory, file name) of every checkpoint prefix this module writes, as symbolic paths: a
    manager's directory with its `checkpoint_name` (default `ckpt`), `ckpt.save(prefix)`, a weights save
    or a ModelCheckpoint in TF format."""
    found: set[tuple[str, str]] = set()
    for call in module.calls:
        if call.callee == "tf.train.CheckpointManager":
            directory = path_value(module, call.arg(1, "directory"), call.scope, symbolic=True, directory=True)
            name = module.string_value(call.kwarg("checkpoint_name"), call.scope) or "ckpt"
            if directory is not None:
                found.add((directory.rstrip("/"), name))
            continue
        if call.method in ("save", "write", "save_weights") or call.callee == "keras.callbacks.ModelCheckpoint":
            value = path_value(module, call.arg(0, "filepath" if call.method != "save" else "file_prefix"),
                               call.scope, symbolic=True)
            if value is not None:
                value = value.replace("\\", "/")
                found.add((posixpath.dirname(value), posixpath.basename(value)))
    return found


def _named_prefix_join(module: ModuleModel, arg: cst.BaseExpression | None, call) -> bool:
    """A name that says it is a prefix, bound once to `os.path.join(..., "<file>")`."""
    key = module.key_of(arg, call.scope) if arg is not None else None
    if key is None or "prefix" not in module.name_of(key).lower():
        return False
    values = [a.value for a in module.bindings[key].assignments]
    if len(values) != 1 or not isinstance(values[0], cst.Call):
        return False
    value = values[0]
    return module.qualify(value.func) == "os.path.join" and len(value.args) >= 2 and \
        module.string_value(value.args[-1].value, module.bindings[key].assignments[0].scope) is not None


def _directory_fix(module: ModuleModel, call) -> Fix | None:
    """`latest_checkpoint(os.path.join(d, "ckpt"))` -> `latest_checkpoint(d)`; a literal prefix -> its
    directory; a prefix name -> `os.path.dirname(name)` when `os` is imported as `os`."""
    import posixpath

    arg_node = next((a for a in call.node.args if a.keyword is None or a.keyword.value == "checkpoint_dir"), None)
    if arg_node is None or arg_node.star:
        return None
    arg = arg_node.value
    new: cst.BaseExpression | None = None
    if (isinstance(arg, cst.Call) and module.qualify(arg.func) == "os.path.join" and len(arg.args) >= 2
            and not any(a.star or a.keyword for a in arg.args)
            and module.string_value(arg.args[-1].value, call.scope) is not None):
        head = list(arg.args[:-1])
        if len(head) == 1:
            new = head[0].value
        else:
            head[-1] = head[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            new = arg.with_changes(args=head)
    elif isinstance(arg, cst.SimpleString) and isinstance(arg.evaluated_value, str) and arg.prefix.lower() in ("", "u"):
        new = string_literal(posixpath.dirname(arg.evaluated_value.rstrip("/")) or ".", arg)
    elif module.key_of(arg, call.scope) is not None and module.imports().get("os") == "os":
        new = cst.Call(cst.parse_expression("os.path.dirname"), [cst.Arg(arg)])
    if new is None:
        return None
    args = [a.with_changes(value=new) if a is arg_node else a for a in call.node.args]
    return Fix(call.node, call.node.with_changes(args=args), safe=True, description="pass the checkpoint directory")
