"""What paths a module saves to and reads from, as far as the code says.

- `path_value`: the static value of a path expression: string constants, module constants, parameter
  defaults, `os.path.join`, `pathlib` `/`, `+` and f-strings over those. A name imported from another
  module of the project stays symbolic (`\\x00train.CKPT_DIR\\x00`), so the project-wide pass can resolve
  it against that module's constants.
- `file_identity` / `same_path`: what a model-file path is, to match a `model.save` with the load that
  resumes from it (its value, the binding it names, or the file name at its end).
- `prefix_identity`: what a checkpoint prefix or directory is, to match a `Checkpoint.save` prefix with a
  `latest_checkpoint` argument (inside a join, a parameter compares by its name).
- `file_kind`: `.keras`, legacy `.h5` or `.weights.h5`, from the path.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterator

import libcst as cst

from ckptlint.model.builder import dotted_name
from ckptlint.model.facts import Call, Key, Role, Scope
from ckptlint.model.module import ModuleModel
from ckptlint.model.vocabulary import LATEST_CHECKPOINT, TF1_SAVERS

_JOINS = frozenset({"os.path.join", "posixpath.join", "ntpath.join", "tf.io.gfile.join"})


_PATHS = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "os.fspath", "str"})


PLACEHOLDER = "\x00"


SYMBOL = "\x02"


def path_value(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope, _depth: int = 0,
               symbolic: bool = False, directory: bool = False) -> str | None:
    """The static value of a path expression, or None when it depends on run-time values.

    With `symbolic=True` a run-time value stays as a symbol instead (`\x02tmpdir#<scope>\x02/ckpt`), so two
    paths built from the same name in one module compare equal; symbols mean nothing outside the module."""
    if expr is None or _depth > 8:
        return None
    if symbolic:
        value = path_value(module, expr, scope, _depth)
        if value is not None:
            return value
        return _symbolic(module, expr, scope, _depth, directory)
    value = module.string_value(expr, scope)
    if value is not None:
        return value
    if isinstance(expr, cst.FormattedString):
        parts: list[str] = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression) and part.format_spec is None and part.conversion is None:
                inner = path_value(module, part.expression, scope, _depth + 1)
                if inner is None:
                    return None
                parts.append(inner)
            else:
                return None
        return "".join(parts)
    if isinstance(expr, cst.BinaryOperation):
        left = path_value(module, expr.left, scope, _depth + 1)
        right = path_value(module, expr.right, scope, _depth + 1)
        if left is None or right is None:
            return None
        if isinstance(expr.operator, cst.Add):
            return left + right
        if isinstance(expr.operator, cst.Divide):  # pathlib
            return posixpath.join(left, right)
        return None
    if isinstance(expr, cst.Call):
        callee = _callee_path(module, expr.func)
        args = [a.value for a in expr.args if a.keyword is None and not a.star]
        if len(args) != len(expr.args) or not args:
            return None
        values = [v for a in args if (v := path_value(module, a, scope, _depth + 1)) is not None]
        if len(values) != len(args):
            return None
        if callee in _JOINS:
            return posixpath.join(*values)
        if callee in _PATHS and len(values) == 1:
            return values[0]
        return None
    if isinstance(expr, (cst.Name, cst.Attribute)):
        imported = _imported_symbol(module, expr)
        if imported is not None:
            return f"{PLACEHOLDER}{imported}{PLACEHOLDER}"
        key = module.key_of(expr, scope)
        if key is not None and key in module.bindings:
            binding = module.bindings[key]
            assigned = [a.value for a in binding.assignments]
            if binding.is_parameter and len(assigned) == 1:
                default = _parameter_default(binding.scope, binding.name)
                return path_value(module, default, binding.scope.parent or binding.scope, _depth + 1) if default is not None else None
            if len(assigned) == 1 and assigned[0] is not None and assigned[0] is not expr:
                return path_value(module, assigned[0], binding.assignments[0].scope, _depth + 1)
    return None


def _symbolic(module: ModuleModel, expr: cst.BaseExpression, scope: Scope, depth: int,
              directory: bool = False) -> str | None:
    """A path whose run-time parts stay symbols. A parameter used as a directory (`directory` in
    `directory + "/ckpt"`, in a join, or given to `latest_checkpoint`) is one symbol in every function of
    the module, by its name: `save(m, directory)` and `resume(m, directory)` mean the same place. A bare
    parameter used as a whole path is not (`save(m, path)` may get a prefix, `load(m, path)` another)."""
    if depth > 8:
        return None
    if isinstance(expr, (cst.Name, cst.Attribute)):
        key = module.key_of(expr, scope)
        if key is not None and key in module.bindings:
            binding = module.bindings[key]
            values = [a.value for a in binding.assignments]
            if len(values) > 1:
                return None  # rebound: two uses may see different values
            if values[0] is not None and values[0] is not expr:
                inner = path_value(module, values[0], binding.assignments[0].scope, depth + 1, symbolic=True)
                if inner is not None:
                    return inner
            if directory and binding.is_parameter and binding.scope.kind == "function":
                return f"{SYMBOL}{binding.name}#parameter{SYMBOL}"
            return f"{SYMBOL}{binding.name}#{key[0]}{SYMBOL}"
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head = module.key_of(cst.Name(dotted.split(".")[0]), scope) if isinstance(expr, cst.Attribute) else None
        if head is not None and head in module.bindings and len(module.bindings[head].assignments) > 1:
            return None
        return f"{SYMBOL}{dotted}#{head[0] if head else 'm'}{SYMBOL}"
    if isinstance(expr, cst.Call):
        callee = _callee_path(module, expr.func)
        if callee in _JOINS and expr.args and all(a.keyword is None and not a.star for a in expr.args):
            parts = [p for index, a in enumerate(expr.args)
                     if (p := path_value(module, a.value, scope, depth + 1, symbolic=True,
                                         directory=index < len(expr.args) - 1)) is not None]
            return posixpath.join(*parts) if len(parts) == len(expr.args) else None
        if callee in _PATHS and len(expr.args) == 1:
            return path_value(module, expr.args[0].value, scope, depth + 1, symbolic=True)
        return None
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Divide)):
        left = path_value(module, expr.left, scope, depth + 1, symbolic=True, directory=True)
        right = path_value(module, expr.right, scope, depth + 1, symbolic=True)
        if left is None or right is None:
            return None
        return left + right if isinstance(expr.operator, cst.Add) else posixpath.join(left, right)
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression) and part.format_spec is None and part.conversion is None:
                inner = path_value(module, part.expression, scope, depth + 1, symbolic=True)
                if inner is None:
                    return None
                parts.append(inner)
            else:
                return None
        return "".join(parts)
    return None


def _callee_path(module: ModuleModel, func: cst.BaseExpression) -> str | None:
    """The import path of a callee, without canonicalisation (`os.path.join`); `str` for the builtin."""
    if isinstance(func, cst.Name) and func.value == "str":
        return "str"
    return module.import_path(func)


def _imported_symbol(module: ModuleModel, expr: cst.BaseExpression) -> str | None:
    """`CKPT_DIR` from `from config import CKPT_DIR`, or `config.CKPT_DIR`: an imported project constant
    (never a TF/Keras/stdlib symbol: those are not paths)."""
    full = module.import_path(expr)
    if full is None or "." not in full:
        return None
    if full.split(".")[0] in {"tensorflow", "tf", "keras", "tf_keras", "os", "sys", "pathlib", "absl", "numpy"}:
        return None
    return full


def _parameter_default(scope: Scope, name: str) -> cst.BaseExpression | None:
    node = scope.node
    if not isinstance(node, cst.FunctionDef):
        return None
    params = node.params
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        if param.name.value == name:
            return param.default
    return None


def module_constants(module: ModuleModel) -> dict[str, str]:
    """Module-level names bound once to a static path/string: what other modules may import."""
    result: dict[str, str] = {}
    for binding in module.bindings.values():
        if binding.scope.kind != "module" or len(binding.assignments) != 1:
            continue
        assignment = binding.assignments[0]
        if assignment.value is None:
            continue
        value = path_value(module, assignment.value, assignment.scope)
        if value is not None:
            result[binding.name] = value
    return result


def resolve_placeholders(value: str, constants_by_module: dict[str, dict[str, str]]) -> str | None:
    """Replace `\\x00mod.NAME\\x00` with the constant NAME of module `mod`; None if one is unknown."""

    def lookup(match: re.Match) -> str:
        module_name, _, name = match.group(1).rpartition(".")
        for candidate, constants in constants_by_module.items():
            if (candidate == module_name or candidate.endswith("." + module_name)) and name in constants:
                if PLACEHOLDER not in constants[name]:
                    return constants[name]
        raise KeyError(match.group(1))

    try:
        return re.sub(f"{PLACEHOLDER}([^{PLACEHOLDER}]+){PLACEHOLDER}", lookup, value)
    except KeyError:
        return None


def resolve_imported(value: str, module: ModuleModel) -> str:
    """Replace each `\\x00mod.NAME\\x00` whose module the project import resolver can read by that
    constant's value; the others stay for the project pass."""

    def lookup(match: re.Match) -> str:
        found = module.imported_constant(match.group(1))
        return found if found is not None and PLACEHOLDER not in found else match.group(0)

    return re.sub(f"{PLACEHOLDER}([^{PLACEHOLDER}]+){PLACEHOLDER}", lookup, value)


