"""The probe: what the black-box hook does inside the user's process.

Loaded by the injected sitecustomize as the private top-level package `_ckptlint_probe` (relative imports
only; it never imports ckptlint). It seeds every generator and turns on op determinism as soon as the
framework is imported, counts optimizer updates, notes every save and restore with a snapshot of the
training state, kills the process at the update (or inside the save) the trial asks for, and writes
what it saw as JSON lines and .npz snapshots into the trial's record directory.

Nothing here may break the program: each patched entry point calls the original whatever happens, and
the first failure of the probe itself is reported on one line, recorded, and switches the probe off.
"""

from __future__ import annotations

from .postimport import install_post_import_hooks
from .state import Probe


def start(config_path: str) -> Probe:
    """Read the trial configuration and arm the post-import hooks (called once, at interpreter start)."""
    probe = Probe.from_config_file(config_path)
    probe.seed_python()

    from . import frameworks

    install_post_import_hooks({
        "numpy": lambda module: probe.guard("numpy set-up", frameworks.on_numpy, probe, module),
        "tensorflow": lambda module: probe.guard("tensorflow set-up", frameworks.on_tensorflow, probe, module),
        "keras": lambda module: probe.guard("keras set-up", frameworks.on_keras, probe, module),
        "tf_keras": lambda module: probe.guard("tf_keras set-up", frameworks.on_tf_keras, probe, module),
    })
    return probe
