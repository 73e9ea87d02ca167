"""The TF/Keras vocabulary ckptlint knows, in one place: canonical names (every spelling of a symbol
resolves to one string) and the API names the model and the rules recognise (constructors and their
roles, training methods, restore-status checks, save and load functions).

`tf.keras.optimizers.Adam`, `keras.optimizers.Adam`, `tf_keras.optimizers.Adam`, `from keras.optimizers
import Adam as A; A` and `tf.optimizers.Adam` all become `keras.optimizers.Adam`; `tensorflow.train.X`
and `tf.compat.v2.train.X` become `tf.train.X`. Rules compare against these canonical strings only, so a
new alias is taught here once instead of in every rule.
"""

from __future__ import annotations

from ckptlint.model.facts import Role

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


# ---- what calls and attributes say about an object -------------------------------------------------
CONSTRUCTOR_ROLES: dict[str, Role] = {
    "tf.train.Checkpoint": Role.CHECKPOINT,
    "tf.train.CheckpointManager": Role.MANAGER,
    "tf.Variable": Role.VARIABLE,
    "tf.random.Generator": Role.GENERATOR,
    "tf.random.Generator.from_seed": Role.GENERATOR,
    "tf.random.Generator.from_non_deterministic_state": Role.GENERATOR,
    "tf.random.get_global_generator": Role.GENERATOR,
    "keras.callbacks.BackupAndRestore": Role.CALLBACK,
    "keras.callbacks.ModelCheckpoint": Role.CALLBACK,
    "keras.callbacks.EarlyStopping": Role.CALLBACK,
}
# Calls on a binding that make it a model, an optimizer, a variable.
MODEL_METHODS = frozenset({"compile", "fit", "train_on_batch", "save_weights", "load_weights", "fit_generator"})
MODEL_ATTRIBUTES = frozenset({"trainable_variables", "trainable_weights"})
OPTIMIZER_METHODS = frozenset({"apply_gradients", "minimize"})
VARIABLE_METHODS = frozenset({"assign_add", "assign_sub"})
# Methods of a tf.data.Dataset that return a dataset.
DATASET_METHODS = frozenset({
    "map", "batch", "shuffle", "repeat", "prefetch", "cache", "take", "skip", "filter", "unbatch",
    "padded_batch", "interleave", "flat_map", "zip", "concatenate", "shard", "with_options", "apply",
    "rebatch", "ragged_batch", "enumerate",
})

# Training: Keras' loops, and optimizer updates in a custom loop.
KERAS_TRAINING_METHODS = frozenset({"fit", "train_on_batch", "fit_generator"})
TRAINING_METHODS = KERAS_TRAINING_METHODS | OPTIMIZER_METHODS

# What a restore's status is checked with.
RESTORE_STATUS_CHECKS = frozenset({
    "assert_consumed", "assert_existing_objects_matched", "assert_nontrivial_match", "expect_partial",
})

# Saving and loading whole models.
LOAD_MODEL = frozenset({"keras.models.load_model"})
SAVE_MODEL = frozenset({"keras.models.save_model"})
LATEST_CHECKPOINT = frozenset({"tf.train.latest_checkpoint", "tf.compat.v1.train.latest_checkpoint"})
TF1_SAVERS = frozenset({"tf.compat.v1.train.Saver", "tf.train.Saver"})

# Variable updates: any assignment, and those that advance a counter.
ASSIGN_METHODS = frozenset({"assign", "assign_add", "assign_sub"})
ADVANCE_METHODS = frozenset({"assign", "assign_add"})
