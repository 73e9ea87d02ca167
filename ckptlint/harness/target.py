"""Resolve `path/to/train.py:make_setup`, `package.module:make_setup` or a callable to a factory.

A target is turned into a `TargetRef` (plain strings) so that a fresh worker process can load the very
same factory again. Every problem is a `CkptlintError` naming the target: no traceback for user mistakes.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, Callable, Mapping, Optional

from ckptlint.errors import CkptlintError
from ckptlint.harness.contract import Setup


@dataclass(frozen=True)
class TargetRef:
    """Where a factory lives: a file path or an importable module name, plus the attribute path."""

    attr: str
    path: Optional[str] = None
    module: Optional[str] = None

    def describe(self) -> str:
        """As the user would type it: a file under the working directory by its relative path."""
        where = self.module or self.path or ""
        if self.path and not self.module:
            relative = os.path.relpath(self.path)
            where = relative if not relative.startswith("..") else self.path
        return f"{where}:{self.attr}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TargetRef":
        return cls(attr=data["attr"], path=data.get("path"), module=data.get("module"))


def parse_target(target: Any) -> TargetRef:
    """Turn what the user passed (string or callable) into a TargetRef, without importing anything."""
    if callable(target):
        return _ref_for_callable(target)
    if not isinstance(target, str) or ":" not in target:
        raise CkptlintError(
            f"bad target {target!r}: expected 'path/to/train.py:make_setup' or 'package.module:make_setup'"
        )
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise CkptlintError(f"bad target {target!r}: missing module/file or factory name")
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise CkptlintError(f"{where}: no such file")
        return TargetRef(attr=attr, path=path)
    return TargetRef(attr=attr, module=where)


def _ref_for_callable(fn: Callable[..., Any]) -> TargetRef:
    qualname = getattr(fn, "__qualname__", "")
    module_name = getattr(fn, "__module__", None)
    if not qualname or "<locals>" in qualname or "<lambda>" in qualname or module_name is None:
        raise CkptlintError(
            f"factory {fn!r} must be defined at module level so a fresh process can import it again"
        )
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if module_name == "__main__" or module_name.startswith("_ckptlint_target_"):
        if not path:
            raise CkptlintError(f"factory {qualname} lives in a module without a file")
        return TargetRef(attr=qualname, path=os.path.abspath(path))
    return TargetRef(attr=qualname, module=module_name, path=os.path.abspath(path) if path else None)


def load_factory(ref: TargetRef) -> Callable[..., Any]:
    """Import the module (by name, else by file) and return the factory callable."""
    module = _import_module(ref)
    obj: Any = module
    for part in ref.attr.split("."):
        if not hasattr(obj, part):
            raise CkptlintError(f"{ref.describe()}: {ref.path or ref.module} has no attribute {part!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise CkptlintError(f"{ref.describe()}: {ref.attr} is not callable")
    return obj


def _import_module(ref: TargetRef) -> ModuleType:
    if ref.module:
        try:
            return importlib.import_module(ref.module)
        except ModuleNotFoundError as exc:
            if ref.path is None:
                raise CkptlintError(f"{ref.describe()}: cannot import {ref.module!r} ({exc})") from None
        except Exception as exc:  # the user's module raised while importing
            raise CkptlintError(f"{ref.describe()}: importing {ref.module} raised {one_line(exc)}") from None
    assert ref.path is not None
    return _import_file(ref.path, ref.describe())


def _import_file(path: str, label: str) -> ModuleType:
    """Import a file under a unique module name, with its directory on sys.path.

    Sibling modules cached from another directory (buggy/ vs fixed/ twins both have `model.py`) are
    dropped from sys.modules first, so each target sees its own siblings.
    """
    if not os.path.isfile(path):
        raise CkptlintError(f"{path}: no such file")
    directory = os.path.dirname(path)
    _forget_modules_outside(directory)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = "_ckptlint_target_" + hashlib.sha1(path.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CkptlintError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        from ckptlint.harness.userfault import describe

        raise CkptlintError(f"{label}: importing {os.path.basename(path)} raised {describe(exc).one_line()}") from None
    return module


def _forget_modules_outside(directory: str) -> None:
    """Drop cached plain-file sibling modules of *other* target directories (not packages, not stdlib)."""
    targets = [m for m in list(sys.modules) if m.startswith("_ckptlint_target_")]
    target_dirs = {
        os.path.dirname(getattr(sys.modules[m], "__file__", "") or "") for m in targets
    } - {directory}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and "." not in name and os.path.dirname(os.path.abspath(file)) in target_dirs:
            del sys.modules[name]


def declared_parameters(ref: TargetRef) -> Optional[set[str]]:
    """The parameter names of a factory written as a plain top-level `def`, read from its source without
    importing it: the CLI checks a contract before any process starts and without TensorFlow. None when
    the source cannot tell (a dotted module, a nested attribute, a decorated or assigned callable)."""
    import ast

    path = ref.path
    if ref.module:
        if "." in ref.module:
            return None  # finding it would import its parent packages
        try:
            spec = importlib.util.find_spec(ref.module)
        except (ImportError, ValueError):
            spec = None
        path = spec.origin if spec is not None and spec.origin and spec.origin.endswith(".py") else path
    if not path or "." in ref.attr:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None  # importing it will give the real error
    found: Optional[set[str]] = None
    for node in tree.body:  # the last top-level binding of the name wins, as at import time
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == ref.attr:
            a = node.args
            found = None if node.decorator_list else {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.ClassDef, ast.Import, ast.ImportFrom)):
            names = {getattr(t, "id", None) for t in getattr(node, "targets", [getattr(node, "target", None)])}
            names |= {getattr(node, "name", None)} | {(a.asname or a.name) for a in getattr(node, "names", [])}
            if ref.attr in names:
                found = None
    return found


def call_factory(factory: Callable[..., Any], ref: TargetRef, strategy: Any) -> Setup:
    """Call the factory (passing `strategy` when it accepts one) and check it returned a Setup."""
    try:
        params: Mapping[str, inspect.Parameter] = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    try:
        result = factory(strategy=strategy) if "strategy" in params else factory()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        from ckptlint.harness.userfault import describe

        raise CkptlintError(f"factory {ref.describe()} raised {describe(exc).one_line()}") from None
    if not isinstance(result, Setup):
        raise CkptlintError(
            f"factory {ref.describe()} returned {type(result).__name__}, expected ckptlint.harness.Setup"
        )
    return result


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
