"""CKPT402 checkpoint-api-signature."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from ckptlint.lint.findings import Severity
from ckptlint.model import Call, ModuleModel, Role
from ckptlint.model.paths import file_kind
from ckptlint.model.restores import in_test_case
from ckptlint.model.vocabulary import MODEL_ATTRIBUTES, MODEL_METHODS
from ckptlint.lint.fix.edits import replace_keyword
from ckptlint.lint.rule import Diagnostic, Fix, Invalid, FixSafety, Rule


@dataclass(frozen=True)
class Signature:
    """A checkpoint API's parameters as TF 2.21 / Keras 3.15 define them (from `inspect.signature`,
    `self` dropped). `extra` are keywords a `**kwargs` accepts; `open_kwargs` means any keyword goes."""

    title: str
    params: tuple[str, ...]
    required: int  # how many leading params have no default
    extra: tuple[str, ...] = ()
    open_kwargs: bool = False
    keras: bool = False  # a Keras API: Keras 2 (`tf_keras`) modules have other signatures


# Recorded with inspect.signature on tensorflow-cpu 2.21.0 + keras 3.15.1 (scratch/rules2/sigs.py).
# `Model.save`/`save_model` take **kwargs but raise ValueError for anything except the two below;
# `load_weights` pops `by_name`/`objects_to_skip` from **kwargs and raises for the rest.
CHECKPOINT = {
    "save": Signature("tf.train.Checkpoint.save", ("file_prefix", "options"), 1),
    "write": Signature("tf.train.Checkpoint.write", ("file_prefix", "options"), 1),
    "restore": Signature("tf.train.Checkpoint.restore", ("save_path", "options"), 1),
    "read": Signature("tf.train.Checkpoint.read", ("save_path", "options"), 1),
}
MANAGER = {
    "save": Signature("tf.train.CheckpointManager.save", ("checkpoint_number", "check_interval", "options"), 0),
    "restore_or_initialize": Signature("tf.train.CheckpointManager.restore_or_initialize", (), 0),
}
MODEL = {
    "save": Signature("keras.Model.save", ("filepath", "overwrite", "zipped"), 1,
                      extra=("include_optimizer", "save_format"), keras=True),
    "save_weights": Signature("keras.Model.save_weights", ("filepath", "overwrite", "max_shard_size"), 1, keras=True),
    "load_weights": Signature("keras.Model.load_weights", ("filepath", "skip_mismatch"), 1,
                              extra=("by_name", "objects_to_skip"), keras=True),
}
FUNCTIONS = {
    "tf.train.Checkpoint": Signature("tf.train.Checkpoint", ("root",), 0, open_kwargs=True),
    "tf.train.CheckpointManager": Signature(
        "tf.train.CheckpointManager",
        ("checkpoint", "directory", "max_to_keep", "keep_checkpoint_every_n_hours", "checkpoint_name",
         "step_counter", "checkpoint_interval", "init_fn", "last_checkpoint_step"), 3),
    "tf.train.latest_checkpoint": Signature("tf.train.latest_checkpoint", ("checkpoint_dir", "latest_filename"), 1),
    "keras.models.load_model": Signature("keras.models.load_model",
                                         ("filepath", "custom_objects", "compile", "safe_mode"), 1, keras=True),
    "keras.models.save_model": Signature("keras.models.save_model", ("model", "filepath", "overwrite", "zipped"), 2,
                                         extra=("include_optimizer", "save_format"), keras=True),
    "keras.callbacks.BackupAndRestore": Signature(
        "keras.callbacks.BackupAndRestore", ("backup_dir", "save_freq", "double_checkpoint", "delete_checkpoint"), 1,
        keras=True),
    "keras.callbacks.ModelCheckpoint": Signature(
        "keras.callbacks.ModelCheckpoint",
        ("filepath", "monitor", "verbose", "save_best_only", "save_weights_only", "mode", "save_freq",
         "initial_value_threshold"), 1, keras=True),
}
# Keywords that Keras 2 / TF 2.15 took and Keras 3 removed: what to say instead of a spelling guess.
REMOVED = {
    "save_format": "Keras 3 removed `save_format`: the format follows the file extension (`.keras`, `.weights.h5`)",
    "options": "Keras 3 removed `options` (a `tf.saved_model`/checkpoint option) from this API",
    "period": "Keras 3 removed `period`; use `save_freq`",
    "save_before_preemption": "Keras 3 removed `save_before_preemption`",
    "signatures": "Keras 3 `Model.save` writes `.keras` only; export signatures with `model.export`",
    "save_traces": "Keras 3 `Model.save` has no `save_traces` (SavedModel only)",
}
_MODEL_EVIDENCE = frozenset({"compile", "fit", "train_on_batch", "fit_generator", "evaluate", "predict", "summary"})

# The prefilter. Every check but `Model.save`'s needs one of these words: a checkpoint or manager comes
# from `tf.train.Checkpoint`/`CheckpointManager`, the other APIs are called by name (`ModelCheckpoint`
# holds "Checkpoint"); a name is in the call or in the import its alias comes from, and the canonical
# names of the Keras functions only come from paths with `keras` in them (ckptlint.model.vocabulary).
_NAMED_APIS = ("Checkpoint", "latest_checkpoint", ("load_model", "keras"), ("save_model", "keras"), "save_weights",
               "load_weights", ("BackupAndRestore", "keras"))
# `Model.save` is checked only on a binding with the model role, which comes from a Keras constructor,
# loader or subclass (`keras` is in the text), from a model method or attribute used on it or on what
# it was assigned from, or from a local function returning such a binding (ckptlint.model.module).
_MODEL_ROLE_WORDS = ("keras", *sorted(MODEL_METHODS | MODEL_ATTRIBUTES))


class CheckpointApiSignature(Rule):
    """
    ## What it does
    Finds calls to TensorFlow/Keras checkpoint APIs with a keyword the API does not take, more positional
    arguments than it has parameters, or a required argument missing: `Checkpoint.save/write/restore/read`,
    `tf.train.Checkpoint(...)`, `CheckpointManager(...)` and its `save`, `tf.train.latest_checkpoint`,
    `load_model`, `save_model`, `Model.save/save_weights/load_weights`, `BackupAndRestore` and
    `ModelCheckpoint`. The signatures are those of TF 2.21 / Keras 3.15, recorded in the rule (the
    linter does not import TensorFlow). When a parameter with a close name exists it is suggested.

    ## Why is this bad?
    The mistake raises `TypeError` (or Keras's `ValueError: The following argument(s) are not
    supported`) — but only when the line runs, and checkpoint code runs late: after the first epoch,
    at the end of training, or in the resume script nobody ran yet. Measured on TF 2.21
    (`docs/framework.md#api-signatures`): `checkpoint.save(checkpoint_prefix=...)` raises `TypeError:
    Checkpoint.save() got an unexpected keyword argument 'checkpoint_prefix'` after hours of training,
    and the checkpoint is never written. `tf.train.Checkpoint(model, optimizer)` raises: only `root` may
    be positional; a `CheckpointManager` without `max_to_keep` raises. Keras 3 removed `save_format=` and
    `options=` from `save_weights`/`load_weights`, `period=` from `ModelCheckpoint` (keras-team/keras#18709).
    Keras' own APIs (`Model.save`, `load_model`, the callbacks...) are checked against Keras 3's
    signatures only in projects that declare Keras 3 (`keras-version = 3` in `[tool.ckptlint]`, or
    dependency pins such as `tensorflow>=2.16` or `keras>=3`): measured on real code, a Keras 2 keyword
    with no declaration was almost always code written for Keras 2 (a wheel whose pins ckptlint cannot
    see, an indirect pin), where it is right. The TF checkpoint APIs are checked everywhere, except in
    unittest-style test methods and in the graph-mode branch of `if tf.executing_eagerly(): ... else:`.

    ## Use instead
    ```python
    checkpoint.save(file_prefix=os.path.join(ckpt_dir, "ckpt"))
    ```

    ## Fix safety
    Safe. A misspelt keyword is renamed when the intended one is unambiguous: it is the only unknown
    keyword of the call, exactly one parameter of the API has a close name, and that parameter is not
    given already (`checkpoint.save(checkpoint_prefix=p)` -> `checkpoint.save(file_prefix=p)`). The
    call raised before, so no working behaviour changes. Keywords Keras 3 removed (`save_format=`,
    `period=`, ...), extra positional arguments and missing arguments get no fix.

    ## References
    - `docs/framework.md#api-signatures`; keras-team/keras#18709, tensorflow/tensorflow#74342
    - tensorflow/tensorflow `python/checkpoint/checkpoint.py`; keras `src/saving/saving_api.py`
    """

    code = "CKPT402"
    name = "checkpoint-api-signature"
    severity = Severity.ERROR
    precision = "not measurable yet: no finding on the precision corpus (benchmarks/precision: 18,109 files of 87 PyPI packages)"
    summary = "A checkpoint API is called with an argument it does not take (TypeError at run time)."
    fix_safety = FixSafety.SAFE
    # A named API, or a `.save(` call and a word the model role comes from: any of them, as a model
    # built elsewhere and only trained here (`model = build(cfg); model.fit(...)`) is checked too.
    api_words = (*_NAMED_APIS, *((".save(", word) for word in _MODEL_ROLE_WORDS))

    VALID = [
        """
import os
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3, checkpoint_name="step")
ckpt.save(file_prefix=os.path.join("/tmp/run", "ckpt"))
ckpt.restore(tf.train.latest_checkpoint("/tmp/run")).expect_partial()
ckpt.read("/tmp/w", options=tf.train.CheckpointOptions())
manager.save(checkpoint_number=10)
""",
        # Keras 3 signatures.
        """
