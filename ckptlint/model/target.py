"""Which Keras generation a module is written for. Rules whose claim holds for one generation only
(Keras 3 rejects `save_format=` and `options=`; Keras 2's `.h5` keys optimizer state by name) ask this
and stay quiet on code written for the other.

The project's own declaration comes first (`keras-version` in `[tool.ckptlint]`, or the dependency pins
ckptlint reads from the project's files: ckptlint.lint.target); the module's code is the fallback: an
import only Keras 2 has (`tf_keras`, `tensorflow.python.keras`, `keras.engine`), the legacy optimizers,
`TF_USE_LEGACY_KERAS=1` set in code, or TF1 APIs. Without either, the generation is unknown and
callers decide (the rules treat unknown as Keras 3, the generation every TF >= 2.16 installs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from ckptlint.model.module import ModuleModel

_KERAS2_IMPORTS = ("tf_keras", "tensorflow.python.keras", "keras.engine", "tensorflow.keras.engine",
                   "keras.optimizers.legacy", "tensorflow.keras.optimizers.legacy", "tensorflow.compat.v1",
                   "keras.legacy")
_LEGACY_ENV = "TF_USE_LEGACY_KERAS"


def keras2_signal(module: ModuleModel) -> str | None:
    """Why the module's own code can only be Keras 2 code, or None."""
    for local, imported in module.imports().items():
        if imported.startswith(_KERAS2_IMPORTS):
            return f"imports `{imported}`"
    for call in module.calls:
        callee = call.callee or ""
        if callee.startswith("tf.compat.v1.") and callee not in ("tf.compat.v1.train.latest_checkpoint",):
            return f"uses TF1's `{callee}`"
        path = module.import_path(call.node.func) or ""
        if ".optimizers.legacy." in f".{path}.":
            return f"uses the legacy optimizer `{path}`"
        if _sets_legacy_env(module, call):
            return f"sets {_LEGACY_ENV}=1"
    for node, scope in module.attribute_reads("environ"):
        # os.environ["TF_USE_LEGACY_KERAS"] = "1"
        for parent in module.enclosing(node)[:3]:
            if isinstance(parent, cst.Assign) and _is_legacy_env_target(module, parent, scope):
                return f"sets {_LEGACY_ENV}=1"
    return None


def _sets_legacy_env(module: ModuleModel, call) -> bool:
    """`os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")`, `os.putenv(...)`, `environ.update(...)`."""
    if call.method not in ("setdefault", "putenv", "update") and call.callee != "os.putenv":
        return False
    texts = [module.string_value(arg.value, call.scope) for arg in call.node.args]
    return _LEGACY_ENV in texts or (call.method == "update" and _LEGACY_ENV in module.code_of(call.node))


def _is_legacy_env_target(module: ModuleModel, assign: cst.Assign, scope) -> bool:
    for target in assign.targets:
        node = target.target
        if isinstance(node, cst.Subscript) and node.slice:
            element = node.slice[0].slice
            if isinstance(element, cst.Index) and module.string_value(element.value, scope) == _LEGACY_ENV:
                value = module.string_value(assign.value, scope)
                return value is None or value.strip().lower() in ("1", "true", "yes")
    return False
