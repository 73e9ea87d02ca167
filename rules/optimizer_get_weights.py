"""CKPT401 optimizer-get-weights."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Call, Key, ModuleModel, ObjKind, Role
from ckptlint.model import dotted_name
from ckptlint.model.vocabulary import OPTIMIZER_METHODS
from ckptlint.model.vocabulary import is_optimizer_constructor
from ckptlint.lint.rule import Diagnostic, Invalid, Rule

# Calls on an optimizer (or on a model compiled with it) that create its variables.
_BUILDS = frozenset({"build", "apply_gradients", "minimize", "_create_all_weights", "load_own_variables"})
_TRAINS = frozenset({"fit", "train_on_batch", "fit_generator"})

# The prefilter. An optimizer constructor's canonical name (ckptlint.model.vocabulary) comes from a path with
# `optimizers` in it, or names a class ending in `Optimizer` (`LossScaleOptimizer`, TF1's
# `AdamOptimizer`): in the call or in the import its alias comes from.
_CONSTRUCTOR_WORDS = ("optimizers", "Optimizer")
# The optimizer role (ckptlint.model.module) comes from a constructor, from `apply_gradients`/`minimize`
# called on the binding, or from `model.optimizer`, through assignments and local functions' returns
# ("optimizer" is in "optimizers").
_OPTIMIZER_ROLE_WORDS = ("optimizer", "Optimizer", *sorted(OPTIMIZER_METHODS))


class OptimizerGetWeights(Rule):
    """
    ## What it does
    Finds `optimizer.get_weights()` on a Keras optimizer, and `optimizer.set_weights(...)` on an
    optimizer created in the same function and not yet built (no `build`, `apply_gradients`,
    `minimize` or training step before it).

    ## Why is this bad?
    Keras 3 optimizers (and the TF ≥ 2.11 `tf.keras` optimizers) have no `get_weights()`. Measured on
    TF 2.21 + Keras 3.15 (`docs/framework.md#optimizer-get_weights-and-set_weights`): `Adam().get_weights()` raises
    `AttributeError: 'Adam' object has no attribute 'get_weights'`, and `set_weights()` on an optimizer
    that has not been built raises `ValueError: You are calling set_weights() on an optimizer that has
    not yet been built`. Code that saves or restores optimizer state by hand this way crashes at the
    checkpoint — usually after the first epoch (keras-team/keras#16983, tensorflow/tensorflow#58801,
    nadavbra/protein_bert#46). The legacy optimizers (`tf.keras.optimizers.legacy`, `tf.compat.v1.train`)
    and `model.get_weights()` are not affected and are not flagged. Where the project declares no
    Keras generation (no `keras-version`, no pins), only an optimizer this module builds from a Keras 3
    class (directly or through `model.compile`) is flagged: measured on real code, an optimizer from
    elsewhere was a legacy one often enough to make the finding a guess. Keras 2 code is not checked.

    ## Use instead
    ```python
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    ckpt.save("ckpts/ckpt")
    # or read the values: [v.numpy() for v in optimizer.variables]; to set them, build first:
    optimizer.build(model.trainable_variables)
    ```

    ## References
    - `docs/framework.md#optimizer-get_weights-and-set_weights`
    - keras-team/keras#16983, tensorflow/tensorflow#58801
    """

    code = "CKPT401"
    name = "optimizer-get-weights"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "`optimizer.get_weights()` does not exist on Keras 3 optimizers; `set_weights` needs a built optimizer."
    # `.get_weights(` is flagged on a receiver with the optimizer role, so a word that role comes from
    # must be there (`x.optimizer` has one); `.set_weights(` only on an optimizer constructed in the same
    # function, so a constructor's word must be.
    api_words = (*((".get_weights(", word) for word in _OPTIMIZER_ROLE_WORDS),
                 *((".set_weights(", word) for word in _CONSTRUCTOR_WORDS))

    VALID = [
        # model.get_weights() is fine; optimizer.variables is the Keras 3 way.
        """
import keras
model = keras.Sequential([keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam()
model.compile(optimizer=optimizer, loss="mse")
weights = model.get_weights()
state = [v.numpy() for v in optimizer.variables]
model.set_weights(weights)
""",
        # Legacy and TF1 optimizers keep get_weights.
        """
import tensorflow as tf
opt = tf.keras.optimizers.legacy.Adam()
old = tf.compat.v1.train.AdamOptimizer(0.1)
w = opt.get_weights()
v = old.get_weights()
""",
        # set_weights on a built optimizer.
        """
import keras
def restore_optimizer(model, values):
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    optimizer.set_weights(values)
    return optimizer
""",
    ]
    INVALID = [
        # An optimizer that comes back from a factory.
        Invalid(
            """
import tensorflow as tf
def make_optimizer(lr):
    return tf.keras.optimizers.Adam(lr)
optimizer = make_optimizer(1e-3)
state = optimizer.get_weights()
""",
            lines=(6,),
        ),
        Invalid(
            """
import numpy as np
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.Adam(), loss="mse")
model.fit(x, y)
np.save("opt.npy", np.array(model.optimizer.get_weights(), dtype=object))
""",
            lines=(7,),
        ),
        Invalid(
            """
import keras
class Trainer:
    def __init__(self, model):
        self.model = model
        self.opt = keras.optimizers.Adam(1e-3)
    def state(self):
        return {"opt": self.opt.get_weights()}
def resume(values):
    optimizer = keras.optimizers.SGD(momentum=0.9)
    optimizer.set_weights(values)
""",
            lines=(8, 11),
        ),
        # Known to be an optimizer only from `apply_gradients`: no word "optimizer" in the module.
        Invalid(
            """
import tensorflow as tf
def train_step(model, opt, x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return opt.get_weights()
""",
            lines=(8,),
            keras=3,  # an optimizer from a caller: flagged where the project declares Keras 3
        ),
        # An aliased module: "optimizers" is only in the import.
        Invalid(
            """
import keras.optimizers as ko
def resume(values):
    opt = ko.SGD(momentum=0.9)
    opt.set_weights(values)
""",
            lines=(5,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        generation = module.keras_generation()
        if generation == 2:
            return  # Keras 2 code: its legacy optimizers (and tf_keras' own classes) have these methods
        for call in module.calls:
            if call.method not in ("get_weights", "set_weights") or call.receiver_expr is None:
                continue
            if not self._is_keras_optimizer(module, call):
                continue
            if generation is None and not _constructed_here(module, call):
                # No declared generation: only an optimizer this code builds from a Keras 3 class is known
                # to lack the method; one from elsewhere (`model.optimizer`) may be a legacy one.
                continue
            if call.method == "get_weights":
                yield Diagnostic(
                    call.node,
                    "Keras 3 optimizers have no `get_weights()`: this raises AttributeError at the checkpoint; "
                    "save the optimizer with `tf.train.Checkpoint(optimizer=...)` or read `optimizer.variables`",
                )
            elif call.receiver is not None and self._unbuilt_local(module, call, call.receiver):
                yield Diagnostic(
                    call.node,
                    "`set_weights()` on an optimizer that is not built yet raises ValueError on Keras 3; "
                    "call `optimizer.build(model.trainable_variables)` first, or restore it with `tf.train.Checkpoint`",
                )

    @staticmethod
    def _is_keras_optimizer(module: ModuleModel, call: Call) -> bool:
        expr = call.receiver_expr
        if call.receiver is not None:
            binding = module.bindings.get(call.receiver)
            if binding is None or Role.OPTIMIZER not in binding.roles:
                return False
            if any(_legacy(module, a.value) for a in binding.assignments if a.value is not None):
                return False
            # Wherever it was made (a factory here or in another module): a legacy or TF1 optimizer
            # there still has get_weights.
            return not any(_legacy(module, obj.node) or (obj.described or {}).get("legacy")
                           for obj in module.objects(expr, call.scope, call.order))
        if isinstance(expr, cst.Attribute) and expr.attr.value == "optimizer":
            if Role.OPTIMIZER in module.roles_of_expr(expr, call.scope):
                return True
            owner = expr.value  # `self.model.optimizer` in a Keras callback
            return (module.is_callback_method(call.scope) and isinstance(owner, cst.Attribute)
                    and dotted_name(owner) == "self.model")
        return False

    @staticmethod
    def _unbuilt_local(module: ModuleModel, call: Call, key: Key) -> bool:
        """Constructed in the function that calls set_weights, with nothing before that builds it."""
        function = call.function
        binding = module.bindings[key]
        constructed = [
            a for a in binding.assignments
            if a.value is not None and a.scope is function and a.order < call.order
            and isinstance(a.value, cst.Call) and is_optimizer_constructor(module.qualify(a.value.func) or "")
        ]
        if not constructed or function is None:
            return False
        since = constructed[-1].order
        compiled_into = {
            c.receiver for c in module.method_calls(("compile",))
            if (given := c.arg(0, "optimizer")) is not None and module.key_of(given, c.scope) == key
        }
        for other in module.calls:
            if not (since < other.order < call.order):
                continue
            if other.receiver == key and other.method in _BUILDS:
                return False
            if other.method in _TRAINS and other.receiver in compiled_into:
                return False
        return True


def _constructed_here(module: ModuleModel, call: Call) -> bool:
    """Every object the receiver may hold is an optimizer constructed from a Keras 3 class, in this module
    or by a factory of another module of the project (not a legacy one)."""
    objects: set = set()
    for obj in module.objects(call.receiver_expr, call.scope, call.order):
        if obj.kind is ObjKind.DERIVED and obj.attr == "optimizer" and obj.owner is not None:
            # `model.optimizer` of a model this module compiles: the optimizer given to compile()
            given = [t.optimizers for t in module.trainings_of(frozenset({obj.owner})) if t.compiled]
            if not given or not all(given):
                return False
            objects.update(*given)
        else:
            objects.add(obj)
    return bool(objects) and all(
        Role.OPTIMIZER in obj.built and (
            (obj.kind is ObjKind.CONSTRUCTED and not _legacy(module, obj.node))
            # built by a factory of another project module, whose summary says what it constructs
            or (obj.kind is ObjKind.IMPORTED and not (obj.described or {}).get("legacy")))
        for obj in objects)


def _legacy(module: ModuleModel, value: cst.CSTNode) -> bool:
    """Built by a legacy (`keras.optimizers.legacy.*`) or TF1 (`tf.compat.v1.train.*`) optimizer class."""
    if not isinstance(value, cst.Call):
        return False
    full = module.import_path(value.func) or dotted_name(value.func) or ""
    canonical = module.qualify(value.func) or ""
    return ".legacy." in f".{full}." or canonical.startswith("tf.compat.v1.") or "compat.v1" in full
