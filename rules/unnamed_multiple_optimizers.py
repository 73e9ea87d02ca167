"""CKPT301 unnamed-multiple-optimizers."""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.lint.fix.edits import add_keyword_arg, string_literal, unique_identifier
from ckptlint.model import Call, ModuleModel, Role
from ckptlint.model.vocabulary import OPTIMIZER_CLASSES, is_optimizer_constructor
from ckptlint.lint.rule import Diagnostic, Fix, Invalid, FixSafety, Rule
from ckptlint.lint.prefilter import is_name_char, skip_to_call

# The classes whose construction counts (`_constructs_optimizer`): not the `Optimizer` base class nor
# `LossScaleOptimizer`, which wraps another optimizer.
_COUNTED_CLASSES = tuple(sorted(OPTIMIZER_CLASSES - {"Optimizer", "LossScaleOptimizer"}))
# Longest first, so that `AdamW` is read whole; no `\b`, which would make the search scan slowly: the
# ends of a match are checked by hand.
_COUNTED_CLASS = re.compile("|".join(sorted(_COUNTED_CLASSES, key=len, reverse=True)))
_NAME = re.compile(r"\w+")


class UnnamedMultipleOptimizers(Rule):
    """
    ## What it does
    Finds two or more optimizers constructed in one scope (a module, a function, or a class and its
    methods) without an explicit `name=`, or with the same name, in code where an optimizer's name is
    used as a key: `opt.name` in a dict key or subscript, a file path, a summary tag or a string kept
    for later; or a whole model saved to a legacy `.h5` file in Keras 2 code. Where names key nothing
    (optimizers held by `tf.train.Checkpoint` keys or by compiled models, independent models in one
    notebook, alternatives in branches), it stays quiet.

    ## Why is this bad?
    Honestly: on Keras 3 this alone does not lose state in `tf.train.Checkpoint` or `.keras` files.
    Those key optimizers by attribute (`generator_optimizer=`, `optimizer`), and even two optimizers with
    an identical `name=` round-trip correctly (measured on TF 2.21 + Keras 3.15, `docs/framework.md#optimizer-names`).
    What it breaks is everything keyed by *name*: Keras 3 gives unnamed optimizers names from a
    process-global counter (`adam`, `adam_1`, ...), so the name of "the discriminator's optimizer"
    depends on how many optimizers this process built before it — a different order in the resuming
    script, a notebook cell run twice, or a test that builds a model first swaps the names. Name-keyed
    tooling (TensorBoard scalars, custom save code that maps `opt.name` to files, the Keras 2 `.h5`
    format, where optimizer weights collided: keras-team/keras#12466, "Unable to create link (name
    already exists)") then mixes the two optimizers' state up silently.

    ## Use instead
    ```python
    generator_optimizer = keras.optimizers.Adam(1e-4, name="generator_adam")
    discriminator_optimizer = keras.optimizers.Adam(1e-4, name="discriminator_adam")
    ```

    ## Fix safety
    Safe. For an optimizer constructed without `name=` and assigned to a binding, the fix adds
    `name="<binding>"` (`self.generator_optimizer = Adam(1e-4)` -> `name="generator_optimizer"`),
    made unique among the optimizer names of the scope (`_2`, `_3`, ... when taken). Checkpoints and
    `.keras` files key optimizers by attribute, so they keep restoring; only the name-derived strings
    (`opt.name`, log tags) change, from counter-dependent to stable. An optimizer that is not assigned
    to a binding, or that repeats a name the author wrote, gets no fix: which name is meant is the
    author's call.

    ## References
    - `docs/framework.md#optimizer-names`
    - keras-team/keras#12466, tensorflow/tensorflow#27688, eriklindernoren/Keras-GAN#128
    """

    code = "CKPT301"
    name = "unnamed-multiple-optimizers"
    severity = Severity.WARNING
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "Two or more optimizers in one scope without distinct explicit names."
    fix_safety = FixSafety.SAFE
    # The word every construction needs (see `prefilter`, which counts the constructions).
    api_words = ("optimizers",)

    VALID = [
        # Distinct explicit names.
        """
import keras
g_opt = keras.optimizers.Adam(1e-4, name="generator_adam")
d_opt = keras.optimizers.Adam(1e-4, name="discriminator_adam")
opts = {opt.name: opt for opt in (g_opt, d_opt)}
""",
        # A GAN whose optimizers a Checkpoint keys by attribute: names are never used.
        """
import tensorflow as tf
generator_optimizer = tf.keras.optimizers.Adam(1e-4)
discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)
checkpoint = tf.train.Checkpoint(generator_optimizer=generator_optimizer,
                                 discriminator_optimizer=discriminator_optimizer,
                                 generator=generator, discriminator=discriminator)
checkpoint.save(file_prefix=prefix)
""",
        # A notebook that compiles several independent models.
        """
import keras
small.compile(optimizer=keras.optimizers.Adam(), loss="mse")
large.compile(optimizer=keras.optimizers.Adam(), loss="mse")
small.fit(x, y)
large.fit(x, y)
print("trained with", small.optimizer.name)
""",
        # One optimizer per function is fine.
        """
import tensorflow as tf
def make_a():
    return tf.keras.optimizers.Adam()
def make_b():
    return tf.keras.optimizers.SGD()
""",
        # Alternatives: only one branch runs (tf-models-official optimizer factories).
        """
import tf_keras
def build_optimizer(name, lr):
    if name == "sgd":
        optimizer = tf_keras.optimizers.legacy.SGD(lr)
    elif name == "adam":
        optimizer = tf_keras.optimizers.legacy.Adam(lr)
    return optimizer
def get_optimizer(lr, legacy=True):
    if legacy:
        return tf_keras.optimizers.legacy.SGD(lr, momentum=0.9)
    return tf_keras.optimizers.SGD(lr, momentum=0.9)
""",
        # TF1 optimizers are out of scope; a LossScaleOptimizer wraps one, it is not a second.
        """
import tensorflow as tf
a = tf.compat.v1.train.AdamOptimizer()
b = tf.compat.v1.train.AdamOptimizer()
opt = tf.keras.mixed_precision.LossScaleOptimizer(tf.keras.optimizers.Adam(name="adam"))
""",
        # A name only logged is not a key.
        """
import keras
g_opt = keras.optimizers.Adam(1e-4)
d_opt = keras.optimizers.Adam(1e-4)
print(f"optimizers: {g_opt.name}, {d_opt.name}")
""",
    ]
    INVALID = [
        # Optimizers looked up by name (the sample project's GAN): the names swap with construction order.
        Invalid(
            """
import tensorflow as tf
generator_optimizer = tf.keras.optimizers.Adam(1e-4)
discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)
state = {opt.name: opt.variables for opt in (generator_optimizer, discriminator_optimizer)}
""",
            lines=(3, 4),
            message="its name keys state here",
        ),
        # Per-optimizer files named after the optimizer.
        Invalid(
            """
import os
import keras
class GAN:
    def __init__(self):
        self.g_opt = keras.optimizers.Adam(name="opt")
    def build(self):
        self.d_opt = keras.optimizers.RMSprop(name="opt")
    def save(self, directory):
        for opt in (self.g_opt, self.d_opt):
            path = os.path.join(directory, f"{opt.name}.npz")
""",
            lines=(8,),
        ),
        # A summary tag per optimizer; the calls name an aliased class.
        Invalid(
            """
import tensorflow as tf
from keras.optimizers import Adam as A
generator_optimizer = A(1e-4)
discriminator_optimizer = A(1e-4)
def log(step):
    for opt in [generator_optimizer, discriminator_optimizer]:
        tf.summary.scalar(opt.name + "/lr", opt.learning_rate, step=step)
""",
            lines=(4, 5),
        ),
        # Keras 2: a legacy .h5 model file keys optimizer weights by the optimizer's name.
        Invalid(
            """
import tf_keras as keras
discriminator.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
combined.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
combined.save("gan.h5")
""",
            lines=(3, 4),
            message="legacy `.h5`",
        ),
    ]

    @classmethod
    def prefilter(cls, code: str) -> bool:
        """Two optimizer constructions, which are two calls whose callee's canonical name is
        `keras.optimizers.<class>`. That name comes from a path with `optimizers` in it (in the call or in
        an import), and each call names the class (`Adam(`, `ko.Adam (`) unless the class was imported
        under another name (`Adam as A`), whose calls cannot be counted from the text."""
        return "optimizers" in code and _optimizer_calls(code) >= 2

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        groups: dict[int, tuple[str, dict[object, list[Call]]]] = {}
        for call in module.calls:
            if not _constructs_optimizer(call):
                continue
            holder = _holder(module, call)
            if holder is None:
                continue  # passed to something other than compile: not an optimizer that trains
            owner = call.scope
            if any(key[1].startswith("self.") for key in call.assigned_to):
                owner = call.scope.enclosing_class() or owner
            label = f"class `{owner.name}`" if owner.kind == "class" else (
                "the module" if owner.kind == "module" else f"`{owner.qualname}()`")
            groups.setdefault(id(owner), (label, {}))[1].setdefault(holder, []).append(call)
        if not any(len(by_holder) >= 2 for _label, by_holder in groups.values()):
            return
        keyed = _name_keyed_uses(module)
        legacy_h5 = _legacy_h5_model_save(module)
        if not keyed and legacy_h5 is None:
            return  # names never reach a key: two optimizers alone lose nothing (see the page)
        for label, by_holder in groups.values():
            # Constructions bound to the same name, or returned, are alternatives (if/elif branches of a
            # factory): only one of them exists at run time.
            if len(by_holder) < 2:
                continue
            calls = [group[0] for group in by_holder.values()]
            made = frozenset(obj for call in calls for obj in module.objects(call.node, call.scope))
            evidence = next((node for node, objects in keyed if objects & made or not objects), None)
            if evidence is None:
                evidence = legacy_h5
            if evidence is None:
                continue
            how = ("its name keys state here" if evidence is not legacy_h5 else
                   "a legacy `.h5` model file keys optimizer state by name here")
            seen_names: set[str] = set()
            # Names a fix may not use: every literal name in the scope, then each name a fix gives.
            taken = {name for name in map(_literal_name, calls) if name is not None}
            for call in sorted(calls, key=lambda c: c.order):
                name = _literal_name(call)
                if name is not None and name not in seen_names:
                    seen_names.add(name)
                    continue
                if name is None and call.kwarg("name") is not None:
                    continue  # a computed name: assume the author made it unique
                problem = "without `name=`" if name is None else f"with the same name {name!r} as another"
                fix = _name_fix(call, taken) if name is None else None
                yield Diagnostic(
                    call.node,
                    f"{len(calls)} optimizers are constructed in {label}; this one {problem}, and {how}: "
                    f"Keras names unnamed optimizers from a process-global counter ('adam', 'adam_1', ...), "
                    f"so which optimizer's state a name finds depends on construction order; pass a "
                    f"distinct `name=`",
                    related=[(evidence, "the optimizer's name is used as a key here")],
                    fix=fix,
                )


