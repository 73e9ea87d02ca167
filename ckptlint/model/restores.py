"""Restores: whether a restore resumes training, and what becomes of the status it returns."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ckptlint.model.facts import Call, Key, Role, Scope
from ckptlint.model.mentions import Mentions, mentions
from ckptlint.model.module import ModuleModel
from ckptlint.model.vocabulary import RESTORE_STATUS_CHECKS


# ---- training context ---------------------------------------------------------------------------------
def resumes_training(module: ModuleModel, call: Call, depth: int = 3) -> bool:
    """Whether code that runs around `call` trains: the function holding it (or a local function it
    calls) trains, a sibling method of its class trains, a caller of its function trains, or the call is
    at module level in a module that trains."""
    function = call.function
    if function is None:
        return module.trains(module.builder.module_scope)
    if in_test_case(function):
        return False
    return _scope_trains(module, function, depth, set())


def in_test_case(scope: Scope) -> bool:
    """A method of a unittest-style test class (`tf.test.TestCase`, `absltest.TestCase`, Keras'
    `testing.TestCase`...): tests exercise framework behaviour on purpose and check values themselves."""
    cls = scope.enclosing_class()
    return cls is not None and any(base.split(".")[-1] == "TestCase" for base in cls.bases)


def _scope_trains(module: ModuleModel, function: Scope, depth: int, seen: set[int]) -> bool:
    if id(function) in seen:
        return False
    seen.add(id(function))
    if module.trains(function):
        return True
    cls = function.enclosing_class()
    if cls is not None and module.trains(cls):
        return True
    if depth <= 0:
        return False
    for other in module.calls:
        if module.local_function(other) is function:
            caller = other.function
            if caller is None:
                if module.trains(module.builder.module_scope):
                    return True
            elif _scope_trains(module, caller, depth - 1, seen):
                return True
    return False


# ---- checkpoint restores and their status ---------------------------------------------------------------
@dataclass
class RestoreFact:
    call: Call  # `ckpt.restore(path)` / `ckpt.read(path)`
    status: str  # "checked" | "discarded" | "unused" (assigned, never read) | "used" (kept, passed on...)
    status_keys: tuple[Key, ...] = ()


def checkpoint_restores(module: ModuleModel, uses: Mentions | None = None) -> list[RestoreFact]:
    """Every `restore`/`read` of a `tf.train.Checkpoint` and what becomes of the status it returns."""
    result: list[RestoreFact] = []
    for call in module.method_calls(("restore", "read")):
        if not is_checkpoint_receiver(module, call):
            continue
        result.append(RestoreFact(call, "", call.assigned_to))
    if not result:
        return result
    for fact in result:
        fact.status = _status_fate(module, fact.call, uses)
        if fact.status == "unused-pending":
            uses = uses if uses is not None else mentions(module)
            fact.status = _status_fate(module, fact.call, uses)
    return result


def is_checkpoint_receiver(module: ModuleModel, call: Call) -> bool:
    if call.receiver is not None:
        return Role.CHECKPOINT in module.roles(call.receiver) or \
            Role.CHECKPOINT in parameter_roles(module, call.receiver)
    expr = call.receiver_expr
    if isinstance(expr, cst.Call):
        return module.qualify(expr.func) == "tf.train.Checkpoint"
    if isinstance(expr, cst.Attribute) and expr.attr.value == "checkpoint":
        owner = module.key_of(expr.value, call.scope)
        return Role.MANAGER in module.roles(owner)
    return False


def _status_fate(module: ModuleModel, call: Call, uses: Mentions | None) -> str:
    if any(m in RESTORE_STATUS_CHECKS for m in call.chained):
        return "checked"
    if call.chained:
        return "used"
    if call.discarded:
        return "discarded"
    if not call.assigned_to:
        return "used"  # returned, passed to a function, tested in a condition...
    checked = any(
        other.receiver in call.assigned_to and other.method in RESTORE_STATUS_CHECKS
        for other in module.calls
    )
    if checked:
        return "checked"
    if uses is None:
        return "unused-pending"
    for key in call.assigned_to:
        if uses.reads(key):
            return "used"
    return "unused"


def roles_with_aliases(module: ModuleModel, key: Key | None) -> set[Role]:
    """Roles of a binding plus those of bindings assigned straight from it: a constructor parameter
    `model` stored as `self.model = model` is the model that `self.model.trainable_variables` shows."""
    if key is None:
        return set()
    roles = set(module.roles(key))
    for binding in module.bindings.values():
        for assignment in binding.assignments:
            if assignment.value is not None and module.key_of(assignment.value, assignment.scope) == key:
                roles |= binding.roles
    return roles


def parameter_roles(module: ModuleModel, key: Key | None) -> set[Role]:
    """Roles of the arguments passed for a parameter at the module's own call sites of its function:
    `def load(ckpt, d): ckpt.restore(...)` called as `load(tf.train.Checkpoint(...), d)`."""
    binding = module.bindings.get(key) if key is not None else None
    if binding is None or not binding.is_parameter or binding.scope.kind != "function":
        return set()
    function = binding.scope
    node = function.node
    if not isinstance(node, cst.FunctionDef):
        return set()
    params = [p.name.value for p in [*node.params.posonly_params, *node.params.params]]
    if binding.name not in params and binding.name not in [p.name.value for p in node.params.kwonly_params]:
        return set()
    roles: set[Role] = set()
    for call in module.calls:
        if module.local_function(call) is not function:
            continue
        index = params.index(binding.name) if binding.name in params else None
        if index is not None and params and params[0] == "self" and call.receiver_expr is not None:
            index -= 1
        value = call.arg(index, binding.name) if index is not None and index >= 0 else call.kwarg(binding.name)
        if value is not None:
            roles |= module.roles_of_expr(value, call.scope)
    return roles


