"""Canonical names: every spelling of a TF/Keras symbol resolves to one string.

`tf.keras.optimizers.Adam`, `keras.optimizers.Adam`, `tf_keras.optimizers.Adam`, `from keras.optimizers
import Adam as A; A` and `tf.optimizers.Adam` all become `keras.optimizers.Adam`; `tensorflow.train.X`
and `tf.compat.v2.train.X` become `tf.train.X`. Rules compare against these canonical strings only, so a
new alias is taught here once instead of in every rule.
"""

from __future__ import annotations

# Longest prefix first. Values are what the prefix is rewritten to.
_PREFIX_REWRITES: tuple[tuple[str, str], ...] = (
    ("tensorflow.python.keras.", "keras."),
    ("tensorflow.compat.v2.keras.", "keras."),
    ("tensorflow.compat.v1.keras.", "keras."),
    ("tensorflow.keras.", "keras."),
    ("tensorflow.optimizers.", "keras.optimizers."),
    ("tensorflow.compat.v2.", "tf."),
    ("tensorflow.", "tf."),
    ("tf_keras.", "keras."),
    ("keras.src.", "keras."),
    ("keras.api.", "keras."),
    ("keras._tf_keras.keras.", "keras."),
)

_EXACT_REWRITES = {
    "tensorflow": "tf",
    "tensorflow.keras": "keras",
    "tf_keras": "keras",
    "keras.saving.load_model": "keras.models.load_model",
    "keras.saving.save_model": "keras.models.save_model",
    "keras.models.Model": "keras.Model",
    "keras.models.Sequential": "keras.Sequential",
    "keras.callbacks.experimental.BackupAndRestore": "keras.callbacks.BackupAndRestore",
    "keras.optimizers.get": "keras.optimizers.get",
}

# Submodules whose last component names a class living directly under keras.optimizers
# (keras.optimizers.adam.Adam, keras.optimizers.legacy.Adam, keras.optimizers.experimental.AdamW).
_OPTIMIZER_SUBMODULES = {"legacy", "experimental", "adam", "sgd", "rmsprop", "adamw", "adagrad",
                         "adadelta", "adamax", "nadam", "ftrl", "lion", "adafactor", "lamb", "loss_scale_optimizer"}


def canonical(dotted: str) -> str:
    """Rewrite a fully qualified dotted name to ckptlint's canonical spelling."""
    for prefix, new in _PREFIX_REWRITES:
        if dotted.startswith(prefix):
            dotted = new + dotted[len(prefix):]
            break
    dotted = _EXACT_REWRITES.get(dotted, dotted)
    parts = dotted.split(".")
    if len(parts) == 4 and parts[:2] == ["keras", "optimizers"] and parts[2] in _OPTIMIZER_SUBMODULES:
        dotted = f"keras.optimizers.{parts[3]}"
    if dotted.startswith("keras.mixed_precision.") and dotted.endswith("LossScaleOptimizer"):
        dotted = "keras.optimizers.LossScaleOptimizer"
    return dotted


OPTIMIZER_CLASSES = frozenset({
    "Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion",
    "Adafactor", "Lamb", "Muon", "LossScaleOptimizer", "Optimizer",
})

MODEL_FACTORIES = frozenset({
    "keras.Sequential", "keras.Model", "keras.models.load_model", "keras.models.clone_model",
    "keras.models.model_from_json", "keras.models.model_from_config",
})


def is_optimizer_constructor(name: str) -> bool:
    parts = name.split(".")
    if len(parts) == 3 and parts[:2] == ["keras", "optimizers"]:
        return parts[2] in OPTIMIZER_CLASSES or parts[2] == "get"
    # TF1-style optimizers (tf.compat.v1.train.AdamOptimizer) are optimizers too.
    return name.startswith("tf.compat.v1.train.") and name.endswith("Optimizer")


def is_model_constructor(name: str) -> bool:
    return name in MODEL_FACTORIES or name.startswith("keras.applications.")