def module_name_of(path: str) -> str:
    """`src/pkg/train.py` -> `src.pkg.train` (matched by suffix against imports)."""
    stem = path[:-3] if path.endswith(".py") else path
    stem = stem.replace("\\", "/")
    if stem.endswith("/__init__"):
        stem = stem[: -len("/__init__")]
    return stem.strip("./").replace("/", ".")


def normalize(path: str) -> str:
    path = path.replace("\\", "/")
    return posixpath.normpath(path) if path else path


def file_identity(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope) -> tuple[str, Any] | None:
    """What a path argument is, for comparing a save with a load in the same module: its static value
    when known, else the binding it names, else its file-name tail (`os.path.join(d, "m.keras")`)."""
    if expr is None:
        return None
    value = path_value(module, expr, scope)
    if value is not None:
        return ("value", normalize(value))
    key = module.key_of(expr, scope)
    if key is not None:
        assignments = module.bindings[key].assignments if key in module.bindings else []
        if len(assignments) == 1 and assignments[0].value is not None and assignments[0].value is not expr:
            inner = file_identity(module, assignments[0].value, assignments[0].scope)
            if inner is not None and inner[0] != "binding":
                return inner
        return ("binding", key)
    tail = _tail(module, expr, scope)
    return ("tail", tail) if tail else None