# Calls whose arguments are messages, not keys: an optimizer's name there keys nothing.
_MESSAGE_CALLS = frozenset({"print", "info", "debug", "warning", "warn", "error", "exception", "log", "write",
                            "set_description", "set_postfix"})


def _name_keyed_uses(module: ModuleModel) -> list[tuple[cst.CSTNode, frozenset]]:
    """Each `opt.name` of an optimizer that reaches a key: a dict key or subscript, a file path or
    path join, a string built from it (f-string, `%`, `+`, `.format`) that is not a log message, or a
    summary's name. With the objects the optimizer may be (empty: any)."""
    found: list[tuple[cst.CSTNode, frozenset]] = []
    for node, scope in module.attribute_reads("name"):
        objects = module.objects(node.value, scope)
        if not any(Role.OPTIMIZER in obj.roles for obj in objects):
            continue
        if _keyed(module, node):
            found.append((node, frozenset(obj for obj in objects if Role.OPTIMIZER in obj.roles)))
    return found


def _keyed(module: ModuleModel, node: cst.CSTNode) -> bool:
    below: cst.CSTNode = node
    for parent in module.enclosing(node):
        if isinstance(parent, (cst.DictElement, cst.DictComp)) and getattr(parent, "key", None) is below:
            return True
        if isinstance(parent, cst.SubscriptElement):
            return True
        if isinstance(parent, cst.Call):
            callee = (module.qualify(parent.func) or "").rsplit(".", 1)[-1]
            method = parent.func.attr.value if isinstance(parent.func, cst.Attribute) else None
            if callee in _MESSAGE_CALLS or method in _MESSAGE_CALLS or (
                    isinstance(parent.func, cst.Name) and parent.func.value in _MESSAGE_CALLS):
                return False
            full = module.qualify(parent.func) or ""
            if full.startswith("tf.summary.") or full in ("os.path.join", "open") or method in ("join", "save", "save_weights", "format"):
                return True
        if isinstance(parent, (cst.FormattedString, cst.BinaryOperation)):
            below = parent
            continue
        if isinstance(parent, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return isinstance(below, (cst.FormattedString, cst.BinaryOperation)) and _stored(parent)
        below = parent
    return False


def _stored(statement: cst.CSTNode) -> bool:
    """A string built from a name and assigned (a path, a tag to use later), not printed."""
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)) for small in statement.body)


