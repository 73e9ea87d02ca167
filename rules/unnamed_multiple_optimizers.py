"""CKPT301 unnamed-multiple-optimizers."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ckptlint.findings import Severity
from ckptlint.model import Call, ModuleModel
from ckptlint.model.names import is_optimizer_constructor
from ckptlint.rule import Diagnostic, Invalid, Rule


class UnnamedMultipleOptimizers(Rule):
    """
    ## What it does
    Finds two or more optimizers constructed in one scope (a module, a function, or a class and its
    methods) without an explicit `name=`, or with the same name.

    ## Why is this bad?
    Honestly: on Keras 3 this alone does not lose state in `tf.train.Checkpoint` or `.keras` files.
    Those key optimizers by attribute (`generator_optimizer=`, `optimizer`), and even two optimizers with
    an identical `name=` round-trip correctly (measured on TF 2.21 + Keras 3.15, tf-facts.md answer d).
    What it breaks is everything keyed by *name*: Keras 3 gives unnamed optimizers names from a
    process-global counter (`adam`, `adam_1`, ...), so the name of "the discriminator's optimizer"
    depends on how many optimizers this process built before it — a different order in the resuming
    script, a notebook cell run twice, or a test that builds a model first swaps the names. Name-keyed
    tooling (TensorBoard scalars, custom save code that maps `opt.name` to files, the Keras 2 `.h5`
    format, where two optimizers collided: tensorflow/tensorflow#40256, "Unable to create link (name
    already exists)") then mixes the two optimizers' state up silently.

    ## Example
    ```python
    generator_optimizer = keras.optimizers.Adam(1e-4)
    discriminator_optimizer = keras.optimizers.Adam(1e-4)
    ```

    ## Use instead
    ```python
    generator_optimizer = keras.optimizers.Adam(1e-4, name="generator_adam")
    discriminator_optimizer = keras.optimizers.Adam(1e-4, name="discriminator_adam")
    ```

    ## References
    - tf-facts.md answer d; failure-modes.md #17
    - tensorflow/tensorflow#40256, eriklindernoren/Keras-GAN#128
    """

    code = "CKPT301"
    name = "unnamed-multiple-optimizers"
    severity = Severity.WARNING
    summary = "Two or more optimizers in one scope without distinct explicit names."
    api_words = ("optimizers", "Adam", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
                 "Lion", "Adafactor", "Lamb", "Muon")

    VALID = [
        """
import keras
g_opt = keras.optimizers.Adam(1e-4, name="generator_adam")
d_opt = keras.optimizers.Adam(1e-4, name="discriminator_adam")
""",
        # One optimizer per function is fine.
        """
import tensorflow as tf
def make_a():
    return tf.keras.optimizers.Adam()
def make_b():
    return tf.keras.optimizers.SGD()
""",
        # TF1 optimizers are out of scope; a LossScaleOptimizer wraps one, it is not a second.
        """
import tensorflow as tf
a = tf.compat.v1.train.AdamOptimizer()
b = tf.compat.v1.train.AdamOptimizer()
opt = tf.keras.mixed_precision.LossScaleOptimizer(tf.keras.optimizers.Adam(name="adam"))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
generator_optimizer = tf.keras.optimizers.Adam(1e-4)
discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)
""",
            lines=(3, 4),
        ),
        # Attributes of one class count as one scope, across methods; equal names count as unnamed.
        Invalid(
            """
from keras.optimizers import Adam, RMSprop
class GAN:
    def __init__(self):
        self.g_opt = Adam(name="opt")
    def build(self):
        self.d_opt = RMSprop(name="opt")
""",
            lines=(7,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        groups: dict[int, tuple[str, list[Call]]] = {}
        for call in module.calls:
            if not (call.callee and is_optimizer_constructor(call.callee)) or call.callee.startswith("tf.compat.v1"):
                continue
            if call.callee.endswith((".get", ".LossScaleOptimizer", ".Optimizer")):
                continue
            scope = call.scope
            cls = scope.enclosing_class() if any(k[1].startswith("self.") for k in call.assigned_to) else None
            owner = cls or scope
            label = f"class `{owner.name}`" if owner.kind == "class" else (
                "the module" if owner.kind == "module" else f"`{owner.qualname}()`")
            groups.setdefault(id(owner), (label, []))[1].append(call)
        for label, calls in groups.values():
            if len(calls) < 2:
                continue
            seen_names: set[str] = set()
            for call in calls:
                name = _literal_name(call)
                if name is not None and name not in seen_names:
                    seen_names.add(name)
                    continue
                if name is None and call.kwarg("name") is not None:
                    continue  # a computed name: assume the author made it unique
                problem = "without `name=`" if name is None else f"with the same name {name!r} as another"
                yield Diagnostic(
                    call.node,
                    f"{len(calls)} optimizers are constructed in {label}; this one {problem}: Keras 3 names "
                    f"unnamed optimizers from a process-global counter ('adam', 'adam_1', ...), so name-keyed "
                    f"state and logs depend on construction order; pass a distinct `name=`",
                )


def _literal_name(call: Call) -> str | None:
    value = call.kwarg("name")
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    return None
