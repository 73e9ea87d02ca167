"""CKPT101 checkpoint-missing-optimizer."""

from __future__ import annotations

import re
from keyword import iskeyword
from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.lint.fix.edits import add_keyword_arg, unique_identifier
from ckptlint.model import CheckpointFact, Key, ModuleModel, ObjKind, Role
from ckptlint.lint.rule import Diagnostic, Fix, Invalid, FixSafety, Rule


class CheckpointMissingOptimizer(Rule):
    """
    ## What it does
    Finds a `tf.train.Checkpoint` that is written (`save`, `write`, or a `CheckpointManager.save()`)
    and holds a model, but not the optimizer that trains that model with `apply_gradients` or
    `minimize`.

    ## Why is this bad?
    A checkpoint saves only the objects it is given. Resuming from it restores the weights into a
    fresh optimizer: Adam's first and second moments start from zero, `optimizer.iterations` restarts
    at 0, so a learning-rate schedule goes back to its first value and bias correction restarts. The run
    does not fail; it silently trains differently from an uninterrupted run.

    Measured on TF 2.21 + Keras 3.15 (`docs/framework.md#checkpoint-model-only`): `Checkpoint(model=m)`
    restores the weights but neither the slots nor `iterations` of an optimizer used in a
    `GradientTape` loop; the 5+5-step resume differs from the 10-step run. When the model was
    `compile()`d with the optimizer, Keras tracks it as `model.optimizer` and the checkpoint does carry
    it — that case is not flagged. A checkpoint that is only restored (inference, fine-tuning) is not
    flagged either. Users hit this as tensorflow/tensorflow#48947 and tensorflow/tensorflow#47115 (a cosine schedule
    restarting after resume).

    ## Use instead
    ```python
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    ```

    ## Fix safety
    Unsafe: it changes the checkpoint's layout, so code that restores checkpoints written before the fix
    strictly stops working. The fix adds the optimizer under a key that follows the checkpoint's own
    naming (`d_optimizer=d_opt` beside `g_model=`, `d_model=`, `g_optimizer=`; the binding's own name when
    a bare `optimizer` would not say whose; else `optimizer`), never an existing key, and only when that
    binding is in scope there and bound before it: `self.optimizer` assigned earlier in the same method
    or in `__init__` (for a checkpoint built in another method), or a name assigned earlier in the
    checkpoint's own scope or an enclosing one (a parameter counts). Otherwise the finding is reported
    without a fix.

    Measured on TF 2.21 + Keras 3.15 (`docs/framework.md#adding-an-object-to-a-checkpoint`, and on this
    rule's own fix by `tests/harness/test_ckpt101_fix_layout.py`): a checkpoint written before the fix,
    restored into the fixed `Checkpoint`, restores the model's weights with a plain `restore()` or
    `.expect_partial()`; `.assert_existing_objects_matched()` and `.assert_consumed()` both raise
    `AssertionError` ("Python objects that were not bound to checkpointed values": the new optimizer's
    `iteration`, and a constant learning rate's variable, exist from its construction, before any slot). The
    optimizer of such a resume starts from scratch, as it did before the fix. Keep a plain restore (or
    `expect_partial()`) until every checkpoint in use was written by the fixed code.

    ## References
    - `docs/framework.md#checkpoint-model-only`, `docs/framework.md#checkpoint-everything` (what `Checkpoint` keeps)
    - `docs/framework.md#adding-an-object-to-a-checkpoint` (what the fix does to older checkpoints)
    - tensorflow/tensorflow#48947, tensorflow/tensorflow#47115
    """

    code = "CKPT101"
    name = "checkpoint-missing-optimizer"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "A written tf.train.Checkpoint holds the model but not the optimizer that trains it."
    fix_safety = FixSafety.UNSAFE
    api_words = ("Checkpoint",)

    VALID = [
        # A manager made only to find the latest checkpoint, in a function: nothing here ever writes it.
        """
import tensorflow as tf
def evaluate(model, optimizer, directory):
    checkpoint = tf.train.Checkpoint(model=model)
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=1)
    checkpoint.restore(manager.latest_checkpoint).expect_partial()
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
""",
        # The optimizer is in the checkpoint.
        """
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam()
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
ckpt.save("/tmp/ckpt/ckpt")
""",
        # Compiled with the optimizer: Keras tracks it as model.optimizer, the checkpoint carries it.
        """
import keras
import tensorflow as tf
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
ckpt = tf.train.Checkpoint(model=model)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3)
model.fit(x, y)
manager.save()
""",
        # Restore-only checkpoint for inference or fine-tuning.
        """
import tensorflow as tf
model = build_model()
optimizer = tf.keras.optimizers.SGD()
ckpt = tf.train.Checkpoint(model=model)
ckpt.restore(tf.train.latest_checkpoint("/pretrained")).expect_partial()
optimizer.apply_gradients(zip(grads, model.trainable_variables))
""",
        # The optimizer is added after construction.
        """
import tensorflow as tf
class Trainer:
    def __init__(self, model):
        self.model = model
        self.opt = tf.keras.optimizers.Adam()
        self.ckpt = tf.train.Checkpoint(model=self.model)
        self.ckpt.optimizer = self.opt
    def step(self, grads):
        self.opt.apply_gradients(zip(grads, self.model.trainable_variables))
        self.ckpt.write("/tmp/w")
""",
        # TF1 Saver code is out of scope.
        """
import tensorflow as tf
saver = tf.compat.v1.train.Saver()
saver.save(sess, "/tmp/model.ckpt")
""",
    ]
    INVALID = [
        # A checkpoint built by attribute assignment, holding variables an optimizer trains.
        Invalid(
            """
import tensorflow as tf
log_lr = tf.Variable(-3.0)
log_wd = tf.Variable(-4.0)
tuner_opt = tf.keras.optimizers.Adam(1e-2)
ckpt = tf.train.Checkpoint()
ckpt.hparams = [log_lr, log_wd]
ckpt.log_lr = log_lr
for step in range(100):
    with tf.GradientTape() as tape:
        objective = validation_loss(log_lr, log_wd)
    grads = tape.gradient(objective, [log_lr, log_wd])
    tuner_opt.apply_gradients(zip(grads, [log_lr, log_wd]))
    ckpt.write("/tmp/tuner/state")
""",
            lines=(6,),
        ),
        Invalid(
            """
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam()
ckpt = tf.train.Checkpoint(model=model)
for step in range(100):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    ckpt.save("/tmp/ckpt/ckpt")
""",
            lines=(5,),
        ),
        # In a class, through a manager: attributes on self are bindings too.
        Invalid(
            """
from tensorflow import keras
import tensorflow as tf
class Trainer:
    def __init__(self):
        self.model = keras.Sequential([keras.layers.Dense(1)])
        self.optimizer = keras.optimizers.Adam(1e-3)
        self.ckpt = tf.train.Checkpoint(step=tf.Variable(0), net=self.model)
        self.manager = tf.train.CheckpointManager(self.ckpt, "/tmp/run", max_to_keep=3)
    def train_step(self, x):
        with tf.GradientTape() as tape:
            loss = self.model(x)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
    def fit(self, data):
        for x in data:
            self.train_step(x)
            self.manager.save()
""",
            lines=(8,),
        ),
        # The class keeps a manager over its checkpoint; the training script that uses it calls save().
        Invalid(
            """
import tensorflow as tf
class Trainer:
    def __init__(self, model, checkpoint_dir):
        self.model = model
        self.optimizer = tf.keras.optimizers.Adam()
        self.checkpoint = tf.train.Checkpoint(model=self.model)
        self.manager = tf.train.CheckpointManager(self.checkpoint, checkpoint_dir, max_to_keep=3)
    def train_step(self, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((self.model(x) - y) ** 2)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
""",
            lines=(7,),
        ),
        # Two networks' variables kept in one attribute list, the optimizer built in another method.
        Invalid(
            """
import tensorflow as tf
class NeRF:
    def init_models(self):
        self.coarse, self.fine = make_model(), make_model()
        self.network_vars = self.coarse.trainable_variables + self.fine.trainable_variables
    def init_optimizer(self):
        self.optimizer = tf.keras.optimizers.Adam()
    def init_checkpoint(self, directory):
        self.checkpoint = tf.train.Checkpoint(coarse=self.coarse, fine=self.fine)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=5)
    def train_step(self, x):
        with tf.GradientTape() as tape:
            loss = self.loss(x)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.network_vars), self.network_vars))
""",
            lines=(10,),
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        for fact in module.checkpoints:
            writes = module.checkpoint_writes(fact)
            written = (writes[0].node, "the checkpoint is written here") if writes else None
            if not writes:
                # A class that keeps a CheckpointManager over the checkpoint in an attribute: the class's
                # users (another module, a training script) call its `save()`.
                kept = [m for m in module.managers if m.checkpoint is fact and module.held_by_class(m.keys)]
                if kept:
                    written = (kept[0].call.node, "a manager kept by the class saves it (its users call save())")
            if fact.opaque or written is None:
                continue
            held = fact.held_objects
            reported: list[frozenset] = []
            for item, ref in fact.all_items.items():
                # A model, or variables an optimizer trains directly (a tuner's own tf.Variables).
                models = _trained_objects(ref)
                if not models or (ref.key is not None and module.is_widened(ref.key)):
                    continue
                trainings = module.trainings_of(models)
                compiled = [t for t in trainings if t.compiled]
                for training in trainings:
                    optimizers = training.optimizers
                    if training.compiled or not optimizers or optimizers & held:
                        continue  # Keras tracks a compiled optimizer itself; an unknown one says nothing
                    if any(t.optimizers & optimizers for t in compiled) or _holds_model_optimizer(held, models):
                        continue
                    if any(optimizers & done for done in reported):
                        continue
                    reported.append(optimizers)
                    key = module.binding_for(optimizers, fact.call)
                    name = module.name_of(key) if key is not None else module.code_of(training.optimizer_expr)
                    keyword = _keyword(module, fact, item, name)
                    model_name = module.code_of(ref.expr)
                    yield Diagnostic(
                        fact.call.node,
                        f"`tf.train.Checkpoint` holds `{item}` but not `{name}`, the optimizer that trains it: "
                        f"a resume restarts its slots and iteration count (and the learning-rate schedule); "
                        f"add `{name}` to the checkpoint",
                        related=[(training.call.node, f"`{module.code_of(training.optimizer_expr)}` trains `{model_name}` here"),
                                 written],
                        fix=_add_optimizer_fix(module, fact, key, keyword) if key is not None else None,
                    )


def _holds_model_optimizer(held: frozenset, models: frozenset) -> bool:
    """`Checkpoint(model=m, optimizer=m.optimizer)`: the model's own optimizer is in the checkpoint."""
    return any(obj.kind is ObjKind.DERIVED and obj.attr == "optimizer" and obj.owner in models for obj in held)


def _keyword(module: ModuleModel, fact: CheckpointFact, model_key: str, name: str) -> str:
    """The key the optimizer gets, following the checkpoint's own naming, never an existing key:

    - when another model in the checkpoint has its optimizer beside it, the same pattern applied to this
      model's key (`g_model`/`g_optimizer` + `d_model` -> `d_optimizer`; `generator`/`g_optimizer` +
      `discriminator` -> `d_optimizer`; `gen`/`gen_opt` + `disc` -> `disc_opt`);
    - else, when a bare `optimizer` would not say whose it is (the checkpoint holds several models, or a
      key names an optimizer already) or `optimizer` is taken: the binding's own name (`critic_opt`);
    - else `optimizer`, the name the TensorFlow guides use.
    """
    taken = set(fact.all_items) | {"root"}
    for other_model, other_optimizer in _model_optimizer_pairs(module, fact):
        if other_model == model_key:
            continue
        derived = _follow_pattern(other_model, other_optimizer, model_key)
        if derived is not None and derived not in taken:
            return derived
    models = [key for key, ref in fact.all_items.items() if _trained_objects(ref)]
    if "optimizer" not in taken and len(models) < 2 and not any(_names_an_optimizer(key) for key in fact.all_items):
        return "optimizer"
    return unique_identifier(name.split(".")[-1], taken)


def _names_an_optimizer(key: str) -> bool:
    """`g_optimizer`, `opt_d`, `genOpt`, `optimizer`: a word of the key says optimizer."""
    if {"opt", "optim", "optimizer", "optimiser"} & set(key.lower().split("_")):
        return True
    return re.search(r"[a-z0-9](Opt|Optim|Optimizer)$", key) is not None


def _model_optimizer_pairs(module: ModuleModel, fact: CheckpointFact) -> Iterator[tuple[str, str]]:
    """(model key, optimizer key) for each optimizer in the checkpoint beside a model it trains."""
    items = fact.all_items
    for model_key, ref in items.items():
        models = _trained_objects(ref)
        if not models:
            continue
        trained_by: set = set()
        for training in module.trainings_of(models):
            trained_by |= training.optimizers
        for optimizer_key, other in items.items():
            if optimizer_key != model_key and other.objects & trained_by:
                yield model_key, optimizer_key


def _trained_objects(ref) -> frozenset:
    """The models (or variables an optimizer trains directly) a checkpoint item may hold."""
    return frozenset(obj for obj in ref.objects if Role.MODEL in obj.roles or Role.VARIABLE in obj.built)


_OPTIMIZER_WORDS = "opt|optim|optimizer|optimiser"
_ROLE_THEN_WORD = re.compile(rf"(?P<role>.+?)(?P<sep>_?)(?P<word>{_OPTIMIZER_WORDS})", re.IGNORECASE)  # g_optimizer
_WORD_THEN_ROLE = re.compile(rf"(?P<word>{_OPTIMIZER_WORDS})(?P<sep>_)(?P<role>.+)", re.IGNORECASE)  # optimizer_g


def _follow_pattern(model_key: str, optimizer_key: str, new_model_key: str) -> str | None:
    """Apply `model_key -> optimizer_key` to `new_model_key`, or None when the pattern does not transfer.

    The optimizer key is split into its optimizer word and the rest (the role: `g` in `g_optimizer`),
    and the role is located in the model key: the whole key, its abbreviation (a prefix of it), or the
    key with a word that says "model" on one side (`g_model`, `model_g`). The new model key gives the
    new role the same way."""
    match = _ROLE_THEN_WORD.fullmatch(optimizer_key)
    before = True
    if match is None:
        match = _WORD_THEN_ROLE.fullmatch(optimizer_key)
        before = False
    if match is None:
        return None
    role, sep, word = match["role"], match["sep"], match["word"]
    new_role = _new_role(role, model_key, new_model_key)
    if not new_role or new_role == role:
        return None
    derived = f"{new_role}{sep}{word}" if before else f"{word}{sep}{new_role}"
    return derived if derived.isidentifier() and not iskeyword(derived) else None


def _new_role(role: str, model_key: str, new_model_key: str) -> str | None:
    if role == model_key:
        return new_model_key
    for kind in re.finditer(r"(?:^|_)([A-Za-z]+)(?=_|$)", model_key):
        # `g_model` -> role `g`, kind word `model`: the new key must have the kind word in the same place
        start, end = kind.span(1)
        prefix, suffix = model_key[:start], model_key[end:]
        if (prefix.rstrip("_") == role and not suffix) or (suffix.lstrip("_") == role and not prefix):
            kind_word = model_key[start:end]
            if prefix and new_model_key.endswith(kind_word) and len(new_model_key) > len(kind_word):
                return new_model_key[: -len(kind_word)].rstrip("_") or None
            if suffix and new_model_key.startswith(kind_word) and len(new_model_key) > len(kind_word):
                return new_model_key[len(kind_word):].lstrip("_") or None
            return None
    if model_key.startswith(role) and len(role) < len(model_key) and role.isalpha():
        # an abbreviation: `g` for `generator`, `gen` for `generator` -> as many letters of the new key
        return new_model_key[: len(role)] if len(new_model_key) > len(role) else None
    return None


def _add_optimizer_fix(module: ModuleModel, fact: CheckpointFact, key: Key, keyword: str) -> Fix | None:
    """`Checkpoint(model=m)` -> `Checkpoint(model=m, optimizer=opt)` when `opt` can be named there."""
    binding = module.bindings.get(key)
    call = fact.call
    if binding is None:
        return None
    name = binding.name
    if name.startswith("self."):
        # Only in a method of the owning class, assigned earlier in that same method or in `__init__`
        # (another method's assignment may run later, or not at all, when the checkpoint is built).
        cls = call.scope.enclosing_class()
        method = call.function
        if cls is None or id(cls) != key[0] or method is None or method.parent is not cls:
            return None
        bound_before = any(
            (a.scope is method and a.order < call.order)
            or (a.scope.name == "__init__" and a.scope.parent is cls and method.name != "__init__")
            for a in binding.assignments
        )
        expr: cst.BaseExpression = cst.Attribute(cst.Name("self"), cst.Name(name[len("self."):]))
    else:
        # A plain name: it must resolve to this binding at the checkpoint (not shadowed) and be bound
        # before it in source order.
        if module.key_of(cst.Name(name), call.scope) != key:
            return None
        bound_before = any(a.order < call.order for a in binding.assignments)
        expr = cst.Name(name)
    if not bound_before:
        return None
    return Fix(call.node, add_keyword_arg(call.node, keyword, expr), safe=False,
               description=f"add `{keyword}={name}` to the checkpoint")