def _tail(module: ModuleModel, expr: cst.BaseExpression, scope: Scope) -> str | None:
    """The literal file name at the end of a join/f-string/`/` whose head is dynamic."""
    if isinstance(expr, cst.Call) and _callee_path(module, expr.func) in _JOINS and expr.args:
        last = path_value(module, expr.args[-1].value, scope)
        return posixpath.basename(last) if last and posixpath.basename(last) else None
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Divide, cst.Add)):
        last = path_value(module, expr.right, scope)
        if not last or (isinstance(expr.operator, cst.Add) and "/" not in last and "." not in last):
            return None
        return posixpath.basename(last) or None
    if isinstance(expr, cst.FormattedString) and expr.parts and isinstance(expr.parts[-1], cst.FormattedStringText):
        text = expr.parts[-1].value
        return posixpath.basename(text) if "/" in text or "." in text else None
    return None


def same_path(a: tuple[str, Any] | None, b: tuple[str, Any] | None) -> bool:
    if a is None or b is None:
        return False
    if a == b:
        return True
    kinds = {a[0], b[0]}
    if kinds == {"value", "tail"} or kinds == {"tail"}:
        left, right = a[1], b[1]
        return posixpath.basename(left) == posixpath.basename(right)
    return False


def file_kind(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope) -> str | None:
    """`weights.h5`, `h5` (legacy full model), `keras`, or None, from the path's static value or tail."""
    identity = file_identity(module, expr, scope)
    if identity is None or identity[0] == "binding":
        return None
    name = str(identity[1]).lower()
    if name.endswith(".weights.h5"):
        return "weights.h5"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    if name.endswith(".keras"):
        return "keras"
    return None