def _legacy_h5_model_save(module: ModuleModel) -> cst.CSTNode | None:
    """A whole model saved to a legacy `.h5` file in Keras 2 code, where optimizer weights are keyed by
    the optimizer's name (two optimizers with one name collide: tensorflow/tensorflow#40256)."""
    if module.keras_generation() != 2:
        return None
    for call in module.calls:
        if call.method != "save" or call.receiver_expr is None \
                or Role.MODEL not in module.roles_of_expr(call.receiver_expr, call.scope):
            continue
        fmt = module.string_value(call.kwarg("save_format"), call.scope)
        path = module.string_value(call.arg(0, "filepath"), call.scope) or ""
        if fmt == "h5" or path.endswith((".h5", ".hdf5")):
            return call.node
    return None


def _optimizer_calls(code: str) -> int:
    """How many calls in `code` name an optimizer class (at least; 2 as soon as a class is imported
    under another name)."""
    calls = 0
    for match in _COUNTED_CLASS.finditer(code):
        start, end = match.span()
        if is_name_char(code, start - 1) or is_name_char(code, end):
            continue  # part of another name: `AdamOptimizer`, `Lambda`
        after = skip_to_call(code, end)
        if code.startswith("(", after):
            calls += 1
        elif code.startswith("as", after) and not is_name_char(code, after + 2):
            # Calls of the new name are counted above only if it is a class name too (`Adam as Adam`,
            # the re-export idiom).
            alias = _NAME.match(code, skip_to_call(code, after + 2))
            if alias is None or alias.group() not in _COUNTED_CLASSES:
                return 2
    return calls


