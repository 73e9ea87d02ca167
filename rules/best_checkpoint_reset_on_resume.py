"""CKPT106 best-checkpoint-reset-on-resume."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.lint.rule import Diagnostic, Invalid, Rule
from ckptlint.model import Call, ModuleModel
from ckptlint.model.keras_usage import MODEL_CHECKPOINT, fit_callbacks, fit_resume_reason
from ckptlint.model.restores import in_test_case

_EARLY_STOPPING = "keras.callbacks.EarlyStopping"


class BestCheckpointResetOnResume(Rule):
    """
    ## What it does
    Finds `ModelCheckpoint(..., save_best_only=True)` without `initial_value_threshold=`, and
    `EarlyStopping(...)` without `baseline=` or with `restore_best_weights=True`, among the callbacks of a `fit` that continues an earlier
    run: a `fit` with `BackupAndRestore` among its callbacks, with `initial_epoch=`, or on a model loaded
    (`load_model`, `load_weights`) from a file this script also writes.

    ## Why is this bad?
    Neither callback saves what it has seen. In a new process `ModelCheckpoint` starts with its best
    value at +inf (-inf for `mode="max"`), so the first epoch after a restart is "an improvement" and
    overwrites the best model file with whatever the resumed model is, even a much worse one.
    `EarlyStopping` starts again with no best value and a patience count of 0, so the resumed run trains
    on for a full `patience` more epochs and, with `restore_best_weights=True`, can only go back to a
    weight set seen after the restart. Keras' `BackupAndRestore` restores the weights, the optimizer and
    the epoch, not the callbacks' state (keras-team/keras#12803, keras-team/keras#11420,
    keras-team/tf-keras#430).

    Measured on TF 2.21 + Keras 3.15 (`tests/harness/test_runtime_best_checkpoint_reset.py`, on the
    `best_checkpoint_reset` sample project): the validation loss of a 12-epoch run bottoms out at epoch 7
    and rises after it; the job dies after epoch 9 and is restarted. The best file then holds the
    epoch-7 model; the restarted run's first epoch overwrites it with the epoch-10 model, whose
    validation loss is 0.51 against 0.41. With `initial_value_threshold=` set to the saved best
    model's validation loss, the file keeps the epoch-7 model, the same as an uninterrupted run.
    The same restart with `EarlyStopping(patience=2, restore_best_weights=True)`: uninterrupted, training
    stops after epoch 9 with the epoch-7 weights; restarted after epoch 8, it trains epochs 9-11 and ends
    with the epoch-9 weights (validation loss 0.47 against 0.41). With `baseline=` it stops one epoch
    earlier, but still restores a post-restart epoch.

    A `ModelCheckpoint` finding is an error (the best model is lost); an `EarlyStopping` one a warning
    (the run trains longer than it would have, nothing saved is lost). A `fit` that never resumes is not
    flagged, nor is a callback whose threshold or baseline is given
    (any value: the rule cannot know it), nor code that imports Keras 2 (`tf_keras`).

    ## Use instead
    Start the callback from the best value saved before the restart:
    ```python
    def best_so_far(path, x_val, y_val):
        if not os.path.exists(path):
            return None
        return keras.models.load_model(path).evaluate(x_val, y_val, verbose=0)

    best = keras.callbacks.ModelCheckpoint(
        path, monitor="val_loss", save_best_only=True,
        initial_value_threshold=best_so_far(path, x_val, y_val))
    ```
    For `EarlyStopping`, pass the saved best as `baseline=` (that keeps the threshold; the patience
    already spent before the restart still starts again from 0), and instead of
    `restore_best_weights=True`, load the best model that a `ModelCheckpoint` like the one above kept.

    ## Fix safety
    No autofix: the right threshold is a value from the previous run (the saved best model's metric),
    which the code has to compute or store; no edit of the call alone can supply it.

    ## References
    - keras-team/keras#12803, keras-team/keras#11420, keras-team/tf-keras#430
    - https://keras.io/api/callbacks/model_checkpoint/ (`initial_value_threshold`)
    - `tests/harness/test_runtime_best_checkpoint_reset.py`
    - `docs/framework.md#callback-state` (callback state)
    """

    code = "CKPT106"
    name = "best-checkpoint-reset-on-resume"
    severity = Severity.ERROR
    precision = "1.00: 2 of 2 findings true on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    keras = 3  # measured on Keras 3; Keras 2 (`tf_keras`) code is left alone
    summary = "A best-only ModelCheckpoint or EarlyStopping in a resumed fit forgets the best value seen before the restart."
    api_words = (("save_best_only", ".fit("), ("EarlyStopping", ".fit("))

    VALID = [
        # A fit that never resumes: the best value only has to live as long as the process.
        """
import keras
best = keras.callbacks.ModelCheckpoint("best.keras", monitor="val_loss", save_best_only=True)
model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[best, keras.callbacks.EarlyStopping(patience=5)])
""",
        # Resumed, but the threshold comes from the saved best.
        """
import keras
best = keras.callbacks.ModelCheckpoint(path, save_best_only=True, initial_value_threshold=previous_best)
stop = keras.callbacks.EarlyStopping(patience=3, baseline=previous_best)
model.fit(x, y, epochs=20, callbacks=[keras.callbacks.BackupAndRestore("backup"), best, stop])
""",
        # EarlyStopping with the saved best as baseline and no restore_best_weights.
        """
import keras
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, baseline=best_val_loss)
model.fit(x, y, epochs=20, callbacks=[keras.callbacks.BackupAndRestore("backup"), stop])
""",
        # Every epoch is saved (no "best" to forget).
        """