@dataclass
class PrefixWrite:
    call: Call
    expr: cst.BaseExpression
    identity: object


def prefix_identity(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope,
                  _in_join: bool = False) -> object:
    """What a path expression denotes, comparable across call sites: its string value when known,
    else the binding it names, else (for `os.path.join(...)`) the identities of its parts. Inside a
    join, a parameter compares by its name: `os.path.join(directory, "ckpt")` in `save(self,
    directory)` and in `restore(self, directory)` is the same prefix. A bare parameter does not
    (`save(self, path)` may get a prefix and `restore(self, path)` a directory)."""
    if expr is None:
        return None
    value = module.string_value(expr, scope)
    if value is not None:
        return ("str", value)
    key = module.key_of(expr, scope)
    if key is not None:
        binding = module.bindings.get(key)
        if _in_join and binding is not None and binding.is_parameter and len(binding.assignments) == 1:
            return ("parameter", binding.name)
        return ("binding", key)
    if isinstance(expr, cst.Call) and module.qualify(expr.func) == "os.path.join":
        parts = tuple(prefix_identity(module, arg.value, scope, True) for arg in expr.args)
        if all(part is not None for part in parts) and not any(arg.star for arg in expr.args):
            return ("join", parts)
    return None


def prefix_writes(module: ModuleModel) -> list[PrefixWrite]:
    """Calls that write a checkpoint at a file *prefix* (not a directory): `Checkpoint.save/write`,
    Keras `model.save_weights` in the TF format, and TF1 `Saver.save(sess, prefix)`."""
    from ckptlint.model.restores import is_checkpoint_receiver

    result: list[PrefixWrite] = []
    savers = _saver_keys(module)
    for call in module.calls:
        expr = None
        if call.method in ("save", "write") and is_checkpoint_receiver(module, call):
            expr = call.arg(0, "file_prefix")
        elif call.method == "save_weights" and Role.MODEL in module.roles(call.receiver):
            expr = call.arg(0, "filepath")
        elif call.method == "save" and call.receiver is not None and call.receiver in savers:
            expr = call.arg(1, "save_path")
        if expr is None:
            continue
        identity = prefix_identity(module, expr, call.scope)
        if identity is not None:
            result.append(PrefixWrite(call, expr, identity))
    return result


def _saver_keys(module: ModuleModel) -> set[Key]:
    keys: set[Key] = set()
    for binding in module.bindings.values():
        for assignment in binding.assignments:
            value = assignment.value
            if isinstance(value, cst.Call) and module.qualify(value.func) in TF1_SAVERS:
                keys.add(binding.key)
    return keys


def latest_checkpoint_calls(module: ModuleModel) -> Iterator[Call]:
    return (call for call in module.calls if call.callee in LATEST_CHECKPOINT)


def directory_identities(module: ModuleModel) -> set[object]:
    """Paths this module uses as checkpoint *directories* (CheckpointManager, BackupAndRestore)."""
    result: set[object] = set()
    for call in module.calls_to("tf.train.CheckpointManager"):
        identity = prefix_identity(module, call.arg(1, "directory"), call.scope)
        if identity is not None:
            result.add(identity)
    return result


def ends_with_separator(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope, depth: int = 3) -> bool:
    """A path that ends in `/` (or `+ os.sep`) names a directory: `save("run/")` writes `run/-1.index`
    and `run/checkpoint`, so `latest_checkpoint("run/")` finds it."""
    if expr is None or depth <= 0:
        return False
    value = module.string_value(expr, scope)
    if value is not None:
        return value.endswith(("/", "\\"))
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        return module.qualify(expr.right) == "os.sep" or ends_with_separator(module, expr.right, scope, depth - 1)
    if isinstance(expr, cst.FormattedString):
        last = expr.parts[-1] if expr.parts else None
        return isinstance(last, cst.FormattedStringText) and last.value.endswith(("/", "\\"))
    key = module.key_of(expr, scope)
    if key is not None and key in module.bindings:
        assignments = module.bindings[key].assignments
        if len(assignments) == 1 and assignments[0].value is not None and assignments[0].value is not expr:
            return ends_with_separator(module, assignments[0].value, assignments[0].scope, depth - 1)
    return False
