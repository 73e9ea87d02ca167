"""Replace a function or method with a wrapper that always calls the original."""

from __future__ import annotations

import functools
from typing import Any, Callable

_MARK = "_ckptlint_probe_original"


def wrap(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> bool:
    """owner.name = make(original), once; False when owner has no such attribute."""
    original = getattr(owner, name, None)  # on a class, possibly inherited: the wrapper then shadows it there
    if original is None or hasattr(original, _MARK):
        return False
    wrapper = functools.wraps(original)(make(original))
    setattr(wrapper, _MARK, original)
    setattr(owner, name, wrapper)
    return True