import keras
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
cb = keras.callbacks.ModelCheckpoint("m.keras", monitor="val_loss", save_best_only=True, save_freq="epoch")
bk = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup", save_freq=100, delete_checkpoint=False)
model.fit(x, y, callbacks=[cb, bk])
model.save("final.h5", include_optimizer=False)
model.save_weights("w.weights.h5", overwrite=True)
model.load_weights("old.h5", by_name=True, skip_mismatch=True)
model = keras.models.load_model("m.keras", custom_objects={}, compile=False)
""",
        # TF1 Saver has its own signature; it is not a tf.train.Checkpoint.
        """
import tensorflow as tf
saver = tf.compat.v1.train.Saver(max_to_keep=5)
saver.save(sess, "/tmp/model.ckpt", global_step=step)
saver.restore(sess, "/tmp/model.ckpt-10")
""",
        # Keras 2 (tf_keras) code is not checked against Keras 3 signatures.
        """
import tf_keras
model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.save_weights("ckpt", save_format="tf")
""",
        # A non-Keras model with fit() and its own save() (deepchem): fit alone does not make a Keras model.
        """
import tensorflow as tf
model = self.model_builder(**hyper_parameters)
model.fit(train_dataset, nb_epoch=nb_epoch)
model.save()
""",
        # save_format with a .keras/.h5 path is only a deprecation warning.
        """