def _name_fix(call: Call, taken: set[str]) -> Fix | None:
    """`g_opt = Adam(1e-4)` -> `g_opt = Adam(1e-4, name="g_opt")`; adds the name to `taken`."""
    if len(call.assigned_to) != 1 or call.has_star_args:
        return None
    binding = call.assigned_to[0][1]
    name = unique_identifier(binding.split(".")[-1], taken)
    taken.add(name)
    return Fix(call.node, add_keyword_arg(call.node, "name", string_literal(name)), safe=True,
               description=f'add `name="{name}"`')


def _constructs_optimizer(call: Call) -> bool:
    callee = call.callee
    if not (callee and is_optimizer_constructor(callee)) or callee.startswith("tf.compat.v1"):
        return False
    return not callee.endswith((".get", ".LossScaleOptimizer", ".Optimizer"))


def _holder(module: ModuleModel, call: Call):
    """What keeps this optimizer alive: the binding it is assigned to, the function's return value, or
    the compile() it is passed to. None for anything else (an argument to a wrapper or a test helper)."""
    if call.assigned_to:
        return call.assigned_to[0]
    parent = _parent_call(module, call)
    if parent is not None and parent.method == "compile":
        return id(parent.node)
    if parent is None and _is_returned(module, call):
        return ("return", id(call.function))
    return None


def _parent_call(module: ModuleModel, call: Call) -> Call | None:
    for other in module.calls:
        if any(arg.value is call.node for arg in other.node.args):
            return other
    return None


def _is_returned(module: ModuleModel, call: Call) -> bool:
    function = call.function
    if function is None:
        return False
    return any(expr is call.node for expr in module.returned_exprs(function))


def _literal_name(call: Call) -> str | None:
    value = call.kwarg("name")
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    return None
