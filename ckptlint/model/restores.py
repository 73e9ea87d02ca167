"""Restores: whether a restore resumes training, and what becomes of the status it returns."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ckptlint.model.facts import Call, Key, Role, Scope
from ckptlint.model.values import ObjKind
from ckptlint.model.mentions import Mentions, mentions
from ckptlint.model.module import ModuleModel
from ckptlint.model.vocabulary import MODEL_ATTRIBUTES, RESTORE_STATUS_CHECKS


# ---- training context ---------------------------------------------------------------------------------
def resumes_training(module: ModuleModel, call: Call, depth: int = 3) -> bool:
    """Whether code that runs around `call` trains: the function holding it (or a local function it
    calls) trains, a sibling method of its class trains, a caller of its function trains, or the call is
    at module level in a module that trains. (Coarse: CKPT201 asks `trained_after`, which follows the
    restored objects.)"""
    function = call.function
    if function is None:
        return module.trains(module.builder.module_scope)
    if in_test_case(function):
        return False
    return _scope_trains(module, function, depth, set())


# Methods named for evaluation or inference: a restore there is not the resume of training.
_NOT_TRAINING = ("eval", "test", "predict", "infer", "export", "generate", "translate", "decode", "sample",
                 "serve", "score", "visuali", "plot", "summar", "benchmark", "convert")


def restored_objects(module: ModuleModel, call: Call) -> frozenset:
    """What a `restore`/`read` call restores: the objects held by the checkpoints it may be called on
    (a binding, a parameter, `manager.checkpoint`); empty when unknown."""
    expr = call.receiver_expr
    if expr is None:
        return frozenset()
    facts = module.checkpoints_of(expr, call.scope)
    if not facts and isinstance(expr, cst.Attribute) and expr.attr.value == "checkpoint":
        for obj in module.objects(expr.value, call.scope, call.order):
            facts += [manager.checkpoint for manager in module.managers
                      if manager.obj is obj and manager.checkpoint is not None]
    held: frozenset = frozenset()
    for fact in facts:
        if fact.opaque:
            return frozenset()
        held |= fact.held_objects
    # `ckpt.listed = model.trainable_variables`: the checkpoint holds that model's variables, so training
    # the model trains what it restores
    held |= frozenset(obj.owner for obj in held if obj.kind is ObjKind.DERIVED and obj.owner is not None
                      and obj.attr in MODEL_ATTRIBUTES)
    if not facts and isinstance(expr, cst.Attribute):
        # the checkpoint of an instance of another module's class: it holds that instance's state, and
        # training it means calling one of its methods that trains (ModuleModel.trains_objects)
        held = frozenset(obj.owner for obj in module.objects(expr, call.scope, call.order)
                         if obj.kind is ObjKind.DERIVED and Role.CHECKPOINT in obj.roles and obj.owner is not None
                         and obj.owner.kind is ObjKind.IMPORTED)
    return held


def trained_after(module: ModuleModel, call: Call, objects: frozenset, depth: int = 3,
                  _seen: set[int] | None = None) -> Call | None:
    """A call that trains one of `objects` after `call` runs: later in the same function (directly or
    through a function it calls), later at module level (a later notebook cell), or in a caller after
    the call that leads here; for a trainer's resume method no caller here reaches, a sibling method
    that trains them. None when no such path is seen."""
    if not objects:
        return None
    seen = _seen if _seen is not None else set()
    function = call.function
    if id(call.node) in seen:
        return None
    seen.add(id(call.node))
    for other in module.calls:
        if other.order <= call.order or other.function is not function:
            continue
        if module.trains_objects(other, objects):
            return other
    if function is None or depth <= 0:
        return None
    callers = module.callers(function, instantiations=True)
    for caller in callers:
        found = trained_after(module, caller, objects, depth - 1, seen)
        if found is not None:
            return found
    cls = function.enclosing_class()
    if not callers and cls is not None and not any(word in function.name.lower() for word in _NOT_TRAINING):
        for method in module.functions:
            if method.enclosing_class() is cls and method is not function:
                for other in module.calls:
                    if other.function is method and module.trains_objects(other, objects):
                        return other
    return None


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
    # "checked" | "partial" (only `expect_partial()`) | "discarded" | "unused" (assigned, never read) |
    # "used" (kept, returned, passed on...)
    status: str
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


def imported_restores(module: ModuleModel) -> list[tuple[Call, cst.BaseExpression, str]]:
    """Calls of a function of another project module that restores a checkpoint it is given without
    checking the status: (the call, the argument given for that checkpoint, the parameter's name)."""
    found = []
    for call in module.calls:
        entry = module.imported_call(call)
        if not entry or not entry.get("restores"):
            continue
        params = list(entry.get("params", []))
        if call.receiver_expr is not None and params and params[0] in ("self", "cls") and call.callee is None:
            params = params[1:]
        params = [p for p in params if p != "self"]
        positional = [a.value for a in call.node.args if a.keyword is None and not a.star]
        for name in entry["restores"]:
            if name == "self":
                # a wrapper restoring its own checkpoint: what it was built with is what it restores
                if call.receiver_expr is not None:
                    found.append((call, call.receiver_expr, name))
                continue
            value = call.kwarg(name)
            if value is None and name in params and params.index(name) < len(positional):
                value = positional[params.index(name)]
            if value is not None:
                found.append((call, value, name))
    return found


def status_fate(module: ModuleModel, call: Call) -> str:
    """What becomes of the status a `restore`/`read` call returns (see RestoreFact.status)."""
    fate = _status_fate(module, call, None)
    return _status_fate(module, call, mentions(module)) if fate == "unused-pending" else fate


def is_checkpoint_receiver(module: ModuleModel, call: Call) -> bool:
    if call.receiver is not None:
        return Role.CHECKPOINT in module.roles(call.receiver) or \
            Role.CHECKPOINT in parameter_roles(module, call.receiver)
    expr = call.receiver_expr
    if isinstance(expr, cst.Call):
        return module.qualify(expr.func) == "tf.train.Checkpoint"
    if isinstance(expr, cst.Attribute) and expr.attr.value == "checkpoint":
        owner = module.key_of(expr.value, call.scope)
        if Role.MANAGER in module.roles(owner):
            return True
    # `trainer.checkpoint.restore(p)`: an attribute another module's class sets to a checkpoint
    return isinstance(expr, cst.Attribute) and any(
        obj.kind is ObjKind.DERIVED and Role.CHECKPOINT in obj.roles and obj.owner is not None
        and obj.owner.kind is ObjKind.IMPORTED for obj in module.objects(expr, call.scope, call.order))


def _status_fate(module: ModuleModel, call: Call, uses: Mentions | None) -> str:
    checks = {m for m in call.chained if m in RESTORE_STATUS_CHECKS}
    if checks:
        return "partial" if checks == {"expect_partial"} else "checked"
    if call.chained:
        return "used"
    if call.discarded:
        return "discarded"
    if not call.assigned_to:
        return "used"  # returned, passed to a function, tested in a condition...
    checks = {other.method for other in module.calls
              if other.receiver in call.assigned_to and other.method in RESTORE_STATUS_CHECKS}
    if checks:
        return "partial" if checks == {"expect_partial"} else "checked"
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




def asserted_after(module: ModuleModel, call: Call, objects: frozenset, before: int | None) -> bool:
    """A check of restored values right after the restore (`assert ckpt.step > 0`, `if
    optimizer.iterations == 0: raise ...`): a call in a condition, in the same function, after the
    restore and before `before` (the first training that follows), on one of the restored objects."""
    for other in module.calls:
        if other.function is not call.function or other.order <= call.order:
            continue
        if before is not None and other.order >= before:
            continue
        if other.in_condition and other.receiver_expr is not None:
            seen = module.objects(other.receiver_expr, other.scope, other.order)
            owners = {obj.owner for obj in seen if obj.owner is not None}
            if (seen | owners) & objects:
                return True
    return False


def initialises_weights(module: ModuleModel, call: Call, objects: frozenset) -> bool:
    """The restore loads weights to start from (a pretrained backbone, an init checkpoint), not a resume:
    nothing it restores is an optimizer or a model compiled here, the checkpoint object it is called on
    is never written in this module, and its path is not a `latest_checkpoint`. A resume restores the
    optimizer, or reads back what the program itself writes."""
    if not objects or any(Role.OPTIMIZER in obj.roles or module.is_compiled(obj) for obj in objects):
        return False
    expr = call.receiver_expr
    facts = module.checkpoints_of(expr, call.scope) if expr is not None else []
    if not facts or any(fact.opaque or module.checkpoint_writes(fact) for fact in facts):
        return False
    if any(manager.checkpoint in facts for manager in module.managers):
        return False
    path = call.arg(0, "save_path")
    return path is not None and "latest" not in module.code_of(path).lower()


def built_from_a_subset(objects: frozenset) -> bool:
    """One of the restored objects is a `tf.train.Checkpoint(**chosen)`: a checkpoint of sub-modules
    chosen at run time, restored partially on purpose."""
    for obj in objects:
        node = obj.node
        if obj.callee == "tf.train.Checkpoint" and isinstance(node, cst.Call) and \
                any(arg.star == "**" for arg in node.args):
            return True
    return False


def resumes_own_checkpoint(module: ModuleModel, call: Call) -> bool:
    """The restore reads back what the same checkpoint object writes in this module: its path is the
    `latest_checkpoint` of a manager over that checkpoint, or `tf.train.latest_checkpoint(d)` of the
    directory it is saved to (the TF guide's auto-resume). A path from anywhere else (a flag, a config,
    another directory or module) is not."""
    expr = call.receiver_expr
    path = call.arg(0, "save_path")
    if expr is None or path is None:
        return False
    facts = module.checkpoints_of(expr, call.scope)
    if not facts and isinstance(expr, cst.Attribute) and expr.attr.value == "checkpoint":
        owners = module.objects(expr.value, call.scope, call.order)
        facts = [m.checkpoint for m in module.managers if m.obj in owners and m.checkpoint is not None]
    facts = [fact for fact in facts if module.checkpoint_writes(fact)]
    if not facts:
        return False
    return _path_of_own(module, path, call.scope, call.order, facts, depth=3)


def _path_of_own(module: ModuleModel, path: cst.BaseExpression, scope: Scope, at: int, facts, depth: int) -> bool:
    from ckptlint.model.paths import prefix_identity

    managers = [m for m in module.managers if m.checkpoint in facts]
    if isinstance(path, cst.Attribute) and path.attr.value == "latest_checkpoint":
        owners = module.objects(path.value, scope, at)
        return any(m.obj in owners for m in managers)
    if isinstance(path, cst.Call) and module.qualify(path.func) in ("tf.train.latest_checkpoint",
                                                                     "tf.compat.v1.train.latest_checkpoint"):
        directory = path.args[0].value if path.args else None
        # compared as directories: a parameter by its name, whichever function it belongs to
        wanted = prefix_identity(module, directory, scope, True)
        if wanted is None:
            return False
        for manager in managers:
            if prefix_identity(module, manager.call.arg(1, "directory"), manager.call.scope, True) == wanted:
                return True
        for fact in facts:
            for write in module.checkpoint_writes(fact):
                prefix = write.arg(0, "file_prefix")
                for _ in range(2):  # `path = os.path.join(model_dir, name); ckpt.save(path)`
                    key = module.key_of(prefix, write.scope) if prefix is not None else None
                    binding = module.bindings.get(key) if key is not None else None
                    if binding is None or len(binding.assignments) != 1 or binding.assignments[0].value is None:
                        break
                    prefix = binding.assignments[0].value
                head = None
                if isinstance(prefix, cst.Call) and module.qualify(prefix.func) == "os.path.join" and prefix.args:
                    head = prefix.args[0].value
                elif isinstance(prefix, cst.BinaryOperation) and isinstance(prefix.operator, cst.Add):
                    head = prefix.left
                if head is not None and prefix_identity(module, head, write.scope, True) == wanted:
                    return True
        return False
    if depth > 0:
        key = module.key_of(path, scope)
        binding = module.bindings.get(key) if key is not None else None
        if binding is not None:
            values = [(a.value, a) for a in binding.assignments if a.value is not None]
            return bool(values) and all(_path_of_own(module, value, a.scope, a.order, facts, depth - 1) for value, a in values)
    return False