import tensorflow as tf
ckpt = tf.keras.callbacks.ModelCheckpoint("ckpt/epoch-{epoch:02d}.keras")
model.fit(x, y, initial_epoch=start, epochs=20, callbacks=[ckpt])
""",
        # save_best_only=False, spelled out.
        """
import keras
callbacks = [keras.callbacks.BackupAndRestore("backup"),
             keras.callbacks.ModelCheckpoint("last.keras", save_best_only=False)]
model.fit(x, y, epochs=20, callbacks=callbacks)
""",
        # The callback goes to a different, fresh fit than the resumed one.
        """
import keras
finetune = keras.callbacks.ModelCheckpoint("ft.keras", save_best_only=True)
model.fit(x, y, epochs=5, callbacks=[finetune])
other.fit(x, y, initial_epoch=5, epochs=10)
""",
        # Keras 2 (tf_keras): not what was measured.
        """
import tf_keras
best = tf_keras.callbacks.ModelCheckpoint("best.h5", save_best_only=True)
model.fit(x, y, initial_epoch=10, epochs=20, callbacks=[best])
""",
        # initial_epoch=0 spelled out is a fresh start.
        """
import keras
best = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)
model.fit(x, y, initial_epoch=0, epochs=20, callbacks=[best])
""",
    ]
    INVALID = [
        Invalid(
            """
import keras
callbacks = [
    keras.callbacks.BackupAndRestore("runs/backup"),
    keras.callbacks.ModelCheckpoint("runs/best.keras", monitor="val_loss", save_best_only=True),
]
model.fit(x, y, validation_data=(x_val, y_val), epochs=50, callbacks=callbacks)
""",
            lines=(5,),
            message="overwrites",
        ),
        # initial_epoch after a load, callbacks built in a helper, EarlyStopping too.
        Invalid(
            """
import tensorflow as tf
def make_callbacks(run_dir):
    cbs = [tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)]
    cbs.append(tf.keras.callbacks.ModelCheckpoint(run_dir + "/best.weights.h5", save_best_only=True,
                                                  save_weights_only=True))
    return cbs
def resume(model, run_dir, epoch):
    model.load_weights(run_dir + "/last.weights.h5")
    model.fit(ds, validation_data=val, initial_epoch=epoch, epochs=100, callbacks=make_callbacks(run_dir))
""",
            lines=(4, 5),
            message="initial_epoch",
        ),
        # A model loaded from the file the same script writes.
        Invalid(
            """
import os
import keras
PATH = "run/model.keras"
model = keras.models.load_model(PATH) if os.path.exists(PATH) else build()
best = keras.callbacks.ModelCheckpoint("run/best.keras", save_best_only=True)
model.fit(x, y, epochs=10, callbacks=[best, keras.callbacks.ModelCheckpoint(PATH)])
""",
            lines=(6,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        reported: set[int] = set()
        for fit in module.method_calls(("fit",)):
            if in_test_case(fit.scope):
                continue
            callbacks = fit_callbacks(module, fit)
            forgetful = [cb for cb in callbacks if _forgets_best(module, cb) and id(cb.node) not in reported]
            if not forgetful:
                continue
            reason = fit_resume_reason(module, fit, callbacks)
            if reason is None:
                continue
            for callback in forgetful:
                reported.add(id(callback.node))
                yield Diagnostic(callback.node, _message(callback, reason.text),
                                 related=[(fit.node, "the resumed `fit`"), (reason.node, "why it resumes")],
                                 severity=None if callback.callee == MODEL_CHECKPOINT else Severity.WARNING)


def _forgets_best(module: ModuleModel, callback: Call) -> bool:
    if callback.has_star_args:
        return False
    if callback.callee == MODEL_CHECKPOINT:
        return _is_true(module, callback.arg(3, "save_best_only"), callback) and \
            _absent(callback.kwarg("initial_value_threshold"))
    if callback.callee == _EARLY_STOPPING:
        # baseline= keeps the threshold across a restart; restore_best_weights still only sees epochs
        # after it.
        return _absent(callback.arg(5, "baseline")) or _is_true(module, callback.arg(6, "restore_best_weights"), callback)
    return False


def _absent(expr: cst.BaseExpression | None) -> bool:
    return expr is None or (isinstance(expr, cst.Name) and expr.value == "None")


def _is_true(module: ModuleModel, expr: cst.BaseExpression | None, call: Call) -> bool:
    if isinstance(expr, cst.Name):
        if expr.value in ("True", "False"):
            return expr.value == "True"
        key = module.key_of(expr, call.scope)
        values = [a.value for a in module.bindings[key].assignments] if key in module.bindings else []
        return len(values) == 1 and isinstance(values[0], cst.Name) and values[0].value == "True"
    return False


def _message(callback: Call, reason: str) -> str:
    if callback.callee == MODEL_CHECKPOINT:
        return (f"`ModelCheckpoint(save_best_only=True)` starts from best = inf after a restart ({reason}): "
                f"the first resumed epoch overwrites the best model file even when it is worse; pass "
                f"`initial_value_threshold=` the saved best's metric")
    return (f"`EarlyStopping` forgets its best value, patience count and best weights after a restart "
            f"({reason}): the resumed run trains `patience` more epochs and `restore_best_weights` only "
            f"sees epochs after the restart; pass `baseline=` the saved best's metric and reload the best "
            f"model a ModelCheckpoint kept")
