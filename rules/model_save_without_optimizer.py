"""CKPT102 model-save-without-optimizer."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Call, ModuleModel, ObjKind, Role
from ckptlint.model.restores import trained_after
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
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "A model artifact used as the training checkpoint leaves out the optimizer that trains the model."
    # A save or export AND what makes it a training checkpoint: training in the module, a callback,
    # or a load it resumes from.
    # A custom loop that calls a save method of its own (`save_checkpoint`) may save through a model class
    # of another module.
    api_words = tuple(
        (verb, context)
        for verb in (".save(", "save_weights", "save_model", ".export(")
        for context in (".fit(", "train_on_batch", "apply_gradients", "minimize", "Callback", "load_model",
                        "load_weights", "saved_model.load")
    ) + (("apply_gradients", "save_"), ("minimize", "save_"))

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
        # A serving export reloaded for inference; the model that fits later is another one.
        """
import tensorflow as tf
model = build_model()
model.compile(optimizer="adam", loss="mse")
for epoch in range(3):
    model.fit(x, y)
    tf.saved_model.save(model, "export/")
served = tf.saved_model.load("export/")
print(served.signatures["serving_default"](x))
other = build_model()
other.compile(optimizer="adam", loss="mse")
other.fit(x, y)
""",
        # An ensemble: each member is built, trained, then saved once it is done.
        """
import tensorflow as tf
for member in range(5):
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    optimizer = tf.keras.optimizers.Adam()
    for x, y in data:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x) - y)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    model.save_weights(f"member_{member}.weights.h5")
""",
        # The model and its optimizer come from a helper that may have compiled them together.
        """
def train(model, optimizer, data, epochs):
    for epoch in range(epochs):
        for x, y in data:
            optimizer.minimize(lambda: loss_fn(model(x), y), model.trainable_variables)
        model.save(f"ckpt-{epoch}.keras")
""",
    ]
    INVALID = [
        # A custom loop whose optimizer the saved weights do not carry.
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
        # The absl layout: a train step nested in main, the epoch loop in main, a save in that loop.
        Invalid(
            """
import tensorflow as tf
def main(argv):
    model = tf.keras.Sequential([tf.keras.layers.Dense(10)])
    optimizer = tf.keras.optimizers.Adam()

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    for epoch in range(10):
        for x, y in dataset:
            train_step(x, y)
        model.save_weights(f"ckpt/epoch_{epoch}.weights.h5")
