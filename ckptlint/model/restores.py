"""Facts about restoring, step counters, save prefixes and data iterators, derived from a ModuleModel.

Functions here take a built ModuleModel and read only its facts (bindings, roles, calls, checkpoints) plus
one extra pass over the tree for *mentions*: every place a binding is read or written. The base model
records calls and attribute uses; rules about values that are only passed around (a restore status kept in
a name, a step counter read by a schedule) also need plain reads such as `if step < n` or `f(step)`.

Used by CKPT103 (step counter not saved), CKPT104 (iterator not saved), CKPT201 (restore status
unchecked) and CKPT202 (latest_checkpoint on a save prefix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst

from ckptlint.model.builder import ModelBuilder
from ckptlint.model.walk import walk
from ckptlint.model.facts import Call, CheckpointFact, Key, Role, Scope
from ckptlint.model.module import ModuleModel
from ckptlint.model.vocabulary import RESTORE_STATUS_CHECKS, TRAINING_METHODS

ASSIGN_METHODS = frozenset({"assign", "assign_add", "assign_sub"})
ADVANCE_METHODS = frozenset({"assign", "assign_add"})
_SAVERS = frozenset({"tf.compat.v1.train.Saver", "tf.train.Saver"})
_LATEST = frozenset({"tf.train.latest_checkpoint", "tf.compat.v1.train.latest_checkpoint"})


# ---- mentions -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mention:
    node: cst.CSTNode  # the Name, or the `self.x` Attribute
    scope: Scope
    store: bool  # an assignment target (or loop target)


@dataclass
class Mentions:
    by_key: dict[Key, list[Mention]] = field(default_factory=dict)

    def reads(self, key: Key) -> list[Mention]:
        return [m for m in self.by_key.get(key, []) if not m.store]


def mentions(module: ModuleModel) -> Mentions:
    """Every read and write of every binding, resolved with the model's own scoping rules."""
    builder = module.builder
    scopes: dict[int, Scope] = {id(builder.module_scope.node): builder.module_scope}
    for scope in builder.functions:
        current: Scope | None = scope
        while current is not None:
            scopes[id(current.node)] = current
            current = current.parent
    for binding in builder.bindings.values():
        scopes[id(binding.scope.node)] = binding.scope
    for call in builder.calls:
        scopes[id(call.scope.node)] = call.scope
    result = Mentions()
    walk(module.module, _MentionVisitor(builder, scopes, result))
    return result


