"""Train with the program's own `model.fit(**kwargs)`, and interrupt it inside `fit` right after update N.

Everything a training program does in `fit` — BackupAndRestore, ModelCheckpoint, `initial_epoch`, re-running
an interrupted epoch, epoch numbering — only happens there, so `train_on_batch` cannot test it. A Setup
says `fit=dict(x=..., epochs=..., callbacks=[...])`, or better `fit=lambda directory: dict(...)` so its
callbacks write into the directory the harness gives (the uninterrupted run, the cold start and the
interrupted run each get their own). A callback placed after the program's own records the loss, the
weights and the (epoch, batch) of every update; the interruption is an exception it raises at the end of
update N, after the program's callbacks have done their work for that batch (a kill right after it).

The resumed run calls `fit(**kwargs)` again on a fresh Setup (after Setup.restore, when the program has one),
as rerunning the script does. Where it resumed from is found by matching its first update's weights with
the uninterrupted run's weights after each update 0..N: a resume from an earlier save (the last epoch end)
is correct as long as the work from there is redone exactly once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ckptlint.harness.contract import Setup


class Interrupted(Exception):
    """Raised inside `fit` at the end of update N: the harness's simulated kill."""


@dataclass
class FitLog:
    losses: list[list[float]] = field(default_factory=list)
    weight_vectors: list[np.ndarray] = field(default_factory=list)
    positions: list[tuple[int, int]] = field(default_factory=list)  # (epoch, batch) of each update
    interrupted: bool = False


def fit_kwargs(setup: Setup, directory: str) -> dict[str, Any]:
    """The keyword arguments for `fit`, given the directory the program's callbacks should write into."""
    spec = setup.fit
    kwargs = dict(spec(directory) if callable(spec) else spec or {})
    kwargs.setdefault("verbose", 0)
    return kwargs


def run_fit(setup: Setup, directory: str, interrupt_at: Optional[int] = None,
            on_update: Optional[Callable[[int, Setup], None]] = None,
            on_first_batch: Optional[Callable[[Setup], None]] = None) -> FitLog:
    """Call `model.fit` the program's way, recording every update; stop after `interrupt_at` updates."""
    import keras

    from ckptlint.harness.snapshot import weights_vector
    from ckptlint.harness.training import loss_values

    log = FitLog()
    os.makedirs(directory, exist_ok=True)
    kwargs = fit_kwargs(setup, directory)

    class Recorder(keras.callbacks.Callback):
        """Last in the callback list: sees each update after the program's callbacks handled it."""

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if not log.positions and not getattr(self, "started", False):
                self.started = True
                if on_first_batch is not None:
                    on_first_batch(setup)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            logs = logs or {}
            log.losses.append(loss_values(logs.get("loss")))
            log.weight_vectors.append(weights_vector(setup))
            log.positions.append((int(getattr(self, "epoch", 0)), int(batch)))
            if on_update is not None:
                on_update(len(log.positions), setup)
            if interrupt_at is not None and len(log.positions) >= interrupt_at:
                log.interrupted = True
                raise Interrupted()

    callbacks = list(kwargs.pop("callbacks", None) or [])
    try:
        setup.model.fit(callbacks=[*callbacks, Recorder()], **kwargs)
    except Interrupted:
        pass
    return log


def resume_point(restored_weights: np.ndarray, a_weights: np.ndarray, last: int) -> Optional[int]:
    """The update k (0..last) after which the uninterrupted run had exactly these weights, latest first."""
    for k in range(min(last, len(a_weights) - 1), -1, -1):
        row = a_weights[k]
        if row.shape == restored_weights.shape and np.array_equal(row, restored_weights, equal_nan=False):
            return k
    return None
