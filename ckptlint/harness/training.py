"""Run training steps on a Setup and turn whatever the step returns into loss numbers.

Every call into user code is wrapped so a failure becomes a `PhaseError` naming the phase
("batch", "train step", "save", "restore") with the framework's one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar

import numpy as np

from ckptlint.errors import CkptlintError
from ckptlint.harness.contract import Setup
from ckptlint.harness.userfault import UserFault, describe

T = TypeVar("T")

# Told (steps done, steps in this run) after every step: the supervisor's progress line on a terminal.
_step_listener: Optional[Callable[[int, int], None]] = None


def report_steps(listener: Optional[Callable[[int, int], None]]) -> None:
    """Send each finished step to `listener` (a child process passes its channel to the supervisor)."""
    global _step_listener
    _step_listener = listener


class PhaseError(Exception):
    """User code failed during a phase; carries the phase name, a one-line message naming the user's file
    and line, and the user's traceback (shown by `verify --verbose`)."""

    def __init__(self, phase: str, message: str, fault: Optional[UserFault] = None) -> None:
        super().__init__(f"{phase}: {message}")
        self.phase = phase
        self.message = message
        self.fault = fault

    def to_dict(self) -> dict[str, Any]:
        """The report's `error` object."""
        return {"phase": self.phase, "message": self.message,
                "where": self.fault.where if self.fault else None,
                "traceback": self.fault.traceback if self.fault else None}


def guarded(phase: str, fn: Callable[..., T], *args: Any) -> T:
    """Call user code; any exception becomes a PhaseError (KeyboardInterrupt still propagates)."""
    try:
        return fn(*args)
    except KeyboardInterrupt:
        raise
    except PhaseError:
        raise
    except BaseException as exc:
        fault = describe(exc)
        raise PhaseError(phase, fault.one_line(), fault) from exc


@dataclass
class StepLog:
    """Losses per step (each step may return several numbers, e.g. a GAN's d and g losses)."""

    losses: list[list[float]] = field(default_factory=list)
    weight_vectors: list[np.ndarray] = field(default_factory=list)


def check_trainable(setup: Setup) -> None:
    """A Setup must say how to train: its own train_step, a compiled model plus batch(), or fit()."""
    if setup.fit is not None:
        if getattr(setup.model, "optimizer", None) is None:
            raise CkptlintError("Setup.fit needs a compiled model (model.compile(optimizer=..., loss=...))")
        return
    if setup.train_step is None:
        if setup.batch is None:
            raise CkptlintError("the Setup has neither train_step nor batch: nothing to train on")
        if getattr(setup.model, "optimizer", None) is None or not hasattr(setup.model, "train_on_batch"):
            raise CkptlintError("the Setup has no train_step and its model is not a compiled Keras model")


def run_steps(
    setup: Setup,
    first: int,
    count: int,
    record_weights: bool,
    on_step: Optional[Callable[[int, Setup], None]] = None,
) -> StepLog:
    """Train steps first..first+count-1, with batch(step) when the Setup supplies data."""
    from ckptlint.harness.snapshot import weights_vector

    log = StepLog()
    for step in range(first, first + count):
        if setup.batch is not None:
            batch = guarded("batch", setup.batch, step)
            loss = guarded("train step", _step_fn(setup), batch)
        else:
            loss = guarded("train step", _step_fn(setup))
        log.losses.append(loss_values(loss))
        if record_weights:
            log.weight_vectors.append(weights_vector(setup))
        if on_step is not None:
            on_step(step, setup)
        if _step_listener is not None:
            _step_listener(step - first + 1, count)
    return log


def _step_fn(setup: Setup) -> Callable[..., Any]:
    if setup.train_step is not None:
        return setup.train_step
    model = setup.model

    def train_on_batch(batch: Any) -> Any:
        if isinstance(batch, dict):
            return model.train_on_batch(**batch)
        if isinstance(batch, (tuple, list)):
            return model.train_on_batch(*batch)
        return model.train_on_batch(batch)

    return train_on_batch


def loss_values(loss: Any) -> list[float]:
    """Flatten a returned loss (tensor, float, list, tuple, dict, PerReplica) to a list of floats."""
    if loss is None:
        return []
    if isinstance(loss, dict):
        return [v for key in sorted(loss) for v in loss_values(loss[key])]
    if isinstance(loss, (list, tuple)):
        return [v for item in loss for v in loss_values(item)]
    if hasattr(loss, "values") and not hasattr(loss, "numpy") and isinstance(getattr(loss, "values"), tuple):
        return [float(np.mean([np.mean(np.asarray(v)) for v in loss.values]))]
    value = loss.numpy() if hasattr(loss, "numpy") else loss
    return [float(np.mean(np.asarray(value, dtype=np.float64)))]
