"""CKPT105 backup-and-restore-mid-epoch."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.findings import Severity
from ckptlint.model import ModuleModel
from ckptlint.model.builder import dotted_name
from ckptlint.rule import Diagnostic, Invalid, Rule

_CALLBACK = "keras.callbacks.BackupAndRestore"
# Keras 2 (tf_keras, tf.keras before TF 2.16) resumes mid-epoch correctly: it skips the batches already
# seen. Imports that can only mean Keras 2 are left alone.
_KERAS2_IMPORTS = ("tf_keras", "tensorflow.python.keras")


class BackupAndRestoreMidEpoch(Rule):
    """
    ## What it does
    Finds `keras.callbacks.BackupAndRestore(..., save_freq=<int>)`: a backup every N batches, so that an
    interrupted `fit` resumes from the middle of an epoch.

    ## Why is this bad?
    Keras 3 does not resume mid-epoch. The backup records the batch it was taken at, but on restart
    `fit` only reads the *epoch* back (`model._initial_epoch`) and runs that epoch again from its first
    batch, on top of weights and an optimizer that already saw part of it. Measured on TF 2.21 +
    Keras 3.15 (tf-facts.md row 9, `ckptlint verify` and tests/test_runtime_backup_and_restore.py):
    2 epochs × 10 batches with `save_freq=3`, interrupted at batch 7 of the second epoch, end with
    `optimizer.iterations == 24` instead of 20 — four batches are trained twice, the learning-rate
    schedule is four steps ahead and the weights differ from an uninterrupted run. `save_freq="epoch"`
    resumes exactly (20 steps, bitwise equal weights).

    `tf_keras` (Keras 2) skips the already-seen batches and is not flagged; a `save_freq` that is not a
    literal integer (a flag, a config value) is not flagged either.

    ## Example
    ```python
    backup = keras.callbacks.BackupAndRestore("backup", save_freq=100)
    model.fit(dataset, epochs=10, callbacks=[backup])
    ```

    ## Use instead
    ```python
    backup = keras.callbacks.BackupAndRestore("backup", save_freq="epoch")
    model.fit(dataset, epochs=10, callbacks=[backup])
    ```
    With long epochs, make them shorter (`steps_per_epoch=` on a repeated dataset) so that an
    epoch-end backup comes often enough.

    ## References
    - tf-facts.md, row 9 (BackupAndRestore save_freq=3 stopped mid-epoch: 24 vs 20 steps)
    - failure-modes.md #10, #14; keras-team/keras#19389
    """

    code = "CKPT105"
    name = "backup-and-restore-mid-epoch"
    severity = Severity.ERROR
    summary = "BackupAndRestore(save_freq=<int>) re-runs the interrupted epoch from its start in Keras 3."
    api_words = ("BackupAndRestore",)

    VALID = [
        """
import keras
backup = keras.callbacks.BackupAndRestore("/tmp/backup", save_freq="epoch")
model.fit(x, y, epochs=10, callbacks=[backup])
""",
        # The default is "epoch".
        """
import tensorflow as tf
model.fit(x, y, epochs=10, callbacks=[tf.keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")])
""",
        # Keras 2 resumes mid-epoch correctly.
        """
import tf_keras
cb = tf_keras.callbacks.BackupAndRestore("/tmp/backup", save_freq=100)
""",
        # Not a literal: the value comes from configuration.
        """
import keras
cb = keras.callbacks.BackupAndRestore(args.backup_dir, save_freq=args.save_freq)
""",
    ]
    INVALID = [
        Invalid(
            """
import keras
backup = keras.callbacks.BackupAndRestore("/tmp/backup", save_freq=100)
model.fit(x, y, epochs=10, callbacks=[backup])
""",
            lines=(3,),
        ),
        # tf.keras is Keras 3 under TF >= 2.16; a positional frequency; a module constant.
        Invalid(
            """
import tensorflow as tf
from tensorflow.keras.callbacks import BackupAndRestore
SAVE_EVERY = 50
callbacks = [BackupAndRestore("/tmp/a", 200), tf.keras.callbacks.BackupAndRestore("/tmp/b", save_freq=SAVE_EVERY)]
""",
            lines=(5, 5),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        for call in module.calls_to(_CALLBACK):
            if _keras2(module, call.node.func):
                continue
            frequency = call.arg(1, "save_freq")
            batches = _int_value(module, frequency, call)
            if batches is None:
                continue
            yield Diagnostic(
                call.node,
                f"`BackupAndRestore(save_freq={batches})` backs up mid-epoch, but Keras 3 resumes at the "
                f"start of the interrupted epoch: the batches already trained are trained again (measured: "
                f"24 optimizer steps instead of 20) and the run diverges; use `save_freq=\"epoch\"`",
            )


def _keras2(module: ModuleModel, func: cst.BaseExpression) -> bool:
    dotted = dotted_name(func)
    if dotted is None:
        return False
    head = dotted.split(".")[0]
    imported = module.builder.aliases.get(head, "")
    return imported.startswith(_KERAS2_IMPORTS)


def _int_value(module: ModuleModel, expr: cst.BaseExpression | None, call) -> int | None:
    if expr is None:
        return None
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    key = module.key_of(expr, call.scope)
    if key is not None and key in module.bindings:
        values = [a.value for a in module.bindings[key].assignments]
        if len(values) == 1 and isinstance(values[0], cst.Integer):
            return int(values[0].evaluated_value)
    return None