import keras
model = keras.Sequential([keras.layers.Dense(1)])
model.save("model.h5", save_format="h5")
""",
        # Unknown objects with a save method, and calls with **kwargs, are not judged.
        """
import tensorflow as tf
ckpt = tf.train.Checkpoint(**objects)
ckpt.save(**save_kwargs)
writer.save(checkpoint_prefix="x")
""",
        # Keras 2 code (TF_USE_LEGACY_KERAS set in the script): save_format= and options= are fine there.
        """
import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
model.save("export_dir", save_format="tf", signatures=serving_fn)
""",
        # TF1-era code with legacy optimizers.
        """
import tensorflow as tf
optimizer = tf.keras.optimizers.legacy.Adam()
model = tf.keras.Model(inputs, outputs)
model.compile(optimizer=optimizer, loss="mse")
model.save_weights("ckpt/weights", save_format="tf")
""",
        # No declared Keras generation: `period=` and `save_format=` are Keras 2 code (imageai, n2v).
        """
import tensorflow as tf
model = build_model()
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, callbacks=[tf.keras.callbacks.ModelCheckpoint("w.h5", period=5)])
model.save("export", save_format="tf")
""",
        # TF1's graph-mode branch (tf-agents): `session=` exists there.
        """
import tensorflow as tf
checkpoint = tf.train.Checkpoint(table=table)
if tf.executing_eagerly():
    path = checkpoint.save(prefix)