""",
            lines=(16,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        resumed_from = self._resumed_paths(module)
        for call in module.calls:
            saved = self._saved_model(module, call)
            if saved is None:
                continue
            model_key, models = saved
            in_loop = module.in_training_loop(call) and not self._fresh_each_iteration(module, call, models)
            is_checkpoint = (
                in_loop
                or module.is_callback_method(call.scope)
                or (resumed_from and _path_identity(module, call) in resumed_from)
            )
            if not is_checkpoint or self._checkpointed_elsewhere(module, models):
                continue
            reason = self._reason(module, call, model_key, models)
            if reason:
                yield Diagnostic(call.node, reason)
        yield from self._through_methods_of_other_modules(module, resumed_from)

    def _through_methods_of_other_modules(self, module: ModuleModel, resumed_from: set) -> Iterator[Diagnostic]:
        """`model.save_checkpoint(path)` where the model's class (another module) saves only its weights
        there, called as the training checkpoint (in the training loop) of a model an optimizer trains."""
        for call in module.calls:
            if call.receiver_expr is None or call.method in _SAVE_METHODS:
                continue
            entry = module.imported_call(call)
            if not entry or not entry.get("saves_weights_only"):
                continue
            models = frozenset(obj for obj in module.objects(call.receiver_expr, call.scope, call.order)
                               if Role.MODEL in obj.roles)
            if not models or not module.in_training_loop(call) or self._checkpointed_elsewhere(module, models):
                continue
            trainers = [t for t in module.trainings_of(models) if not t.compiled and t.optimizers]
            if not trainers:
                continue
            name = module.code_of(trainers[0].optimizer_expr)
            yield Diagnostic(
                call.node,
                f"`{module.code_of(call.node.func)}` saves only the model's weights (its class does so in its "
                f"own module), and it is the checkpoint of a training loop where `{name}` trains the model: a "
                f"resume restarts the optimizer's slots, iteration count and learning-rate schedule; save a "
                f"`tf.train.Checkpoint(model=..., optimizer={name})` instead",
                related=[(trainers[0].call.node, f"`{name}` trains the model here")],
            )

    @staticmethod
    def _saved_model(module: ModuleModel, call: Call):
        """(a key or marker, the model objects) for a save of a model, else None."""
        if call.method in _SAVE_METHODS and call.receiver_expr is not None:
            if _is_self_model(call.receiver_expr) and module.is_callback_method(call.scope):
                return ("callback", "self.model"), frozenset()
            objects = module.objects(call.receiver_expr, call.scope, call.order)
            models = frozenset(obj for obj in objects if Role.MODEL in obj.roles)
            if models:
                return call.receiver, models
        if call.callee in _SAVE_FUNCTIONS:
            target = call.arg(0, "model") if call.callee.startswith("keras") else call.arg(0, "obj")
            if target is not None:
                models = frozenset(obj for obj in module.objects(target, call.scope, call.order)
                                   if Role.MODEL in obj.roles)
                if models:
                    return module.key_of(target, call.scope), models
        return None

    @staticmethod
    def _fresh_each_iteration(module: ModuleModel, call: Call, models: frozenset) -> bool:
        """An ensemble or a sweep: the loop builds a new model each iteration, trains it, and saves it
        when it is done; that save is the member's final result, not a checkpoint to resume from."""
        loops = set(map(id, call.loops))
        for obj in models:
            maker = module.call_at(obj.node) if obj.node is not None else None
            if maker is None or not loops & set(map(id, maker.loops)):
                return False
        return True

    @staticmethod
    def _checkpointed_elsewhere(module: ModuleModel, models: frozenset) -> bool:
        """A written tf.train.Checkpoint holds this model: that is the resume point, and a `model.save`
        beside it (best-model export, serving copy) is not a training checkpoint."""
        return any(fact.held_objects & models and module.checkpoint_writes(fact) for fact in module.checkpoints)

    @staticmethod
    def _resumed_paths(module: ModuleModel) -> set:
        """Paths this module loads a model from and then trains that very model: saving to one of them
        writes the resume point (a final export elsewhere, or an export reloaded for inference, does not)."""
        found = set()
        for load in module.calls:
            if load.callee in _LOADS:
                loaded = frozenset().union(*(module.objects_of(key) for key in load.assigned_to)) if load.assigned_to \
                    else module.objects(load.node, load.scope, load.order)
            elif load.method == "load_weights" and load.receiver_expr is not None:
                loaded = module.objects(load.receiver_expr, load.scope, load.order)
            else:
                continue
            if trained_after(module, load, loaded) is not None:
                found.add(_path_identity(module, load))
        return found - {None}

    @staticmethod
    def _reason(module: ModuleModel, call: Call, model_key, models: frozenset) -> str | None:
        what = f"`{call.method or call.callee}`"
        include = call.kwarg("include_optimizer")
        path = module.string_value(call.arg(1 if call.method is None else 0, "filepath"), call.scope)
        if isinstance(include, cst.Name) and include.value == "False" and not (path or "").endswith(".keras"):
            return f"{what} with `include_optimizer=False` writes a training checkpoint without the optimizer: a resume restarts its slots, iteration count and learning-rate schedule"
        if call.method == "export":
            return "`model.export` writes an inference-only artifact: training cannot resume from it (no optimizer, no iteration count); checkpoint with `tf.train.Checkpoint(model=..., optimizer=...)`"
        if model_key is not None and model_key[0] == "callback":
            return None
        trainings = module.trainings_of(models)
        compiled = [t for t in trainings if t.compiled]
        custom = [t for t in trainings if not t.compiled and t.optimizers]
        # An optimizer made where ckptlint cannot see (a parameter, `model.optimizer`, another module's
        # factory) may be the one the model was compiled with there: maybe compiled is not never compiled.
        unattached = [t for t in custom
                      if not any(c.optimizers & t.optimizers for c in compiled)
                      and not any(obj.kind in _UNSEEN_ORIGINS for obj in t.optimizers)]
        if unattached:
            name = module.code_of(unattached[0].optimizer_expr)
            return (f"{what} saves the model without `{name}`, the optimizer that trains it in a custom loop "
                    f"(the model was never compiled with it): a resume restarts its slots, iteration count and "
                    f"learning-rate schedule; save a `tf.train.Checkpoint(model=..., optimizer={name})` instead")
        return None


# Where a model's construction is not in this module: it may have been compiled there.
_UNSEEN_ORIGINS = (ObjKind.PARAMETER, ObjKind.EXTERNAL, ObjKind.IMPORTED, ObjKind.DERIVED)


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
