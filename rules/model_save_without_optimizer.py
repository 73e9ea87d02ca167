"""CKPT102 model-save-without-optimizer."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Call, ModuleModel, Role
from ckptlint.lint.rule import Diagnostic, Invalid, Rule

_SAVE_METHODS = frozenset({"save", "save_weights", "export"})
_SAVE_FUNCTIONS = frozenset({"keras.models.save_model", "tf.saved_model.save"})
_LOADS = frozenset({"keras.models.load_model", "tf.saved_model.load"})


class ModelSaveWithoutOptimizer(Rule):
    """
    ## What it does
    Finds `model.save`, `keras.models.save_model`, `model.save_weights`, `tf.saved_model.save(model)`
    or `model.export` used as the *training* checkpoint — inside the training loop, in a training
    callback, or in a module that loads the artifact back and keeps training — while the optimizer that
    trains the model is not attached to it.

    The optimizer is not attached when it trains the model in a custom `GradientTape` loop
    (`apply_gradients`/`minimize`) and the model was never `compile()`d with it, when
    `include_optimizer=False` is passed for a legacy `.h5`/SavedModel file, or when the artifact is a
    `model.export()` (inference only).

    ## Why is this bad?
    Keras saves the optimizer together with the model only when it is the model's own
    (`model.optimizer`, set by `compile`). A model trained by a separate optimizer is saved without
    Adam's moments and without `iterations`: the resumed run starts a fresh optimizer and a fresh
    learning-rate schedule, with no error. Measured on TF 2.21 + Keras 3.15 (`docs/framework.md#keras-files`):
    `.keras` and SavedModel keep the optimizer only for a compiled model; `model.export` never keeps it.
    `include_optimizer=False` drops it from `.h5` (Keras 3 ignores it for `.keras`, which still holds
    the optimizer, so that case is not flagged). A one-off export for serving after training is not
    a finding.

    ## Use instead
    ```python
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(ckpt, "ckpts", max_to_keep=3)
    ...
    manager.save()
    ```
    or compile the model with the optimizer (`model.compile(optimizer=optimizer, ...)`) so that
    `model.save` carries it.

    ## References
    - `docs/framework.md#keras-files`, `docs/framework.md#savedmodel-and-export`, `docs/framework.md#include_optimizer`
    - tensorflow/tensorflow#47115, keras-team/keras#2378, tensorflow/tensorflow#84268
    """

    code = "CKPT102"
    name = "model-save-without-optimizer"
    severity = Severity.ERROR
    summary = "A model artifact used as the training checkpoint leaves out the optimizer that trains the model."
    # A save or export AND what makes it a training checkpoint: training in the module, a callback,
    # or a load it resumes from.
    api_words = tuple(
        (verb, context)
        for verb in (".save(", "save_weights", "save_model", ".export(")
        for context in (".fit(", "train_on_batch", "apply_gradients", "minimize", "Callback", "load_model",
                        "load_weights", "saved_model.load")
    )

    VALID = [
        # Compiled with its optimizer: model.save carries it.
        """
import keras
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
for epoch in range(10):
    model.fit(x, y, epochs=1)
    model.save("ckpt.keras")
""",
        # A one-off export for serving after a custom-loop training.
        """
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam()
for x, y in data:
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) - y)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
model.export("serving/")
tf.saved_model.save(model, "serving2/")
""",
        # A best-model export beside a real checkpoint (tf-models-official, triviaqa/train.py).
        """
import tensorflow as tf
manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model, optimizer=optimizer), model_dir, 3)
for epoch in range(10):
    model.fit(train_dataset)
    manager.save()
    if better:
        model.save(os.path.join(model_dir, "export"), include_optimizer=False)
""",
        # include_optimizer=False on a final serving export.
        """
import keras
model = keras.models.load_model("ckpt.keras")
model.fit(x, y)
model.save("final.h5", include_optimizer=False)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam()
for epoch in range(10):
    for x, y in data:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x) - y)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    model.save_weights("ckpt.weights.h5")
""",
            lines=(11,),
        ),
        # A spaced call is a call: `.save (...)` is no `.save(` to a plain word search.
        Invalid(
            """
