"""ckptlint: find and prove checkpoint-correctness bugs in TensorFlow/Keras training code.

Importing this package is cheap on purpose: `ckptlint --version` and the pre-commit path must not pay
for libcst, let alone TensorFlow.
"""

import os as _os

__version__ = "0.2.0"

# The rules live in the repository's top-level rules/ directory and are installed as ckptlint.rules.
# Run from a source tree without installing (`python -m ckptlint` at the repository root or with the
# root on PYTHONPATH), there is no ckptlint/rules: the repository root joins this package's path, so
# `ckptlint.rules` is found in rules/ exactly as an installed copy would find it.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "rules")) and _os.path.isfile(_os.path.join(_root, "rules", "__init__.py")):
    __path__.append(_root)
