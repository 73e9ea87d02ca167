"""Built-in save/restore methods, plus `user` (the project's own Setup.save/Setup.restore).

Each method saves a trained Setup into a directory and restores into a FRESH Setup in another process.
They drive the real framework APIs the way a user would, so the matrix measures what TF/Keras actually keep:

  user                the project's own save(directory) / restore(directory)
  checkpoint          tf.train.Checkpoint(model, <optimizers>, <state>).save / .restore(latest_checkpoint)
  manager             the same through tf.train.CheckpointManager
  keras               model.save("model.keras") / keras.saving.load_model
  h5                  legacy model.save("model.h5") / load_model (falls back to compile=False, as users do)
  weights             model.save_weights("model.weights.h5") / load_weights into the fresh compiled model
  savedmodel          tf.saved_model.save(model) / tf.train.Checkpoint(root=model).restore(dir/variables/variables)
  backup_and_restore  keras.callbacks.BackupAndRestore driven through its epoch-end save and train-begin restore
  orbax               keras.callbacks.OrbaxCheckpoint driven through its epoch-end save / keras.saving.load_model
                      of the Orbax directory (needs orbax-checkpoint; either backend)

On Keras' JAX backend a Keras model is not a TF trackable: tf.train.Checkpoint and tf.saved_model refuse
it, so `checkpoint`, `manager` and `savedmodel` are n/a there for Keras models (their reason says why).

A loaded model (keras, h5) replaces the Setup's model when Keras trains it (no train_step); with a custom
train_step, which closes over the original objects, its values are copied into them position by position.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ckptlint.harness.methods_names import METHOD_NAMES
from ckptlint.harness.contract import Setup
from ckptlint.harness import optimizers
from ckptlint.harness.userfault import describe

# component kinds a model-only file format can hold (Setup.state entries are not part of the model)
MODEL_KINDS = frozenset({"model", "slots", "iterations", "lr"})
OPTIMIZER_KINDS = frozenset({"slots", "iterations", "lr"})


@dataclass
class Restored:
    """The Setup after restore, and per component kind the error that kept it from being restored."""

    setup: Setup
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    name: str
    save: Callable[[Setup, str], None]
    restore: Callable[[Setup, str], Restored]
    holds: Optional[frozenset[str]] = None  # None: every component kind
    needs_keras_model: bool = True
    needs_fit: bool = False
    needs_trackable: bool = False  # goes through tf.train.Checkpoint / tf.saved_model
    needs_module: Optional[str] = None  # an optional package the method drives

    def unavailable(self, setup: Setup) -> Optional[str]:
        """Why this method cannot apply to this setup (the matrix shows n/a), or None."""
        if self.name == "user" and not setup.has_own_checkpointing:
            return "the Setup has no save/restore"
        if self.needs_keras_model and not _is_keras_model(setup.model):
            return "the model is not a Keras model"
        if self.needs_fit and (setup.train_step is not None or not _is_compiled(setup.model)):
            return "only for compiled fit-style setups"
        if self.needs_trackable and _is_keras_model(setup.model) and keras_backend() != "tensorflow":
            return (f"not applicable on the {keras_backend()} backend: tf.train.Checkpoint and tf.saved_model "
                    "accept only TF trackables, and a Keras model is one only on the tensorflow backend")
        if self.needs_module and not _importable(self.needs_module):
            return f"needs the {self.needs_module} package (pip install orbax-checkpoint)"
        return None

    def holds_kind(self, kind: str) -> bool:
        return self.holds is None or kind.split(":")[0] in self.holds


def _is_keras_model(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.Model)


def keras_backend() -> str:
    import keras

    return str(keras.backend.backend())


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _is_compiled(model: Any) -> bool:
    return getattr(model, "optimizer", None) is not None and bool(getattr(model, "compiled", True))


# -- user --------------------------------------------------------------------------------------------

def _user_save(setup: Setup, directory: str) -> None:
    assert setup.save is not None
    setup.save(directory)


def _user_restore(setup: Setup, directory: str) -> Restored:
    assert setup.restore is not None
    result = setup.restore(directory)
    return Restored(result if isinstance(result, Setup) else setup)


# -- tf.train.Checkpoint / CheckpointManager --------------------------------------------------------

def _checkpoint(setup: Setup) -> Any:
    """One Checkpoint holding everything in the Setup; keys are the Setup's own names."""
    import keras
    import tensorflow as tf

    objects: dict[str, Any] = {"model": setup.model}
    for name, opt in setup.optimizers.items():
        objects[f"optimizer_{name}" if name == "model" else name] = opt
    for key, obj in setup.state.items():
        # a Keras 3 metric is not a TF trackable; its variables are
        objects[f"state_{key}"] = list(obj.variables) if isinstance(obj, keras.metrics.Metric) else obj
    return tf.train.Checkpoint(**objects)


