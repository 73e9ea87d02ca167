"""ckptlint: find and prove checkpoint-correctness bugs in TensorFlow/Keras training code.

Importing this package is cheap on purpose: `ckptlint --version` and the pre-commit path must not pay
for libcst, let alone TensorFlow.
"""

__version__ = "0.1.0"
