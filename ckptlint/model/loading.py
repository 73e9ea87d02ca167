"""Facts about where things are saved to and loaded from, read off a ModuleModel.

Functions, not a pass of their own: the checkpoint-path and load/resume rules (CKPT203-206) share them.

- `path_value`: the static value of a path expression: string constants, module constants, parameter
  defaults, `os.path.join`, `pathlib` `/`, `+` and f-strings over those. A name imported from another
  module of the project stays symbolic (`\\x00train.CKPT_DIR\\x00`), so the project-wide pass can
  resolve it against that module's constants.
- `loaded_models`: bindings that receive the result of `load_model` (directly or through `x if c else y`).
- `resume_evidence`: why a load is the resume of this script's own training (it writes the same path,
  or passes `initial_epoch=`), which separates a resume from fine-tuning a pretrained model.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from ckptlint.model.builder import dotted_name
from ckptlint.model.walk import subtree, walk
from ckptlint.model.facts import Call, Key, Scope
from ckptlint.model.module import ModuleModel

LOAD_MODEL = frozenset({"keras.models.load_model"})
SAVE_MODEL = frozenset({"keras.models.save_model"})
TRAIN_METHODS = frozenset({"fit", "train_on_batch", "fit_generator"})
_JOINS = frozenset({"os.path.join", "posixpath.join", "ntpath.join", "tf.io.gfile.join"})
_PATHS = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "os.fspath", "str"})
PLACEHOLDER = "\x00"


# ---- path values --------------------------------------------------------------------------------
SYMBOL = "\x02"


def path_value(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope, _depth: int = 0,
               symbolic: bool = False) -> str | None:
    """The static value of a path expression, or None when it depends on run-time values.

    With `symbolic=True` a run-time value stays as a symbol instead (`\x02tmpdir#<scope>\x02/ckpt`), so two
    paths built from the same name in one module compare equal; symbols mean nothing outside the module."""
    if expr is None or _depth > 8:
        return None
    if symbolic:
        value = path_value(module, expr, scope, _depth)
        if value is not None:
            return value
        return _symbolic(module, expr, scope, _depth)
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
        callee = _raw_name(module, expr.func)
        args = [a.value for a in expr.args if a.keyword is None and not a.star]
        if len(args) != len(expr.args) or not args:
            return None
        values = [path_value(module, a, scope, _depth + 1) for a in args]
        if any(v is None for v in values):
            return None
        if callee in _JOINS:
            return posixpath.join(*values)  # type: ignore[arg-type]
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
            values = [a.value for a in binding.assignments]
            if binding.is_parameter and len(values) == 1:
                default = _parameter_default(binding.scope, binding.name)
                return path_value(module, default, binding.scope.parent or binding.scope, _depth + 1) if default is not None else None
            if len(values) == 1 and values[0] is not None and values[0] is not expr:
                return path_value(module, values[0], binding.assignments[0].scope, _depth + 1)
    return None


def _symbolic(module: ModuleModel, expr: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
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
            return f"{SYMBOL}{binding.name}#{key[0]}{SYMBOL}"
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head = module.key_of(cst.Name(dotted.split(".")[0]), scope) if isinstance(expr, cst.Attribute) else None
        if head is not None and head in module.bindings and len(module.bindings[head].assignments) > 1:
            return None
        return f"{SYMBOL}{dotted}#{head[0] if head else 'm'}{SYMBOL}"
    if isinstance(expr, cst.Call):
        callee = _raw_name(module, expr.func)
        if callee in _JOINS and expr.args and all(a.keyword is None and not a.star for a in expr.args):
            parts = [path_value(module, a.value, scope, depth + 1, symbolic=True) for a in expr.args]
            return None if any(p is None for p in parts) else posixpath.join(*parts)  # type: ignore[arg-type]
        if callee in _PATHS and len(expr.args) == 1:
            return path_value(module, expr.args[0].value, scope, depth + 1, symbolic=True)
        return None
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Divide)):
        left = path_value(module, expr.left, scope, depth + 1, symbolic=True)
        right = path_value(module, expr.right, scope, depth + 1, symbolic=True)
        if left is None or right is None:
            return None
        return left + right if isinstance(expr.operator, cst.Add) else posixpath.join(left, right)
    if isinstance(expr, cst.FormattedString):
        parts: list[str] = []
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


def _raw_name(module: ModuleModel, func: cst.BaseExpression) -> str | None:
    """The fully qualified import path of a callee, without canonicalisation (`os.path.join`)."""
    if isinstance(func, cst.Name) and func.value == "str":
        return "str"
    dotted = dotted_name(func)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head in module.builder.aliases:
        return module.builder.aliases[head] + (f".{rest}" if rest else "")
    return None


def _imported_symbol(module: ModuleModel, expr: cst.BaseExpression) -> str | None:
    """`CKPT_DIR` from `from config import CKPT_DIR`, or `config.CKPT_DIR`: an imported project constant
    (never a TF/Keras/stdlib symbol: those are not paths)."""
    full = _raw_name(module, expr)
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


# ---- loads, saves, training --------------------------------------------------------------------
@dataclass(eq=False)
class LoadedModel:
    call: Call  # the load_model call
    key: Key  # the binding that receives the model


def loaded_models(module: ModuleModel) -> Iterator[LoadedModel]:
    """Each binding assigned the result of `load_model(...)` (also `load_model(p) if c else build()`)."""
    for binding in module.bindings.values():
        for assignment in binding.assignments:
            for node in _value_calls(assignment.value):
                call = module.builder.calls_by_node.get(id(node))
                if call is not None and call.callee in LOAD_MODEL:
                    yield LoadedModel(call, binding.key)


def _value_calls(value: cst.BaseExpression | None) -> list[cst.Call]:
    if isinstance(value, cst.Call):
        return [value]
    if isinstance(value, cst.IfExp):
        return _value_calls(value.body) + _value_calls(value.orelse)
    return []


def path_identity(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope) -> object:
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
            inner = path_identity(module, assignments[0].value, assignments[0].scope)
            if inner is not None and inner[0] != "binding":  # type: ignore[index]
                return inner
        return ("binding", key)
    tail = _tail(module, expr, scope)
    return ("tail", tail) if tail else None


def _tail(module: ModuleModel, expr: cst.BaseExpression, scope: Scope) -> str | None:
    """The literal file name at the end of a join/f-string/`/` whose head is dynamic."""
    if isinstance(expr, cst.Call) and _raw_name(module, expr.func) in _JOINS and expr.args:
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


def same_path(a: object, b: object) -> bool:
    if a is None or b is None:
        return False
    if a == b:
        return True
    kinds = {a[0], b[0]}  # type: ignore[index]
    if kinds == {"value", "tail"} or kinds == {"tail"}:
        left, right = a[1], b[1]  # type: ignore[index]
        return posixpath.basename(left) == posixpath.basename(right)
    return False


def save_paths(module: ModuleModel) -> list[tuple[object, Call]]:
    """Where this module saves models or weights: `model.save`, `save_weights`, `save_model`, and the
    `filepath` of a `ModelCheckpoint` callback."""
    found: list[tuple[object, Call]] = []
    for call in module.calls:
        expr = None
        if call.method in ("save", "save_weights") and call.receiver_expr is not None:
            roles = {r.value for r in module.roles(call.receiver)}
            if "checkpoint" in roles or "manager" in roles:
                continue
            expr = call.arg(0, "filepath")
            # a model, or anything saved to a Keras model file (`model` is often a parameter)
            if "model" not in roles and file_kind(module, expr, call.scope) is None:
                continue
        elif call.callee in SAVE_MODEL:
            expr = call.arg(1, "filepath")
        elif call.callee == "keras.callbacks.ModelCheckpoint":
            expr = call.arg(0, "filepath")
        identity = path_identity(module, expr, call.scope)
        if identity is not None:
            found.append((identity, call))
    return found


def training_calls(module: ModuleModel, key: Key, after: int = 0) -> list[Call]:
    return [c for c in module.calls if c.receiver == key and c.method in TRAIN_METHODS and c.order > after]


def returned_from_function(module: ModuleModel, key: Key, scope: Scope) -> bool:
    """The binding is returned by the function that holds it (the model flows to the caller)."""
    function = scope
    while function is not None and function.kind != "function":
        function = function.parent
    if function is None:
        return False
    for expr in module.builder.returns.get(id(function), []):
        candidates = expr.elements if isinstance(expr, cst.Tuple) else [expr]
        for element in candidates:
            value = element.value if isinstance(element, cst.Element) else element
            if module.key_of(value, function) == key:
                return True
            if isinstance(value, cst.Call) and any(
                module.key_of(arg.value, function) == key for arg in value.args
            ):
                return True  # `return Setup(model=model, ...)`
    return False


def module_trains(module: ModuleModel) -> bool:
    return any(c.method in TRAIN_METHODS or c.method in ("apply_gradients", "minimize") for c in module.calls)


def trained_later(module: ModuleModel, key: Key, after: int, scope: Scope) -> bool:
    """The model is trained after `after` here, or handed to a caller in a module that trains."""
    if training_calls(module, key, after):
        return True
    return returned_from_function(module, key, scope) and module_trains(module)


def resume_evidence(module: ModuleModel, load_call: Call, key: Key, path_expr: cst.BaseExpression | None) -> str | None:
    """Why this load is a resume of the module's own training rather than a pretrained start."""
    identity = path_identity(module, path_expr, load_call.scope)
    for saved, call in save_paths(module):
        if same_path(identity, saved):
            return "this script also saves to that path"
    for call in training_calls(module, key, load_call.order):
        if call.kwarg("initial_epoch") is not None:
            return "training continues with `initial_epoch=`"
    return None


