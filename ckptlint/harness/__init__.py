"""The runtime harness: prove that a save/restore really resumes training.

`ckptlint verify path/to/train.py:make_setup` trains 2N steps uninterrupted (run A); trains N steps, saves,
and in a FRESH process restores into a fresh setup and trains N more (run B); then diffs every variable
right after restore, compares A with B bitwise, and checks that a cold start would have been caught.

Importing this package is cheap: `Setup` is a plain dataclass and `verify`/`assert_resumes` import
TensorFlow only when called, so training scripts can `from ckptlint.harness import Setup` freely.
"""

from __future__ import annotations

from typing import Any

from ckptlint.harness.contract import Setup

__all__ = ["Setup", "verify", "assert_resumes"]


def verify(*args: Any, **kwargs: Any) -> Any:
    """See ckptlint.harness.api.verify."""
    from ckptlint.harness.api import verify as _verify

    return _verify(*args, **kwargs)


def assert_resumes(*args: Any, **kwargs: Any) -> Any:
    """See ckptlint.harness.api.assert_resumes."""
    from ckptlint.harness.api import assert_resumes as _assert_resumes

    return _assert_resumes(*args, **kwargs)
