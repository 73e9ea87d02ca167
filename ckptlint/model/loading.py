"""Facts about loading models and weights back: which bindings receive a loaded model, where a module
saves models, and why a load is the resume of the module's own training rather than a pretrained start.
The checkpoint-path and load/resume rules (CKPT203-206) share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from ckptlint.model.facts import Call, Key, Scope
from ckptlint.model.module import ModuleModel
from ckptlint.model.paths import file_identity, file_kind, same_path
from ckptlint.model.vocabulary import KERAS_TRAINING_METHODS, LOAD_MODEL, OPTIMIZER_METHODS, SAVE_MODEL
from ckptlint.model.walk import subtree, walk


# ---- loads, saves, training --------------------------------------------------------------------
@dataclass(eq=False)
class LoadedModel:
    call: Call  # the load_model call
    key: Key  # the binding that receives the model
    via: Call | None = None  # the call of a local helper that returns the loaded model, when there is one

    @property
    def at(self) -> Call:
        """Where the binding receives the model: the helper's call, else the load itself."""
        return self.via if self.via is not None else self.call


def loaded_models(module: ModuleModel) -> Iterator[LoadedModel]:
    """Each binding assigned the result of `load_model(...)` (also `load_model(p) if c else build()`),
    directly or through a local helper that returns what `load_model` returned (`load_or_build()`)."""
    for binding in module.bindings.values():
        for assignment in binding.assignments:
            for node in _value_calls(assignment.value):
                call = module.call_at(node)
                if call is None:
                    continue
                if call.callee in LOAD_MODEL:
                    yield LoadedModel(call, binding.key)
                elif call.callee is not None and call.callee.startswith("local:"):
                    for obj in module.objects(node, call.scope, call.order):
                        load = module.call_at(obj.node) if obj.callee in LOAD_MODEL else None
                        if load is not None and load.callee in LOAD_MODEL and load.function is not call.function:
                            yield LoadedModel(load, binding.key, via=call)


def _value_calls(value: cst.BaseExpression | None) -> list[cst.Call]:
    if isinstance(value, cst.Call):
        return [value]
    if isinstance(value, cst.IfExp):
        return _value_calls(value.body) + _value_calls(value.orelse)
    return []


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
        identity = file_identity(module, expr, call.scope)
        if identity is not None:
            found.append((identity, call))
    return found


def training_calls(module: ModuleModel, key: Key, after: int = 0) -> list[Call]:
    return [c for c in module.calls if c.receiver == key and c.method in KERAS_TRAINING_METHODS and c.order > after]


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
    return any(c.method in KERAS_TRAINING_METHODS or c.method in OPTIMIZER_METHODS for c in module.calls)


def trained_later(module: ModuleModel, key: Key, after: int, scope: Scope) -> bool:
    """The model is trained after `after` here, or handed to a caller in a module that trains. For an
    attribute of a class (`self.model`), a training call in another method of the class counts wherever
    it stands in the file: methods run in the order they are called, not the order they are written."""
    if training_calls(module, key, after):
        return True
    binding = module.bindings.get(key)
    if binding is not None and binding.scope.kind == "class":
        here = _function_of(scope)
        if any(call.function is not here for call in training_calls(module, key)):
            return True
    return returned_from_function(module, key, scope) and module_trains(module)


def _function_of(scope: Scope) -> Scope | None:
    while scope is not None and scope.kind != "function":
        scope = scope.parent
    return scope


def resume_evidence(module: ModuleModel, load_call: Call, key: Key, path_expr: cst.BaseExpression | None,
                    after: int | None = None) -> str | None:
    """Why this load is a resume of the module's own training rather than a pretrained start. `after`:
    where the binding `key` receives the model, when a helper returns it (default: the load itself)."""
    identity = file_identity(module, path_expr, load_call.scope)
    for saved, call in save_paths(module):
        if same_path(identity, saved):
            return "this script also saves to that path"
    for call in training_calls(module, key, load_call.order if after is None else after):
        if call.kwarg("initial_epoch") is not None:
            return "training continues with `initial_epoch=`"
    return None


def imports_keras2(module: ModuleModel) -> bool:
    """The module imports `tf_keras` (Keras 2 APIs, whose signatures and optimizers differ)."""
    return any(full.split(".")[0] == "tf_keras" for full in module.imports().values())


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