def _ckpt_save(setup: Setup, directory: str) -> None:
    _checkpoint(setup).save(os.path.join(directory, "ckpt"))


def _ckpt_restore(setup: Setup, directory: str) -> Restored:
    import tensorflow as tf

    _checkpoint(setup).restore(tf.train.latest_checkpoint(directory))
    return Restored(setup)


def _manager_save(setup: Setup, directory: str) -> None:
    import tensorflow as tf

    tf.train.CheckpointManager(_checkpoint(setup), directory, max_to_keep=3).save()


def _manager_restore(setup: Setup, directory: str) -> Restored:
    import tensorflow as tf

    ckpt = _checkpoint(setup)
    ckpt.restore(tf.train.CheckpointManager(ckpt, directory, max_to_keep=3).latest_checkpoint)
    return Restored(setup)


# -- Keras file formats ------------------------------------------------------------------------------

def _keras_save(setup: Setup, directory: str) -> None:
    setup.model.save(os.path.join(directory, "model.keras"))


def _keras_restore(setup: Setup, directory: str) -> Restored:
    import keras

    return Restored(adopt_model(setup, keras.saving.load_model(os.path.join(directory, "model.keras"))))


def _h5_save(setup: Setup, directory: str) -> None:
    setup.model.save(os.path.join(directory, "model.h5"))


def _h5_restore(setup: Setup, directory: str) -> Restored:
    """load_model(.h5); when that fails, or returns a model that cannot train, do what users do:
    load the weights (compile=False) into the model and keep training with a fresh optimizer."""
    import keras

    path = os.path.join(directory, "model.h5")
    try:
        loaded = keras.saving.load_model(path)
    except Exception as exc:
        problem = f"load_model raised {describe(exc).message}"
    else:
        if not _h5_optimizer_unusable(loaded):
            return Restored(adopt_model(setup, loaded))
        problem = ("load_model returned an optimizer built over no variables, which cannot train "
                   "(\"Unknown variable ... This optimizer can only be called for the variables it was originally "
                   "built with\"); the optimizer state in the file is not restored")
    loaded = keras.saving.load_model(path, compile=False)
    message = f"{problem}; weights loaded with compile=False"
    return Restored(adopt_model(setup, loaded, keep_optimizer=True), {kind: message for kind in OPTIMIZER_KINDS})


def _h5_optimizer_unusable(model: Any) -> bool:
    """Keras 3's legacy-h5 loader compiles the model and marks its optimizer built, but over no variables."""
    from ckptlint.harness import optimizers

    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(model, "trainable_variables", None):
        return False
    built_over = optimizers.trained_variables(opt)
    return optimizers.is_built(opt) is True and built_over is not None and not built_over


def _weights_save(setup: Setup, directory: str) -> None:
    setup.model.save_weights(os.path.join(directory, "model.weights.h5"))


def _weights_restore(setup: Setup, directory: str) -> Restored:
    setup.model.load_weights(os.path.join(directory, "model.weights.h5"))
    return Restored(setup)


def _savedmodel_save(setup: Setup, directory: str) -> None:
    import tensorflow as tf

    tf.saved_model.save(setup.model, os.path.join(directory, "savedmodel"))


def _savedmodel_restore(setup: Setup, directory: str) -> Restored:
    """A Keras 3 model cannot be rebuilt from a SavedModel; its variables are read back by object graph."""
    import tensorflow as tf

    prefix = os.path.join(directory, "savedmodel", "variables", "variables")
    tf.train.Checkpoint(root=setup.model).restore(prefix)
    return Restored(setup)


def _backup_callback(directory: str) -> Any:
    import keras

    return keras.callbacks.BackupAndRestore(
        os.path.join(directory, "backup"), save_freq="epoch", delete_checkpoint=False
    )


def _backup_save(setup: Setup, directory: str) -> None:
    callback = _backup_callback(directory)
    callback.set_model(setup.model)
    callback.on_epoch_end(0)


