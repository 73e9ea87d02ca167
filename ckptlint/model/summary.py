"""What other modules of a project need to know of a module: a small description, plain data (it is
cached as JSON), of what each module-level function returns and whether it trains, what each class is
(a Keras model? a callback?), what it keeps on `self` and what its methods do, and the module's path
constants.

A module that imports `build_model` from `models.py` reads this summary of `models.py` instead of
parsing it again: `model = build_model(cfg)` is then known to be a compiled Keras model, `model, opt =
make()` a model and an optimizer, `Trainer(model).train()` a call that trains. What a summary cannot say
stays unknown, and rules stay quiet about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import libcst as cst

from ckptlint.model.facts import Role, Scope

if TYPE_CHECKING:  # pragma: no cover
    from ckptlint.model.module import ModuleModel
    from ckptlint.model.values import Obj

SUMMARY_VERSION = 1


class Imports(Protocol):
    """How a module's model reaches the summaries of the project modules it imports (the engine
    resolves import paths to files; the model never reads a file)."""

    def resolve(self, dotted: str) -> tuple[dict, tuple[str, ...]] | None:
        """The summary of the module an import path names, and the attribute path left inside it
        (`models.build_model` -> (summary of models.py, ("build_model",))); None when the path is not
        a module of this project."""


def summarize(model: ModuleModel) -> dict:
    """The summary of one module (see the module docstring)."""
    from ckptlint.model.paths import module_constants

    functions = {}
    classes = {}
    for scope in model.functions:
        if scope.parent is model.module_scope:
            functions[scope.name] = _function(model, scope)
    for cls in model.classes:
        if cls.parent is not model.module_scope:
            continue
        bases = sorted(model.values.all_bases(cls))
        instance = model.values.instance(cls)
        attributes = {}
        for key, binding in model.bindings.items():
            if binding.name.startswith("self.") and any(key[0] == id(member) for member in model.values.class_family(cls)):
                described = describe(model, model.objects_of(key))
                if described["roles"] or described["compiled"]:
                    attributes[binding.name[len("self."):]] = described
        methods = {scope.name: _function(model, scope) for scope in model.functions if scope.parent is cls}
        for name, scope in ((s.name, s) for s in model.functions if s.parent is cls):
            methods[name]["trains_attributes"] = _trained_attributes(model, cls, scope)
        classes[cls.name] = {
            "bases": bases,
            "roles": sorted(role.value for role in instance.built),
            "attributes": attributes,
            "methods": methods,
            "init_attributes": _init_attributes(model, cls),
        }
    return {"version": SUMMARY_VERSION, "functions": functions, "classes": classes,
            "constants": module_constants(model)}


def _attribute_names(model: ModuleModel, cls: Scope, objects) -> list[str]:
    """The `self.<name>` attributes of a class (and its family) that may hold one of `objects`."""
    names = []
    family = {id(member) for member in model.values.class_family(cls)}
    for key, binding in model.bindings.items():
        if key[0] in family and binding.name.startswith("self.") and model.objects_of(key) & objects:
            names.append(binding.name[len("self."):])
    return sorted(set(names))


def _trained_attributes(model: ModuleModel, cls: Scope, scope: Scope) -> list[dict]:
    """What a method trains, as the instance's attributes: `self.optimizer.apply_gradients(... 
    self.model.trainable_variables)` is {"optimizer": ["optimizer"], "models": ["model"]}."""
    found = []
    for training in model.training():
        call = training.call
        inner: Scope | None = call.scope
        while inner is not None and inner is not scope:
            inner = inner.parent
        if inner is None or training.compiled:
            continue
        optimizers = _attribute_names(model, cls, training.optimizers)
        models = _attribute_names(model, cls, training.models)
        if optimizers and models:
            found.append({"optimizer": optimizers, "models": models})
    return found


def _init_attributes(model: ModuleModel, cls: Scope) -> dict[str, list[str]]:
    """Which attributes `__init__` stores each of its parameters in (`self.model = model`)."""
    init = model.values.method_of(cls, "__init__")
    if init is None:
        return {}
    mapping: dict[str, list[str]] = {}
    for key, binding in model.bindings.items():
        if not binding.name.startswith("self."):
            continue
        for assignment in binding.assignments:
            value = assignment.value
            if assignment.scope is init and isinstance(value, cst.Name) and value.value in init.params:
                mapping.setdefault(value.value, []).append(binding.name[len("self."):])
    return mapping


def _function(model: ModuleModel, scope: Scope) -> dict:
    returned = model.values.returned(scope)
    elements: dict[str, dict] = {}
    for obj in returned:
        if obj.kind.value == "container" and not elements:
            for index, (value, inner) in enumerate(obj.elements):
                elements[str(index)] = describe(model, model.objects(value, inner))
    return {
        "returns": describe(model, frozenset(o for o in returned if o.kind.value != "container")),
        "elements": elements,
        "trains": model.trains(scope),
        "params": list(scope.params),
        "restores": _unchecked_restores(model, scope),
        "saves_weights_only": _saves_weights_only(model, scope),
    }


def _saves_weights_only(model: ModuleModel, scope: Scope) -> bool:
    """A method that saves `self` without the optimizer (`self.save_weights(path)`, `self.model.save(path,
    include_optimizer=False)`): a caller that uses it as the training checkpoint loses the optimizer."""
    for call in model.calls:
        if call.function is not scope or call.receiver_expr is None:
            continue
        root = call.receiver_expr
        while isinstance(root, cst.Attribute):
            root = root.value
        if not (isinstance(root, cst.Name) and root.value == "self"):
            continue
        include = call.kwarg("include_optimizer")
        if call.method == "save_weights" or (call.method == "save" and isinstance(include, cst.Name)
                                             and include.value == "False"):
            return True
    return False


def _unchecked_restores(model: ModuleModel, scope: Scope) -> list[str]:
    """The parameters of a function holding a checkpoint whose restore status the function discards
    (`def restore_checkpoint(path, checkpoint): checkpoint.restore(path)`): the caller decides whether
    that restore resumes training."""
    from ckptlint.model.restores import status_fate

    found: list[str] = []
    for call in model.calls:
        if call.function is not scope or call.method not in ("restore", "read") or call.receiver_expr is None:
            continue
        if status_fate(model, call) not in ("discarded", "unused"):
            continue
        root = call.receiver_expr
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name) and root.value in (*scope.params, *scope.kwonly) and root.value not in found:
            found.append(root.value)  # `self` for a wrapper's own checkpoint
    return found


def describe(model: ModuleModel, objects: frozenset[Obj]) -> dict:
    """What a set of objects is, as another module may rely on: roles and whether it is a model compiled
    with an optimizer (then Keras saves that optimizer with it)."""
    roles: set[str] = set()
    compiled = legacy = False
    for obj in objects:
        roles |= {role.value for role in obj.roles}
        compiled = compiled or model.is_compiled(obj)
        path = model.import_path(obj.node.func) if isinstance(obj.node, cst.Call) else None
        legacy = legacy or bool(path and (".legacy." in f".{path}." or ".compat.v1." in f".{path}."))
    described = {"roles": sorted(roles), "compiled": compiled}
    if legacy:
        described["legacy"] = True  # a Keras 2 legacy or TF1 optimizer: it has get_weights()
    return described


def roles_of(described: dict | None) -> set[Role]:
    if not described:
        return set()
    return {Role(value) for value in described.get("roles", ()) if value in Role._value2member_map_}


def lookup(summary: dict, path: tuple[str, ...]) -> tuple[str, dict] | None:
    """("function"|"class"|"method", entry) for an attribute path inside a module's summary."""
    if len(path) == 1:
        if path[0] in summary.get("functions", {}):
            return "function", summary["functions"][path[0]]
        if path[0] in summary.get("classes", {}):
            return "class", summary["classes"][path[0]]
    if len(path) == 2 and path[0] in summary.get("classes", {}):
        method = summary["classes"][path[0]].get("methods", {}).get(path[1])
        if method is not None:
            return "method", method
    return None
