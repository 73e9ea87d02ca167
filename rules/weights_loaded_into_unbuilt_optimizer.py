"""CKPT205 weights-loaded-into-unbuilt-optimizer."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Call, ModuleModel, Role
from ckptlint.model.vocabulary import KERAS_TRAINING_METHODS as TRAIN_METHODS
from ckptlint.model.loading import exclusive, resume_evidence
from ckptlint.model.restores import trained_after
from ckptlint.model.paths import file_kind
from ckptlint.lint.fix.edits import insert_before, statement_of
from ckptlint.lint.rule import Diagnostic, Fix, Invalid, FixSafety, Rule


class WeightsLoadedIntoUnbuiltOptimizer(Rule):
    """
    ## What it does
    Finds `model.load_weights("....weights.h5")` that resumes training (the same script writes that file
    with `save_weights` or a weights-only `ModelCheckpoint`, or continues with `initial_epoch=`) on a
    compiled model whose optimizer has not been built when the weights are loaded: no
    `model.optimizer.build(model.trainable_variables)` and no training step between `compile()` and
    `load_weights`, or `compile()` only after `load_weights`.

    ## Why is this bad?
    A Keras 3 `.weights.h5` file holds the optimizer's variables too, but Keras loads them only into an
    optimizer that already has the same variables. A freshly compiled optimizer has none yet, so Keras
    skips them with a `UserWarning: Skipping variable loading for optimizer 'adam', because it has 2
    variables whereas the saved optimizer has 10 variables` (measured for Dense(8)->Dense(1) + Adam) and
    training continues with fresh moments,
    `iterations = 0` and a restarted learning-rate schedule. Measured on TF 2.21 + Keras 3.15
    (`docs/framework.md#weights-files`): `iterations` is 0 after such a load, as saved when the optimizer was built
    first; loading before `compile()` loses it as well (keras-team/keras#20128,
    bayesflow-org/bayesflow#506, keras-team/keras#19389). Loading pretrained weights to fine-tune is not
    a resume and is not flagged.

    ## Use instead
    ```python
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    model.load_weights("ckpt/last.weights.h5")
    model.fit(x, y, initial_epoch=5, epochs=10)
    ```
    or save and load the whole model (`.keras`), which builds the optimizer before loading it.

    ## Fix safety
    Safe. When the model is compiled before the `load_weights` call, the fix inserts
    `model.optimizer.build(model.trainable_variables)` on the line before it (same block, comments
    above it kept above), so Keras has variables to load the saved optimizer state into. Building
    creates the variables that the first training step would create anyway. `load_weights` before
    `compile()` gets no fix: there is no optimizer to build yet; move the `compile()` up first.

    ## References
    - `docs/framework.md#weights-files`, `docs/framework.md#modelcheckpoint`
    - keras-team/keras#20128, bayesflow-org/bayesflow#506; keras `base_optimizer.load_own_variables`
    """

    code = "CKPT205"
    name = "weights-loaded-into-unbuilt-optimizer"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    keras = 3  # Keras 2 code is left alone: the measured behaviour is Keras 3's
    summary = "`load_weights` of a .weights.h5 into a compiled model whose optimizer is not built: its state is skipped."
    fix_safety = FixSafety.SAFE
    api_words = ("load_weights",)

    VALID = [
        # The optimizer is built first: its state is loaded.
        """
import keras
PATH = "ckpt/last.weights.h5"
model = build_model()
model.compile(optimizer="adam", loss="mse")
model.optimizer.build(model.trainable_variables)
model.load_weights(PATH)
model.fit(x, y, epochs=10)
model.save_weights(PATH)
""",
        # Pretrained weights for fine-tuning: not a resume.
        """
import keras
model = build_model()
model.load_weights("imagenet.weights.h5")
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
model.fit(x, y, epochs=3)
model.save_weights("finetuned.weights.h5")
""",
        # Trained before the load: the optimizer is built.
        """
import keras
model = build_model()
model.compile(optimizer="adam", loss="mse")
model.train_on_batch(x[:1], y[:1])
model.load_weights("run/w.weights.h5")
model.fit(x, y, initial_epoch=3, epochs=10)
""",
        # A TF-format checkpoint prefix, not a .weights.h5 file.
        """
import tensorflow as tf
model = build_model()
model.compile(optimizer="adam", loss="mse")
model.load_weights("run/ckpt")
model.fit(x, y, initial_epoch=3, epochs=10)
model.save_weights("run/ckpt")
""",
    ]
    INVALID = [
        # The Keras save-and-load tutorial's layout: compile() inside the model factory.
        Invalid(
            """
import tensorflow as tf
def create_model():
    model = tf.keras.Sequential([tf.keras.layers.Dense(512, activation="relu"), tf.keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
checkpoint_path = "training_1/cp.weights.h5"
cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True)
model = create_model()
model.fit(train_images, train_labels, epochs=10, callbacks=[cp_callback])
model = create_model()
model.load_weights(checkpoint_path)
model.fit(train_images, train_labels, epochs=5, callbacks=[cp_callback])
""",
            lines=(12,),
        ),
        Invalid(
            """
import keras
PATH = "ckpt/last.weights.h5"
model = build_model()
model.compile(optimizer="adam", loss="mse")
model.load_weights(PATH)
model.fit(x, y, epochs=10, callbacks=[keras.callbacks.ModelCheckpoint(PATH, save_weights_only=True)])
""",
            lines=(6,),
        ),
        # Loaded before compile: nothing to load the optimizer state into.
        Invalid(
            """
import os
import tensorflow as tf
def resume(model, directory, epoch):
    model.load_weights(os.path.join(directory, "model.weights.h5"))
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, initial_epoch=epoch, epochs=epoch + 5)
""",
            lines=(5,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        for call in module.calls:
            if call.method != "load_weights" or call.receiver_expr is None:
                continue
            path = call.arg(0, "filepath")
            if file_kind(module, path, call.scope) != "weights.h5":
                continue
            models = frozenset(obj for obj in module.objects(call.receiver_expr, call.scope, call.order)
                               if Role.MODEL in obj.roles)
            if not models:
                continue
            compiles = [t.call for t in module.training()
                        if t.compiled and t.models & models and not exclusive(module, t.call.node, call.node)]
            # Compiled by the factory that built it (here or in another module): before the load.
            factory = [c for c in compiles if c.function is not call.function or c.scope is not call.scope]
            compiled_elsewhere = bool(factory) or any(obj.compiled for obj in models)
            before = [c for c in compiles if c.order < call.order and c not in factory]
            if not compiles and not compiled_elsewhere:
                continue
            start = before[-1].order if before else _function_start(module, call)
            if (before or compiled_elsewhere) and _built_between(module, models, start, call.order):
                continue
            if trained_after(module, call, models) is None:
                continue
            evidence = resume_evidence(module, call, call.receiver, path) if call.receiver is not None else None
            if evidence is None:
                continue
            if before or compiled_elsewhere:
                message = ("`load_weights` into a compiled model whose optimizer is not built yet: Keras skips the "
                           "optimizer state in the file with only a UserWarning, so training resumes with fresh "
                           "moments and `iterations = 0`")
                where = before[-1] if before else (factory[0] if factory else None)
                related: list[tuple[cst.CSTNode, str]] = (
                    [(where.node, "compiled here; the optimizer has no variables yet")] if where else [])
            else:
                message = ("`load_weights` before `compile()`: the optimizer state in the file has nothing to load "
                           "into and is dropped, so training resumes with fresh moments and `iterations = 0`")
                related = [(compiles[0].node, "the optimizer is created only here")]
            yield Diagnostic(
                call.node,
                f"{message} ({evidence}); call `model.optimizer.build(model.trainable_variables)` after "
                f"`compile()` and before `load_weights`",
                related=related,
                fix=_build_before_load_fix(module, call) if (before or compiled_elsewhere) else None,
            )


def _function_start(module: ModuleModel, call: Call) -> int:
    """Where the loading model was made: the last assignment of the receiver before the load (a fresh
    model from the factory), else the start of the function holding the load."""
    binding = module.bindings.get(call.receiver) if call.receiver is not None else None
    if binding is not None:
        before = [a.order for a in binding.assignments if a.order < call.order and a.scope is call.scope]
        if before:
            return max(before)
    orders = [c.order for c in module.calls if c.function is call.function]
    return min(orders) - 1 if orders else 0


def _built_between(module: ModuleModel, models: frozenset, start: int, end: int) -> bool:
    """The models' optimizer is built between two points: `model.optimizer.build(...)`, a build of an
    optimizer, or a training step on the model."""
    for call in module.calls:
        if not (start < call.order < end) or call.receiver_expr is None:
            continue
        receivers = module.objects(call.receiver_expr, call.scope, call.order)
        if call.method in TRAIN_METHODS and receivers & models:
            return True
        if call.method == "build" and (_is_optimizer_of(module, call, models) or
                                       any(Role.OPTIMIZER in obj.roles for obj in receivers)):
            return True
    return False


def _is_optimizer_of(module: ModuleModel, call: Call, models: frozenset) -> bool:
    expr = call.receiver_expr
    if isinstance(expr, cst.Attribute) and expr.attr.value == "optimizer":
        return bool(module.objects(expr.value, call.scope, call.order) & models)
    return False


def _build_before_load_fix(module: ModuleModel, call: Call) -> Fix | None:
    """Insert `model.optimizer.build(model.trainable_variables)` before the `load_weights` statement."""
    if call.receiver_expr is None:
        return None
    statement = statement_of(module.module, call.node)
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    model = cst.Module([]).code_for_node(call.receiver_expr)
    build = cst.parse_statement(f"{model}.optimizer.build({model}.trainable_variables)\n")
    return Fix(statement, insert_before(statement, [build]), safe=True,
               description="build the optimizer before loading the weights")