def _backup_restore(setup: Setup, directory: str) -> Restored:
    callback = _backup_callback(directory)
    callback.set_model(setup.model)
    callback.on_train_begin()
    return Restored(setup)


def _orbax_save(setup: Setup, directory: str) -> None:
    """What `fit` does at an epoch end with `OrbaxCheckpoint(save_freq="epoch")`, synchronously so the
    checkpoint is complete when the training process ends; `on_train_end` closes the checkpointer."""
    import keras

    callback = keras.callbacks.OrbaxCheckpoint(os.path.join(directory, "orbax"), save_on_background=False)
    callback.set_model(setup.model)
    callback.on_epoch_end(0)
    callback.on_train_end()


def _orbax_restore(setup: Setup, directory: str) -> Restored:
    """Keras' own way back from an Orbax directory: load_model rebuilds the model from the saved config
    and sets the whole state tree (weights, optimizer variables, metrics) at the latest step."""
    import keras

    return Restored(adopt_model(setup, keras.saving.load_model(os.path.join(directory, "orbax"))))


# -- adopting a loaded model ---------------------------------------------------------------------------

def adopt_model(setup: Setup, loaded: Any, keep_optimizer: bool = False) -> Setup:
    """Put a loaded model's state into the Setup the training code will use.

    Keras-trained setups (no train_step) continue on the loaded model itself, with its optimizer, exactly
    like `load_model` + `fit`. A custom train_step closes over the original objects, so the loaded values
    are copied into those instead (an uncompiled load has no optimizer, so the optimizer stays fresh).
    """
    old = setup.model
    loaded_opt = getattr(loaded, "optimizer", None)
    if setup.train_step is None and loaded_opt is not None and not keep_optimizer:
        setup.model = loaded
        for name, opt in list(setup.optimizers.items()):
            if opt is getattr(old, "optimizer", None):
                setup.optimizers[name] = loaded_opt
        setup.optimizer = setup.optimizers.get("optimizer")
        return setup
    for target, source in zip(old.weights, loaded.weights):
        target.assign(source.numpy())
    own_opt = setup.optimizers.get("optimizer") or getattr(old, "optimizer", None)
    if keep_optimizer or loaded_opt is None or own_opt is None or not optimizers.is_built(loaded_opt):
        return setup
    if not optimizers.is_built(own_opt):
        with strategy_of(old).scope():
            optimizers.build(own_opt, list(old.trainable_variables))
    for target, source in zip(optimizers.all_variables(own_opt), optimizers.all_variables(loaded_opt)):
        target.assign(source.numpy())
    return setup


def strategy_of(model: Any) -> Any:
    """The distribution strategy the model's variables were created under (the program may make its own)."""
    import tensorflow as tf

    for v in getattr(model, "weights", []) or []:
        strategy = getattr(getattr(v, "value", v), "_distribute_strategy", None)
        if strategy is not None:
            return strategy
    return tf.distribute.get_strategy()


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("user", _user_save, _user_restore, needs_keras_model=False),
        Method("checkpoint", _ckpt_save, _ckpt_restore, needs_keras_model=False, needs_trackable=True),
        Method("manager", _manager_save, _manager_restore, needs_keras_model=False, needs_trackable=True),
        Method("keras", _keras_save, _keras_restore, MODEL_KINDS),
        Method("h5", _h5_save, _h5_restore, MODEL_KINDS),
        Method("weights", _weights_save, _weights_restore, MODEL_KINDS),
        Method("savedmodel", _savedmodel_save, _savedmodel_restore, MODEL_KINDS, needs_keras_model=False,
               needs_trackable=True),
        Method("backup_and_restore", _backup_save, _backup_restore, MODEL_KINDS, needs_fit=True),
        Method("orbax", _orbax_save, _orbax_restore, MODEL_KINDS, needs_fit=True,
               needs_module="orbax.checkpoint"),
    )
}
METHOD_CHOICES = METHOD_NAMES


def default_method(setup: Setup) -> str:
    """`user` when the Setup checkpoints itself, else tf.train.Checkpoint, or the .keras file where
    tf.train.Checkpoint cannot take the model (a Keras model on the JAX backend)."""
    if setup.has_own_checkpointing:
        return "user"
    return "checkpoint" if METHODS["checkpoint"].unavailable(setup) is None else "keras"
