"""CKPT207 latest-checkpoint-on-keras-files."""

from __future__ import annotations

from typing import Iterator

from ckptlint.lint.findings import Severity
from ckptlint.lint.rule import Diagnostic, Invalid, Rule
from ckptlint.model import ModuleModel
from ckptlint.model.keras_usage import (
    as_directory, as_glob, keras_file_writes, latest_checkpoint_calls, path_text, tf_checkpoint_directories,
)


class LatestCheckpointOnKerasFiles(Rule):
    """
    ## What it does
    Finds `tf.train.latest_checkpoint(d)`, and a `tf.train.CheckpointManager` on `d` that never saves,
    used to resume from a directory `d` that only Keras writes into: `ModelCheckpoint(".../x.weights.h5")`
    or `(".../x.keras")`, `model.save_weights(".../x.weights.h5")`, `model.save(".../x.keras")`, in the
    same module.

    ## Why is this bad?
    `latest_checkpoint` does not list files: it reads the `checkpoint` state file that TF's
    `Checkpoint.save` and `CheckpointManager.save` write next to their checkpoints. Keras 3 writes
    `.keras` and `.weights.h5` files and no state file, so on such a directory `latest_checkpoint`
    returns None every time, the `if latest:` branch never runs, and every restart silently trains from
    scratch. This is what happened to users following the TF "Save and load" tutorial after TF 2.16
    made Keras 3 the default (tensorflow/tensorflow#74342). Measured on TF 2.21 + Keras 3.15: after
    `ModelCheckpoint("d/cp-{epoch:02d}.weights.h5", save_weights_only=True)` wrote two files,
    `tf.train.latest_checkpoint("d")` is None, and so is `CheckpointManager(ckpt, "d").latest_checkpoint`;
    the same for `.keras` files and `save_weights`. `ckptlint verify` on the
    `latest_on_keras_files` sample project: nothing is restored (weights, Adam slots, iterations, learning
    rate); the fixed twin, which picks the newest file itself, resumes exactly.

    A directory that TF checkpointing also writes (a `Checkpoint.save` prefix in it, a saving
    `CheckpointManager`, a TF-format `save_weights` prefix in Keras 2) is not flagged.

    ## Use instead
    Find the newest Keras file yourself:
    ```python
    files = glob.glob(os.path.join(checkpoint_dir, "cp-*.weights.h5"))
    latest = max(files, key=os.path.getmtime) if files else None
    if latest:
        model.optimizer.build(model.trainable_variables)
        model.load_weights(latest)
    ```
    (zero-padded numbers in the file name also sort: `sorted(files)[-1]`), or write TF checkpoints
    (`tf.train.CheckpointManager(tf.train.Checkpoint(model=model, optimizer=optimizer), checkpoint_dir)`)
    and keep `latest_checkpoint`.

    ## Fix safety
    No autofix: the glob depends on the file names the code writes, and which file is "latest" (by
    modification time, by the epoch in its name) is the project's choice.

    ## References
    - tensorflow/tensorflow#74342
    - https://www.tensorflow.org/tutorials/keras/save_and_load
    - https://www.tensorflow.org/api_docs/python/tf/train/latest_checkpoint
    - `docs/framework.md#no-checkpoint-state-file` (no checkpoint state file)
    """

    code = "CKPT207"
    name = "latest-checkpoint-on-keras-files"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    keras = 3  # Keras 2's weights checkpoints in the TF format do write the state file
    summary = "tf.train.latest_checkpoint on a directory that only Keras writes into: always None, training restarts."
    api_words = ("latest_checkpoint",)

    VALID = [
        # TF checkpoints in the directory: latest_checkpoint reads their state file.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "runs/ckpt", max_to_keep=3)
ckpt.restore(tf.train.latest_checkpoint("runs/ckpt"))
manager.save()
""",
        # Keras files in one directory, TF checkpoints in another.
        """
import os
import keras
import tensorflow as tf
best = keras.callbacks.ModelCheckpoint(os.path.join("runs", "best", "model.keras"), save_best_only=True)
ckpt = tf.train.Checkpoint(model=model)
ckpt.save(os.path.join("runs", "tf", "ckpt"))
latest = tf.train.latest_checkpoint(os.path.join("runs", "tf"))
""",
        # Keras 2 style: a TF-format weights prefix (no .h5), as in the pre-2.16 tutorial.
        """
import os
import tensorflow as tf
checkpoint_path = "training_2/cp-{epoch:04d}.ckpt"
checkpoint_dir = os.path.dirname(checkpoint_path)
cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True)
latest = tf.train.latest_checkpoint(checkpoint_dir)
""",
        # The newest Keras file found with a glob.
        """
