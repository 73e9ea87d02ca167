"""CKPT105 backup-and-restore-mid-epoch."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import ModuleModel
from ckptlint.model.restores import in_test_case
from ckptlint.lint.rule import Diagnostic, Invalid, Rule

_CALLBACK = "keras.callbacks.BackupAndRestore"
# Keras 2 (tf_keras, tf.keras before TF 2.16) has its own mid-epoch resume logic, which the measurement
# behind this rule (Keras 3.15) does not cover. Imports that can only mean Keras 2 are left alone.
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
    Keras 3.15 (`docs/framework.md#backupandrestore`; tests/harness/test_runtime_backup_and_restore.py on the
    `backup_mid_epoch` sample project): 4 epochs x 5 batches with `save_freq=3`, the job killed after
    batch 4 of epoch 1 (10 steps). The last backup was taken after 9 steps; the restarted `fit` runs
    epoch 1 again from its first batch and ends with `optimizer.iterations == 24` instead of 20 — four
    batches trained twice, the learning-rate schedule four steps ahead, weights different from an
    uninterrupted run. With `save_freq="epoch"` the restarted run trains epochs 1-3 from the epoch-0
    backup: 20 steps, weights bitwise equal to the uninterrupted run.

    Code that imports `tf_keras` (Keras 2, whose `fit` has its own mid-epoch resume logic; not
    measured here) is left alone, and so is a `save_freq` that is not a literal integer (a flag, a
    config value), and a unittest-style test of the callback itself (Keras' own
    `backup_and_restore_test.py` asserts this very re-run: 17 batches seen where an exact resume
    sees 15).

    ## Use instead
    ```python
    backup = keras.callbacks.BackupAndRestore("backup", save_freq="epoch")
    model.fit(dataset, epochs=10, callbacks=[backup])
    ```
    With long epochs, make them shorter (`steps_per_epoch=` on a repeated dataset) so that an
    epoch-end backup comes often enough.

    ## References
    - `docs/framework.md#backupandrestore` (save_freq=3 stopped mid-epoch: 24 vs 20 steps)
    - keras-team/keras#19389, keras-team/keras#19179
    """

    code = "CKPT105"
    name = "backup-and-restore-mid-epoch"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    keras = 3  # Keras 2's BackupAndRestore resumes mid-epoch on its own terms
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
        # Keras 2 (tf_keras) is out of scope: the measured behaviour is Keras 3's.
        """
import tf_keras
cb = tf_keras.callbacks.BackupAndRestore("/tmp/backup", save_freq=100)
""",
        # A test of the callback itself.
        """
import tensorflow as tf
class BackupTest(tf.test.TestCase):
    def test_step_backup(self):
        cbk = tf.keras.callbacks.BackupAndRestore(self.get_temp_dir(), save_freq=1)
""",
        # Another framework's callback of the same name (MindSpore counts save_freq in epochs).
        """
from mindspore.train import BackupAndRestore
cb = BackupAndRestore("/tmp/backup", save_freq=2)
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
            if _keras2(module, call.node.func) or in_test_case(call.scope):
                continue
            frequency = call.arg(1, "save_freq")
            batches = _int_value(module, frequency, call)
            if batches is None:
                continue
            yield Diagnostic(
                call.node,
                f"`BackupAndRestore(save_freq={batches})` backs up mid-epoch, but Keras 3 resumes at the "
                f"start of the interrupted epoch: the batches already trained are trained again (measured: "
                f"a 20-step run trained 24 steps) and the run diverges; use `save_freq=\"epoch\"`",
            )


def _keras2(module: ModuleModel, func: cst.BaseExpression) -> bool:
    return (module.import_path(func) or "").startswith(_KERAS2_IMPORTS)


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