def imports_keras2(module: ModuleModel) -> bool:
    """The module imports `tf_keras` (Keras 2 APIs, whose signatures and optimizers differ)."""
    return any(full.split(".")[0] == "tf_keras" for full in module.builder.aliases.values())


def exclusive(module: ModuleModel, first: cst.CSTNode, second: cst.CSTNode) -> bool:
    """The two nodes sit in different branches of one `if`/`else` (or a `try` body and its handler), so
    one does not run after the other."""
    branches = module.__dict__.get("_loading_branches")
    if branches is None:
        branches = _branch_pairs(module.module)
        module.__dict__["_loading_branches"] = branches
    for left, right in branches:
        if (id(first) in left and id(second) in right) or (id(first) in right and id(second) in left):
            return True
    return False


def _branch_pairs(root: cst.Module) -> list[tuple[set[int], set[int]]]:
    pairs: list[tuple[set[int], set[int]]] = []

    def ids(node: cst.CSTNode | None) -> set[int]:
        return set() if node is None else {id(inner) for inner in subtree(node)}

    class _Visit(cst.CSTVisitor):
        def visit_If(self, node: cst.If) -> None:
            if node.orelse is not None:
                pairs.append((ids(node.body), ids(node.orelse)))

        def visit_IfExp(self, node: cst.IfExp) -> None:
            pairs.append((ids(node.body), ids(node.orelse)))

        def visit_Try(self, node: cst.Try) -> None:
            handlers: set[int] = set()
            for handler in node.handlers:
                handlers |= ids(handler)
            if handlers:
                pairs.append((ids(node.body), handlers))

    walk(root, _Visit())
    return pairs


def is_false(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def keeps_model_optimizer(module: ModuleModel, expr: cst.BaseExpression | None, model: Key, scope: Scope) -> bool:
    """`compile(optimizer=model.optimizer)` (or a name bound to `model.optimizer`): keeps the restored one."""
    if expr is None:
        return False
    if isinstance(expr, cst.Attribute) and expr.attr.value == "optimizer" and module.key_of(expr.value, scope) == model:
        return True
    key = module.key_of(expr, scope)
    if key is not None and key in module.bindings:
        return any(
            a.value is not None and keeps_model_optimizer(module, a.value, model, a.scope)
            for a in module.bindings[key].assignments
        )
    return False


def file_kind(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope) -> str | None:
    """`weights.h5`, `h5` (legacy full model), `keras`, or None, from the path's static value or tail."""
    identity = path_identity(module, expr, scope)
    if identity is None or identity[0] == "binding":  # type: ignore[index]
        return None
    name = str(identity[1]).lower()  # type: ignore[index]
    if name.endswith(".weights.h5"):
        return "weights.h5"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    if name.endswith(".keras"):
        return "keras"
    return None