class _MentionVisitor(cst.CSTVisitor):
    def __init__(self, builder: ModelBuilder, scopes: dict[int, Scope], result: Mentions) -> None:
        self.builder = builder
        self.scopes = scopes
        self.result = result
        self.stack: list[Scope] = [builder.module_scope]
        self.skip: set[int] = set()
        self.stores: set[int] = set()

    # scopes
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.skip.add(id(node.name))
        for param in [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]:
            self.skip.add(id(param.name))
        self.stack.append(self.scopes.get(id(node), self.stack[-1]))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.skip.add(id(node.name))
        self.stack.append(self.scopes.get(id(node), self.stack[-1]))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    # names that are not reads of a binding
    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.skip.add(id(node.keyword))

    def _targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Name, cst.Attribute)):
            self.stores.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._targets(element.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._targets(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, (cst.Name, cst.Attribute)):
            self._targets(node.name)

    def _record(self, node: cst.CSTNode, key: Key | None) -> None:
        if key is not None and key in self.builder.bindings:
            mention = Mention(node, self.stack[-1], id(node) in self.stores)
            self.result.by_key.setdefault(key, []).append(mention)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.skip.add(id(node.attr))
        if isinstance(node.value, cst.Name) and node.value.value == "self":
            self.skip.add(id(node.value))
            self._record(node, self.builder.key_of(node, self.stack[-1]))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self.skip:
            self._record(node, self.builder.lookup(node.value, self.stack[-1]))


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
        if not _is_checkpoint_receiver(module, call):
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


def _is_checkpoint_receiver(module: ModuleModel, call: Call) -> bool:
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


# ---- save prefixes and latest_checkpoint ----------------------------------------------------------------
@dataclass
class PrefixWrite:
    call: Call
    expr: cst.BaseExpression
    identity: object


def path_identity(module: ModuleModel, expr: cst.BaseExpression | None, scope: Scope,
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
        parts = tuple(path_identity(module, arg.value, scope, True) for arg in expr.args)
        if all(part is not None for part in parts) and not any(arg.star for arg in expr.args):
            return ("join", parts)
    return None


def prefix_writes(module: ModuleModel) -> list[PrefixWrite]:
    """Calls that write a checkpoint at a file *prefix* (not a directory): `Checkpoint.save/write`,
    Keras `model.save_weights` in the TF format, and TF1 `Saver.save(sess, prefix)`."""
    result: list[PrefixWrite] = []
    savers = _saver_keys(module)
    for call in module.calls:
        expr = None
        if call.method in ("save", "write") and _is_checkpoint_receiver(module, call):
            expr = call.arg(0, "file_prefix")
        elif call.method == "save_weights" and Role.MODEL in module.roles(call.receiver):
            expr = call.arg(0, "filepath")
        elif call.method == "save" and call.receiver is not None and call.receiver in savers:
            expr = call.arg(1, "save_path")
        if expr is None:
            continue
        identity = path_identity(module, expr, call.scope)
        if identity is not None:
            result.append(PrefixWrite(call, expr, identity))
    return result


def _saver_keys(module: ModuleModel) -> set[Key]:
    keys: set[Key] = set()
    for binding in module.bindings.values():
        for assignment in binding.assignments:
            value = assignment.value
            if isinstance(value, cst.Call) and module.qualify(value.func) in _SAVERS:
                keys.add(binding.key)
    return keys


def latest_checkpoint_calls(module: ModuleModel) -> Iterator[Call]:
    return (call for call in module.calls if call.callee in _LATEST)


def directory_identities(module: ModuleModel) -> set[object]:
    """Paths this module uses as checkpoint *directories* (CheckpointManager, BackupAndRestore)."""
    result: set[object] = set()
    for call in module.calls_to("tf.train.CheckpointManager"):
        identity = path_identity(module, call.arg(1, "directory"), call.scope)
        if identity is not None:
            result.add(identity)
    return result


# ---- step counters ------------------------------------------------------------------------------------
def is_variable_construction(module: ModuleModel, expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Call) and module.qualify(expr.func) == "tf.Variable"


def advances(module: ModuleModel, key: Key) -> list[Call]:
    """`v.assign_add(...)` / `v.assign(...)` calls on a binding that run while training: inside a loop
    that trains, or in a function that trains (a `train_step` called from the loop)."""
    result = []
    for call in module.calls:
        if call.receiver != key or call.method not in ADVANCE_METHODS:
            continue
        function = call.function
        if module.in_training_loop(call) or (function is not None and module.trains(function)):
            result.append(call)
    return result


def checkpoint_holds(fact: CheckpointFact, key: Key, module: ModuleModel) -> bool:
    """Whether a checkpoint holds a binding, directly or through `self` when it is an attribute."""
    name = module.name_of(key)
    for ref in fact.all_items.values():
        if ref.key == key and ref.attr is None:
            return True
        if ref.key is not None and name.startswith("self.") and module.name_of(ref.key) == "self":
            return True
    return False


def untracked_owner(module: ModuleModel, key: Key) -> bool:
    """False when a `self.x` binding lives in a class that may track it itself (a tf.Module or Keras
    Layer/Model subclass, or any class with a base ckptlint cannot see)."""
    binding = module.bindings.get(key)
    if binding is None or not binding.name.startswith("self."):
        return True
    cls = binding.scope if binding.scope.kind == "class" else binding.scope.enclosing_class()
    if cls is None or not isinstance(cls.node, cst.ClassDef):
        return True
    return all(isinstance(arg.value, cst.Name) and arg.value.value == "object" for arg in cls.node.bases)


# ---- iterators ----------------------------------------------------------------------------------------
def dataset_iterators(module: ModuleModel) -> list[tuple[Key, cst.Call]]:
    """Bindings assigned `iter(<tf.data dataset>)` or `<dataset>.__iter__()`."""
    result = []
    for binding in module.bindings.values():
        for assignment in binding.assignments:
            value = assignment.value
            if not isinstance(value, cst.Call):
                continue
            source = None
            if isinstance(value.func, cst.Name) and value.func.value == "iter" and value.args \
                    and module.key_of(value.func, assignment.scope) is None:
                source = value.args[0].value
            elif isinstance(value.func, cst.Attribute) and value.func.attr.value == "__iter__":
                source = value.func.value
            if source is not None and _is_dataset(module, source, assignment.scope):
                result.append((binding.key, value))
                break
    return result


def _is_dataset(module: ModuleModel, expr: cst.BaseExpression, scope: Scope) -> bool:
    if Role.DATASET in module.roles_of_expr(expr, scope):
        return True
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
        return _is_dataset(module, expr.func.value, scope)
    if isinstance(expr, cst.Attribute):
        owner = module.key_of(expr, scope)
        return owner is not None and Role.DATASET in module.roles(owner)
    return False


def iterator_consumptions(module: ModuleModel, key: Key) -> list[cst.CSTNode]:
    """Where an iterator is consumed while training: `next(it)` / `it.get_next()` in a training loop
    or in a function that trains, or `for batch in it:` over a loop that trains."""
    found: list[cst.CSTNode] = []
    for call in module.calls:
        consumed = (
            isinstance(call.node.func, cst.Name) and call.node.func.value == "next"
            and module.key_of(call.node.func, call.scope) is None
            and call.node.args and module.key_of(call.node.args[0].value, call.scope) == key
        ) or (call.receiver == key and call.method == "get_next")
        if not consumed:
            continue
        function = call.function
        if module.in_training_loop(call) or (function is not None and module.trains(function)):
            found.append(call.node)
    for iterable, scope, loop in module.builder.loop_iterables:
        if module.key_of(iterable, scope) != key:
            continue
        if any(loop in call.loops and (call.method in TRAINING_METHODS or _trains_via(module, call))
               for call in module.calls):
            found.append(iterable)
    return found


def _trains_via(module: ModuleModel, call: Call) -> bool:
    target = module.local_function(call)
    return target is not None and module.trains(target)


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


def nearest_checkpoint(module: ModuleModel, facts: list[CheckpointFact], key: Key) -> CheckpointFact:
    """Of several checkpoints, the one built in the same class (or function) as a binding: the one a
    finding about that binding should point at."""
    binding = module.bindings.get(key)
    if binding is not None:
        owner = binding.scope
        owner_class = owner if owner.kind == "class" else owner.enclosing_class()
        for fact in facts:
            scope = fact.call.scope
            if scope is owner or (owner_class is not None and scope.enclosing_class() is owner_class):
                return fact
    return facts[0]
