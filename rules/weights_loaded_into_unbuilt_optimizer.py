"""CKPT205 weights-loaded-into-unbuilt-optimizer."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Call, Key, ModuleModel, Role
from ckptlint.model.loading import (
    TRAIN_METHODS, exclusive, file_kind, imports_keras2, resume_evidence, trained_later,
)
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
        if imports_keras2(module):
            return
        for call in module.calls:
            if call.method != "load_weights" or call.receiver is None:
                continue
            path = call.arg(0, "filepath")
            if file_kind(module, path, call.scope) != "weights.h5":
                continue
            key = call.receiver
            compiles = [c for c in module.compiles_of(key) if not exclusive(module, c.node, call.node)]
            if not compiles:
                continue
            before = [c for c in compiles if c.order < call.order]
            if before and _built_between(module, key, before[-1].order, call.order):
                continue
            if not trained_later(module, key, call.order, call.scope):
                continue
            evidence = resume_evidence(module, call, key, path)
            if evidence is None:
                continue
            if before:
                message = ("`load_weights` into a compiled model whose optimizer is not built yet: Keras skips the "
                           "optimizer state in the file with only a UserWarning, so training resumes with fresh "
                           "moments and `iterations = 0`")
                related = [(before[-1].node, "compiled here; the optimizer has no variables yet")]
            else:
                message = ("`load_weights` before `compile()`: the optimizer state in the file has nothing to load "
                           "into and is dropped, so training resumes with fresh moments and `iterations = 0`")
                related = [(compiles[0].node, "the optimizer is created only here")]
            yield Diagnostic(
                call.node,
                f"{message} ({evidence}); call `model.optimizer.build(model.trainable_variables)` after "
                f"`compile()` and before `load_weights`",
                related=related,
                fix=_build_before_load_fix(module, call) if before else None,
            )


def _built_between(module: ModuleModel, model: Key, start: int, end: int) -> bool:
    """The model's optimizer is built between two points: `model.optimizer.build(...)`, a build of an
    optimizer binding, or a training step on the model."""
    for call in module.calls:
        if not (start < call.order < end):
            continue
        if call.receiver == model and call.method in TRAIN_METHODS:
            return True
        if call.method == "build" and _is_optimizer_of(module, call, model):
            return True
    return False


def _is_optimizer_of(module: ModuleModel, call: Call, model: Key) -> bool:
    expr = call.receiver_expr
    if isinstance(expr, cst.Attribute) and expr.attr.value == "optimizer":
        return module.key_of(expr.value, call.scope) == model
    return Role.OPTIMIZER in module.roles(call.receiver)


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
