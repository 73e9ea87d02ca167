"""The check that ckptlint's fast paths through libcst still mean what libcst means.

Two speed-ups lean on libcst internals: the model's walk learns each node's child order from libcst's
`_visit_and_replace_children` source (ckptlint.model.walk), and positions call PositionProvider's
private generation step (ckptlint.lint.positions). A libcst release that changes either would not fail
loudly: the walk would skip or reorder nodes and findings would silently go missing or move. So, the
first time a process is about to analyse a module, both are compared with libcst's public traversal
and positions on a probe module that holds most kinds of statement and expression; when either differs,
that fast path is switched off for the process and the run says so in one notice.
"""

from __future__ import annotations

_PROBE = '''\
"""Probe module."""
from __future__ import annotations
import os, sys as system
from .pkg import name as alias, other
from typing import *

@decorator(arg, key=value)
class Model(Base, metaclass=Meta):
    attr: int = 1
    other: list[str]

    async def run(self, a, /, b: int = 2, *args, c, d=3, **kwargs) -> None:
        """Doc."""
        global counter
        x = y = [i * 2 for i in range(10) if i % 2 if i > 1]
        z = {k: v for k, v in items.items()}
        s = {e for e in x}
        g = (e async for e in stream)
        t = (a, *b, c)
        x += 1; x -= 2
        f = lambda p, *q, r=1, **s: p + r
        value = a if b else c
        name: str = f"{x!r:>{width}} and {y}"
        raw = rb'bytes' b"more"
        text = 'concatenated' "strings" r'raw'
        sliced = seq[1:2:3, ::2, ...]
        call(*args, **kwargs, key=not value, other=-x ** 2)
        chained = obj.attr.method()[0].other
        if (walrus := compute()) and x or not y:
            pass
        elif a < b <= c != d is not e in f not in g:
            await thing
        else:
            del x[0], y.attr
        for i, (j, k) in enumerate(pairs):
            continue
        else:
            ...
        while True:
            break
        try:
            raise Error("message") from cause
        except (TypeError, ValueError) as error:
            assert error, "message"
        except Exception:
            raise
        else:
            return
        finally:
            yield from generator()
        with open(path) as handle, lock:
            yield handle
        async with session as s:
            async for item in s:
                nonlocal_value = ~item & 0xFF | 1 ^ 2 << 3 >> 1 @ matrix // 2
        match command:
            case [first, *rest] if first:
                pass
            case {"key": value, **others}:
                pass
            case Point(x=0, y=0) | None:
                pass
            case _:
                pass


def function(x):
    def inner():
        nonlocal x
        return x
    return inner
'''


_checked: bool = False
_notice: str | None = None


def check() -> str | None:
    """Compare the fast paths with libcst's public ones (once per process; later calls are free) and
    switch off a fast path that disagrees. Returns the one-line notice to show when one was switched
    off, else None."""
    global _checked, _notice
    if _checked:
        return _notice
    _checked = True
    import libcst as cst

    from ckptlint.lint import positions
    from ckptlint.model import walk

    try:
        probe = cst.parse_module(_PROBE)
    except Exception:  # a libcst that cannot parse this Python: nothing fast can be trusted with it
        probe = None
    switched: list[str] = []
    if probe is None or not walk.agrees_with_libcst(probe):
        walk.use_public_traversal()
        switched.append("tree walk")
    if probe is None or not positions.agrees_with_libcst(probe):
        positions.use_public_positions()
        switched.append("positions")
    if switched:
        version = getattr(cst, "__version__", None) or _version()
        _notice = (f"ckptlint: notice: libcst {version}: the fast {' and '.join(switched)} did not match libcst's "
                   f"own on a probe module; using libcst's public (slower) path")
    return _notice


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("libcst")
    except Exception:
        return "(unknown version)"