else:
    path = checkpoint.save(prefix, session=sess)
""",
    ]
    INVALID = [
        Invalid(
            """
import os
import tensorflow as tf
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
ckpt.save(checkpoint_prefix=os.path.join("/tmp/run", "ckpt"))
""",
            lines=(5,),
        ),
        Invalid(
            """
import tensorflow as tf
class Trainer:
    def __init__(self, model, opt):
        self.ckpt = tf.train.Checkpoint(model, opt)
        self.manager = tf.train.CheckpointManager(self.ckpt, "/tmp/run")
    def resume(self):
        self.ckpt.restore(self.manager.latest_checkpoint, checkpoint_path=None)
        tf.train.latest_checkpoint(dir="/tmp/run")
""",
            lines=(5, 6, 8, 9),
        ),
        Invalid(
            """
from tensorflow import keras
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, callbacks=[keras.callbacks.ModelCheckpoint("w.weights.h5", save_weights_only=True, period=5)])
model.save_weights("ckpt", save_format="tf")
model = keras.models.load_model("m.keras", compile=False, options=None)
""",
            lines=(5, 6, 7),
            keras=3,
        ),
        # A model built elsewhere and trained here, saved with TF 2.x SavedModel arguments (tfx examples).
        Invalid(
            """
import tensorflow as tf
model = build_and_compile_classifier(layer, max_len, 2)
model.fit(train_dataset, epochs=3, steps_per_epoch=100)
model.save(serving_model_dir, save_format="tf", signatures=signatures)
tf.keras.models.save_model(model, export_dir, save_format="tf")
""",
            lines=(5, 6),
            keras=3,
        ),
        # A model known only from `fit()`, saved with a Keras 2 keyword: neither `keras` nor `compile` in the text.
        Invalid(
            """
import tensorflow as tf
model = build_classifier(layer, max_len, 2)
model.fit(train_dataset, epochs=3)
model.save(serving_model_dir, save_format="tf")
""",
            lines=(5,),
            keras=3,
        ),
        # An aliased loader: "load_model" and "keras" are only in the import.
        Invalid(
            """
from keras.models import load_model as load
model = load("m.keras", options=None)
""",
            lines=(3,),
            keras=3,
        ),
    ]

    def check(self, module: ModuleModel) -> Iterator[Diagnostic]:
        # Keras' own APIs are checked against Keras 3's signatures only where the project declares Keras 3
        # (`keras-version`, or its dependency pins): code that passes `save_format=` or `period=` with no
        # declaration was most likely written for Keras 2, where those are right.
        keras3 = module.keras_generation() == 3
        for call in module.calls:
            signature = self._signature(module, call)
            if signature is None or (signature.keras and not keras3):
                continue
            if in_test_case(call.scope) or module.in_graph_mode_branch(call.node):
                continue  # tests exercise APIs on purpose; a TF1 graph-mode branch does not run under TF2
            problem = _problem(call, signature) or _save_format(module, call, signature)
            if problem:
                yield Diagnostic(call.node, problem, fix=_keyword_fix(call, signature))

    @staticmethod
    def _signature(module: ModuleModel, call: Call) -> Signature | None:
        if call.callee in FUNCTIONS:
            return FUNCTIONS[call.callee]
        if call.method is None:
            return None
        roles = module.roles(call.receiver)
        inline = call.receiver_expr
        if Role.CHECKPOINT in roles or (
            isinstance(inline, cst.Call) and module.qualify(inline.func) == "tf.train.Checkpoint"
        ):
            return CHECKPOINT.get(call.method)
        if Role.MANAGER in roles:
            return MANAGER.get(call.method)
        if call.method in MODEL:
            evidence = _keras_model_evidence(module, call)
            if evidence == "strong":
                return MODEL[call.method]
            if evidence == "weak" and any(k in REMOVED for k in call.keywords):
                # `fit`/`predict` alone do not make a Keras model (deepchem, sklearn wrappers have them and
                # their own `save()`); a Keras-2-only keyword such as `save_format=` does.
                return MODEL[call.method]
        return None


def _keras_model_evidence(module: ModuleModel, call: Call) -> str | None:
    """"strong": the binding is built by a Keras model constructor/loader/subclass or `compile()`d;
    "weak": it is only trained/evaluated (`fit`, `predict`), which other libraries' models also do."""
    key = call.receiver
    if key is None or Role.MODEL not in module.roles(key):
        return None
    binding = module.bindings[key]
    for assignment in binding.assignments:
        if assignment.value is not None and Role.MODEL in module.built_roles(assignment.value, assignment.scope):
            return "strong"
    methods = {c.method for c in module.calls if c.receiver == key}
    if "compile" in methods:
        return "strong"
    return "weak" if methods & _MODEL_EVIDENCE else None


