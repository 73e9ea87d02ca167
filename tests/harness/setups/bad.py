"""Broken factories (no TensorFlow needed to be wrong)."""

from __future__ import annotations

NOT_CALLABLE = 42


def make_raises():
    raise RuntimeError("dataset directory /data/train not found")


def make_wrong_type():
    return {"model": None}
