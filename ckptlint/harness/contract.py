"""The `Setup` a user's factory returns: everything the harness needs to train, save and restore.

Kept free of TensorFlow imports so that `from ckptlint.harness import Setup` costs nothing at the top of a
training script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass
class Setup:
    """One fresh training setup, built by the user's factory.

    Everything stateful must be created by the factory (not at module import time): the harness builds
    several fresh setups in one process and compares them, so state shared between them would leak.

    model       -- the Keras model (Keras 3 or tf_keras), or any trackable (tf.Module, dict/list of models)
                   holding the variables. It may be unbuilt (a subclassed model whose layers create their
                   variables on the first call): the state is then read when the first update uses it.
    optimizers  -- name -> optimizer; `optimizer=` is a shortcut for optimizers["optimizer"].
    train_step  -- callable(batch) -> loss (or callable() -> loss when `batch` is None). When omitted the
                   compiled model is trained with `model.train_on_batch(*batch)`.
    fit         -- `model.fit` keyword arguments, or callable(directory) -> them (so callbacks write into the
                   directory the harness gives): train the way the program does, with its own
                   callbacks (BackupAndRestore, ModelCheckpoint), epochs and `initial_epoch`. The
                   interruption then happens inside `fit`, right after update N; the resumed run calls
                   `fit(**fit)` again on the restored Setup (after `restore`, when there is one).
    batch       -- callable(step_index) -> batch, so every run sees the same data. When None, train_step()
                   pulls its own data and the data position becomes part of what is verified.
    state       -- name -> extra trackable state: tf.Variable step counters, tf.random.Generator,
                   tf.data iterators, Keras metrics.
    save        -- save(directory): the project's own checkpoint code (the code path under test).
    restore     -- restore(directory): the project's own restore code. It may return a new Setup (for
                   example after `load_model`), which then replaces this one.
    """

    model: Any
    optimizers: dict[str, Any] = field(default_factory=dict)
    train_step: Optional[Callable[..., Any]] = None
    batch: Optional[Callable[[int], Any]] = None
    state: dict[str, Any] = field(default_factory=dict)
    save: Optional[Callable[[str], Any]] = None
    restore: Optional[Callable[[str], Any]] = None
    optimizer: Any = None
    fit: Optional[Any] = None  # dict of fit() keyword arguments, or callable(directory) -> that dict

    def __post_init__(self) -> None:
        self.optimizers = dict(self.optimizers or {})
        self.state = dict(self.state or {})
        if self.optimizer is not None:
            if "optimizer" in self.optimizers and self.optimizers["optimizer"] is not self.optimizer:
                raise ValueError("Setup got both optimizer= and optimizers['optimizer']")
            self.optimizers["optimizer"] = self.optimizer
        if not self.optimizers:
            compiled = getattr(self.model, "optimizer", None)
            if compiled is not None:
                self.optimizers["optimizer"] = compiled
        self.optimizer = self.optimizers.get("optimizer")
        if isinstance(self.fit, dict):
            self.fit = dict(self.fit)

    def problems(self) -> list[str]:
        """What makes this Setup unusable, in the user's terms (empty when it is fine)."""
        found = []
        if self.model is None:
            found.append("Setup.model is None: give the model (or a tf.Module/dict holding the models)")
        if self.fit is not None and self.train_step is not None:
            found.append("Setup has both fit= and train_step=: choose one way to train")
        if self.fit is not None and not hasattr(self.model, "fit"):
            found.append("Setup.fit needs a Keras model with .fit()")
        if self.fit is not None and not callable(self.fit) and not isinstance(self.fit, dict):
            found.append(f"Setup.fit is a {type(self.fit).__name__}: give a dict of fit() keyword arguments, or a "
                         "function of the checkpoint directory returning one")
        if isinstance(self.fit, dict):
            for key in ("epochs", "x"):
                if key not in self.fit:
                    found.append(f"Setup.fit has no {key!r}: give fit() keyword arguments, e.g. "
                                 "fit={'x': dataset, 'epochs': 4, 'callbacks': [...]}")
        for name, value in (("train_step", self.train_step), ("batch", self.batch), ("save", self.save),
                            ("restore", self.restore)):
            if value is not None and not callable(value):
                found.append(f"Setup.{name} is a {type(value).__name__}, not a callable")
        if not isinstance(self.state, dict) or not isinstance(self.optimizers, dict):
            found.append("Setup.state and Setup.optimizers must be dicts")
        return found

    @property
    def has_own_checkpointing(self) -> bool:
        """True when the project supplied its own save/restore pair (the default method is then `user`)."""
        return self.save is not None and self.restore is not None
