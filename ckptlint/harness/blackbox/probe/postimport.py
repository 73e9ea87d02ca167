"""Run a callback right after a module finishes importing, without importing it ourselves.

Importing TensorFlow eagerly in every Python process the command starts would cost seconds each; waiting
for the program's own `import tensorflow` costs nothing, and the callback still runs before any line of
user code can touch the framework.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any, Callable


class _CallbackLoader(importlib.abc.Loader):
    """Delegates to the real loader, then calls the callback with the finished module."""

    def __init__(self, loader: Any, finished: Callable[[Any], None]) -> None:
        self._loader = loader
        self._finished = finished

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)  # may fail (TF imports Keras half-initialized, then retries)
        self._finished(module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self, callbacks: dict[str, Callable[[Any], None]]) -> None:
        self._callbacks = dict(callbacks)
        self._busy: set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        callback = self._callbacks.get(fullname)
        if callback is None or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.discard(fullname)
        if spec.loader is None:
            return spec
        spec.loader = _CallbackLoader(spec.loader, lambda module: self._finished(fullname, module))
        return spec

    def _finished(self, fullname: str, module: Any) -> None:
        callback = self._callbacks.pop(fullname, None)  # once per process, after a successful import
        if callback is not None:
            callback(module)


def install_post_import_hooks(callbacks: dict[str, Callable[[Any], None]]) -> None:
    """Call callbacks[name](module) when `name` is imported (at once if it already is)."""
    pending = {}
    for name, callback in callbacks.items():
        if name in sys.modules:
            callback(sys.modules[name])
        else:
            pending[name] = callback
    if pending:
        sys.meta_path.insert(0, _PostImportFinder(pending))