import keras
class Snapshot(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.save (f"snap-{epoch}.h5", include_optimizer=False)
""",
            lines=(5,),
        ),
        # A training callback that saves without the optimizer.
        Invalid(
            """
import keras
class Snapshot(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.save(f"snap-{epoch}.h5", include_optimizer=False)
""",
            lines=(5,),
        ),
        # Exported in the training loop: an export cannot be resumed from.
        Invalid(
            """
import keras
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
for epoch in range(3):
    model.fit(x, y, epochs=1)
    model.export(f"ckpt/{epoch}")
""",
            lines=(7,),
        ),
        # Loaded back and trained by the same script: the save is the resume point.
        Invalid(
            """
import os
import tensorflow as tf
CKPT = "run/model.keras"
model = tf.keras.models.load_model(CKPT) if os.path.exists(CKPT) else build()
opt = tf.keras.optimizers.Adam()
with tf.GradientTape() as tape:
    loss = tf.reduce_mean(model(x))
opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
model.save(CKPT)
""",
            lines=(10,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        resumed_from = self._resumed_paths(module)
        for call in module.calls:
            model_key = self._saved_model(module, call)
            if model_key is None:
                continue
            is_checkpoint = (
                module.in_training_loop(call)
                or module.is_callback_method(call.scope)
                or (resumed_from and _path_identity(module, call) in resumed_from)
            )
            if not is_checkpoint or self._checkpointed_elsewhere(module, model_key):
                continue
            reason = self._reason(module, call, model_key)
            if reason:
                yield Diagnostic(call.node, reason)

    @staticmethod
    def _saved_model(module: ModuleModel, call: Call):
        if call.method in _SAVE_METHODS and call.receiver is not None and Role.MODEL in module.roles(call.receiver):
            return call.receiver
        if call.method in _SAVE_METHODS and _is_self_model(call.receiver_expr) and module.is_callback_method(call.scope):
            return ("callback", "self.model")
        if call.callee in _SAVE_FUNCTIONS:
            target = call.arg(0, "model") if call.callee.startswith("keras") else call.arg(0, "obj")
            key = module.key_of(target, call.scope) if target is not None else None
            if key is not None and Role.MODEL in module.roles(key):
                return key
        return None

    @staticmethod
    def _checkpointed_elsewhere(module: ModuleModel, model_key) -> bool:
        """A written tf.train.Checkpoint holds this model: that is the resume point, and a `model.save`
        beside it (best-model export, serving copy) is not a training checkpoint."""
        return any(
            any(ref.key == model_key and ref.attr is None for ref in fact.all_items.values())
            and module.checkpoint_writes(fact)
            for fact in module.checkpoints
        )

    @staticmethod
    def _resumed_paths(module: ModuleModel) -> set:
        """Paths this module loads a model from and then keeps training: saving to one of them writes
        the resume point (a final export elsewhere does not)."""
        loads = [c for c in module.calls if c.callee in _LOADS or c.method == "load_weights"]
        trains = [c.order for c in module.calls if c.method in ("fit", "train_on_batch", "apply_gradients", "minimize")]
        return {
            _path_identity(module, load) for load in loads
            if any(order > load.order for order in trains)
        } - {None}

    @staticmethod
    def _reason(module: ModuleModel, call: Call, model_key) -> str | None:
        what = f"`{call.method or call.callee}`"
        include = call.kwarg("include_optimizer")
        path = module.string_value(call.arg(1 if call.method is None else 0, "filepath"), call.scope)
        if isinstance(include, cst.Name) and include.value == "False" and not (path or "").endswith(".keras"):
            return f"{what} with `include_optimizer=False` writes a training checkpoint without the optimizer: a resume restarts its slots, iteration count and learning-rate schedule"
        if call.method == "export":
            return "`model.export` writes an inference-only artifact: training cannot resume from it (no optimizer, no iteration count); checkpoint with `tf.train.Checkpoint(model=..., optimizer=...)`"
        if model_key[0] == "callback":
            return None
        trainers = [
            ref for ref, evidence in module.optimizer_refs_training(model_key)
            if evidence.method != "compile" and ref.key is not None
        ]
        unattached = [ref for ref in trainers if not module.is_compiled_with(model_key, ref.key)]
        if unattached:
            name = module.name_of(unattached[0].key)
            return (f"{what} saves the model without `{name}`, the optimizer that trains it in a custom loop "
                    f"(the model was never compiled with it): a resume restarts its slots, iteration count and "
                    f"learning-rate schedule; save a `tf.train.Checkpoint(model=..., optimizer={name})` instead")
        return None


def _path_identity(module: ModuleModel, call: Call):
    """What a save/load call's path is, so a save can be matched with the load that resumes from it:
    its string value when known, else the source of the expression (through a name bound once)."""
    expr = call.arg(1, "filepath") if call.callee in _SAVE_FUNCTIONS else call.arg(0, "filepath")
    if expr is None:
        expr = call.kwarg("export_dir") or call.kwarg("path")
    if expr is None:
        return None
    value = module.string_value(expr, call.scope)
    if value is not None:
        return value
    key = module.key_of(expr, call.scope)
    if key is not None and key in module.bindings:
        assignments = module.bindings[key].assignments
        if len(assignments) == 1 and assignments[0].value is not None:
            expr = assignments[0].value
    return module.module.code_for_node(expr)


def _is_self_model(expr) -> bool:
    return (
        isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name)
        and expr.value.value == "self" and expr.attr.value == "model"
    )