import glob
import os
import keras
cb = keras.callbacks.ModelCheckpoint(os.path.join(ckpt_dir, "cp-{epoch:04d}.weights.h5"), save_weights_only=True)
files = sorted(glob.glob(os.path.join(ckpt_dir, "cp-*.weights.h5")))
if files:
    model.load_weights(files[-1])
""",
        # A manager on the Keras directory that saves its own TF checkpoints there.
        """
import tensorflow as tf
model.save("work/model.keras")
manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), "work", max_to_keep=2)
manager.restore_or_initialize()
manager.save()
""",
    ]
    INVALID = [
        # The TF tutorial after Keras 3 (tensorflow/tensorflow#74342).
        Invalid(
            """
import os
import tensorflow as tf
checkpoint_path = "training_2/cp-{epoch:04d}.weights.h5"
checkpoint_dir = os.path.dirname(checkpoint_path)
cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True)
model.fit(x, y, epochs=50, callbacks=[cp_callback])
latest = tf.train.latest_checkpoint(checkpoint_dir)
""",
            lines=(8,),
            message="always returns None",
        ),
        # Save and restore in two methods of a class, directory passed as a parameter.
        Invalid(
            """
import os
import tensorflow as tf
class Trainer:
    def save(self, directory):
        self.model.save(os.path.join(directory, "model.keras"))
    def restore(self, directory):
        path = tf.train.latest_checkpoint(directory)
        if path:
            self.model = tf.keras.models.load_model(path)
""",
            lines=(8,),
        ),
        # A CheckpointManager used only to look the latest file up.
        Invalid(
            """
import keras
import tensorflow as tf
model.save_weights(f"{args.out}/weights-{step:06d}.weights.h5")
manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), args.out, max_to_keep=3)
if manager.latest_checkpoint:
    model.load_weights(manager.latest_checkpoint)
""",
            lines=(5,),
        ),
        # The directory is known only at run time, but it is the same name on both sides.
        Invalid(
            """
import os
import keras
import tensorflow as tf
def run(params):
    checkpoint_dir = os.path.join("checkpoints", f"{params['units']}-{params['lr']}")
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if latest:
        model.load_weights(latest)
    save = keras.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, "cp-{epoch:04d}.weights.h5"),
                                           save_weights_only=True)
    model.fit(x, y, epochs=10, callbacks=[save])
""",
            lines=(7,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        writes = keras_file_writes(module)
        if not writes:
            return
        tf_directories = tf_checkpoint_directories(module)
        keras_directories = {write.directory: write for write in writes if write.directory not in tf_directories}
        if not keras_directories:
            return
        for call in latest_checkpoint_calls(module):
            directory = as_directory(path_text(module, call.arg(0, "checkpoint_dir"), call.scope))
            write = keras_directories.get(directory) if directory is not None else None
            if write is not None:
                yield Diagnostic(call.node, _message("`tf.train.latest_checkpoint`", write.filename),
                                 related=[(write.call.node, "Keras writes this directory here")])
        for manager in module.managers:
            saves = [c for c in module.method_calls(("save",)) if c.receiver is not None and c.receiver in manager.keys]
            if saves:
                continue
            directory = as_directory(path_text(module, manager.call.arg(1, "directory"), manager.call.scope))
            write = keras_directories.get(directory) if directory is not None else None
            if write is not None:
                yield Diagnostic(manager.call.node, _message("a `CheckpointManager` that never saves", write.filename),
                                 related=[(write.call.node, "Keras writes this directory here")])


def _message(what: str, filename: str) -> str:
    pattern = as_glob(filename)
    return (f"{what} reads TF's `checkpoint` state file, which Keras never writes next to `{pattern}`: it "
            f"always returns None here, so the resume silently trains from scratch; find the newest "
            f"`{pattern}` with `glob`, or save TF checkpoints there")