def _save_format(module: ModuleModel, call: Call, signature: Signature) -> str | None:
    """Keras 3 `save`/`save_model` accept `save_format=` only for a `.keras`/`.h5` path (a deprecation
    warning); for any other path they raise ValueError."""
    if "save_format" not in signature.extra or call.kwarg("save_format") is None:
        return None
    path = call.arg(1, "filepath") if signature.title == "keras.models.save_model" else call.arg(0, "filepath")
    if file_kind(module, path, call.scope) in ("keras", "h5"):
        return None
    return (f"`{signature.title}` with `save_format=` and a path that does not end in `.keras` or `.h5` raises "
            f"ValueError on Keras 3 (the format follows the extension; for a SavedModel use `model.export` or "
            f"`tf.saved_model.save`)")


def _problem(call: Call, signature: Signature) -> str | None:
    args = call.node.args
    if any(a.star for a in args):
        return None  # *args / **kwargs: the call cannot be judged
    positional = [a for a in args if a.keyword is None]
    keywords = [a.keyword.value for a in args if a.keyword is not None]
    title = f"`{signature.title}`"
    if len(positional) > len(signature.params):
        allowed = len(signature.params)
        return (f"{title} takes {allowed} positional argument{'s' if allowed != 1 else ''} but {len(positional)} "
                f"were given: a TypeError when this line runs"
                + ("; pass the objects by keyword (`model=model, optimizer=optimizer`)" if signature.open_kwargs else ""))
    accepted = set(signature.params) | set(signature.extra)
    for keyword in keywords:
        if keyword in accepted or signature.open_kwargs:
            continue
        hint = REMOVED.get(keyword) if signature.keras else None
        if hint is None:
            close = difflib.get_close_matches(keyword, sorted(accepted), n=1, cutoff=0.5)
            hint = f"did you mean `{close[0]}=`?" if close else f"it takes {', '.join(f'`{p}`' for p in signature.params) or 'no arguments'}"
        return f"{title} has no parameter `{keyword}` (raises when this line runs, after the training before it): {hint}"
    given = {signature.params[i] for i in range(len(positional))} | set(keywords)
    missing = [p for p in signature.params[: signature.required] if p not in given]
    if missing:
        return f"{title} is missing the required argument `{missing[0]}`: a TypeError when this line runs"
    return None


def _keyword_fix(call: Call, signature: Signature) -> Fix | None:
    """Rename the call's one unknown keyword when exactly one parameter not given yet has a close name."""
    args = call.node.args
    if signature.open_kwargs or any(a.star for a in args):
        return None
    positional = [a for a in args if a.keyword is None]
    if len(positional) > len(signature.params):
        return None
    accepted = set(signature.params) | set(signature.extra)
    keywords = [a.keyword.value for a in args if a.keyword is not None]
    unknown = [k for k in keywords if k not in accepted]
    if len(unknown) != 1 or unknown[0] in REMOVED:
        return None
    given = {signature.params[i] for i in range(len(positional))} | set(keywords)
    close = [c for c in difflib.get_close_matches(unknown[0], sorted(accepted), n=3, cutoff=0.5) if c not in given]
    if len(close) != 1:
        return None
    return Fix(call.node, replace_keyword(call.node, unknown[0], close[0]), safe=True,
               description=f"`{unknown[0]}=` -> `{close[0]}=`")
