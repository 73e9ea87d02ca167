"""The inspector: what a checkpoint artifact holds, and how two artifacts differ — without running them.

`read_artifact(path)` reads TF object checkpoints (a prefix such as `ckpt-3`, or a directory whose
`checkpoint` state file names the latest), SavedModel directories (`variables/variables` only),
`.keras` archives, Keras 3 `.weights.h5` and legacy `.h5` files, and Orbax checkpoint directories. It
never executes code from the artifact: no `load_model`, no unpickling, no Lambda layers; config JSON is
parsed as JSON only, HDF5 is read with h5py, TF checkpoints are parsed by `tf_bundle` (TensorFlow is
never imported), and Orbax directories by `orbax_dir` from their JSON metadata (values unknown).
`diff_artifacts(a, b, atol, rtol)` compares two of them.

Artifacts are untrusted: every size they declare is checked before anything is allocated or inflated
(`limits.py`), tensor values are read in bounded chunks, and bad input is a CkptlintError (one line).

Component names (`Variable.component`, `Inventory.components_present()`, `--require`):

- ``model``          model weights (trainable and non-trainable, e.g. BatchNorm moving statistics)
- ``optimizer``      optimizer slots (Adam's momentum/velocity, SGD's momentum) and optimizer variables
                     such as ``learning_rate``; ``components_present()`` also lists it when an optimizer
                     holds only ``iterations``
- ``iterations``     an optimizer's step count (drives learning-rate schedules and Adam's bias correction)
- ``step counters``  integer scalar variables outside model and optimizer (``step``, ``epoch``)
- ``save counter``   ``tf.train.Checkpoint``'s own ``save_counter``
- ``rng``            random-generator state (``tf.random.Generator``, Keras seed generators)
- ``data iterator``  ``tf.data`` iterator state (a variant tensor: listed, never compared)
- ``other``          anything else (e.g. a float variable saved directly on the checkpoint)

Importing this package does not import numpy or h5py; only reading an artifact does.
"""

from __future__ import annotations

from pathlib import Path

from ckptlint.inspect.diff import DiffResult, VariableDiff
from ckptlint.inspect.inventory import COMPONENTS, Inventory, OptimizerInfo, Variable

__all__ = [
    "COMPONENTS", "DiffResult", "Inventory", "OptimizerInfo", "Variable", "VariableDiff",
    "diff_artifacts", "read_artifact",
]


def read_artifact(path: str | Path) -> Inventory:
    """Read and classify an artifact. Raises ckptlint.errors.CkptlintError for bad input.

    The returned Inventory keeps the file open for `Variable.values()`; use it as a context manager or
    call `close()` when done.
    """
    from ckptlint.inspect.read import read_artifact as _read

    return _read(path)


def diff_artifacts(a: str | Path | Inventory, b: str | Path | Inventory, atol: float = 0.0,
                   rtol: float = 0.0) -> DiffResult:
    """Compare two artifacts (paths or inventories) variable by variable; values equal when
    |a - b| <= atol + rtol * |b| elementwise."""
    from ckptlint.inspect.diff import diff_inventories

    ia = a if isinstance(a, Inventory) else read_artifact(a)
    try:
        ib = b if isinstance(b, Inventory) else read_artifact(b)
        try:
            return diff_inventories(ia, ib, atol=atol, rtol=rtol)
        finally:
            if ib is not b:
                ib.close()
    finally:
        if ia is not a:
            ia.close()
