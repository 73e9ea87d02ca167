"""Step counters and data iterators: state a training loop advances that a checkpoint must hold."""

from __future__ import annotations

import libcst as cst

from ckptlint.model.facts import Call, CheckpointFact, Key, Role, Scope
from ckptlint.model.module import ModuleModel
from ckptlint.model.vocabulary import ADVANCE_METHODS, TRAINING_METHODS
from ckptlint.model.walk import walk


def is_variable_construction(module: ModuleModel, expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Call) and module.qualify(expr.func) == "tf.Variable"


def advances(module: ModuleModel, key: Key) -> list[Call]:
    """Calls that advance a counter from its own value while training: `v.assign_add(...)`, or
    `v.assign(...)` of an expression that reads `v` itself (`v + 1`), inside a loop that trains or in a
    function that trains (a `train_step` called from the loop). `v.assign(step)` from a Python loop
    index only mirrors a value the loop owns (done to avoid retracing): it carries no state."""
    result = []
    for call in module.calls:
        if call.receiver != key or call.method not in ADVANCE_METHODS:
            continue
        if call.method == "assign" and not _reads_itself(module, call, key):
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
    """False when a `self.x` binding lives in a class that may track it itself: a tf.Module or Keras
    Layer/Model subclass, or a class deriving from something ckptlint cannot see. A plain class (no
    base, `object`, or bases that are plain classes of this module or of another project module whose
    summary says so) tracks nothing."""
    binding = module.bindings.get(key)
    if binding is None or not binding.name.startswith("self."):
        return True
    cls = binding.scope if binding.scope.kind == "class" else binding.scope.enclosing_class()
    if cls is None or not isinstance(cls.node, cst.ClassDef):
        return True
    return _plain_bases(module, list(cls.bases), depth=4)


def _plain_bases(module: ModuleModel, bases: list[str], depth: int) -> bool:
    for base in bases:
        if base in ("", "object"):
            if base == "":
                return False  # a base ckptlint cannot name
            continue
        if depth <= 0:
            return False
        if base.startswith("local:"):
            local = [c for c in module.classes if c.name == base[len("local:"):]]
            if not local or not _plain_bases(module, list(local[0].bases), depth - 1):
                return False
            continue
        entry = module.values.imported_entry(base)
        if entry is None or entry[0] != "class":
            return False
        # the summary's bases are already followed through that module's own classes
        if not all(b in ("object",) or b.startswith("local:") for b in entry[1].get("bases", [])):
            return False
    return True


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


def _reads_itself(module: ModuleModel, call: Call, key: Key) -> bool:
    value = call.arg(0, "value")
    if value is None:
        return False
    if _reads_itself_in(module, value, call, key):
        return True
    # `for epoch in range(int(v.numpy()), n): ... v.assign(epoch + 1)`: the loop starts from the counter's
    # own value, so assigning its index advances the counter (a resume starts the loop from it).
    names = {node.value for node in _names_in(value)}
    for parent in module.enclosing(call.node):
        if isinstance(parent, cst.For) and isinstance(parent.target, cst.Name) and parent.target.value in names:
            return _reads_itself_in(module, parent.iter, call, key)
    return False


def _names_in(expr: cst.BaseExpression) -> list[cst.Name]:
    found: list[cst.Name] = []

    class _Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

    walk(expr, _Names())
    return found


def _reads_itself_in(module: ModuleModel, expr: cst.BaseExpression, call: Call, key: Key) -> bool:
    """`expr` (an assigned value, or a loop's iterable) reads the counter `key`."""
    targets = module.objects_of(key)
    found = False

    class _Visit(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or module.key_of(node, call.scope) == key

        def visit_Attribute(self, node: cst.Attribute) -> None:
            nonlocal found
            found = found or module.key_of(node, call.scope) == key or bool(
                targets and module.objects(node, call.scope) & targets)

    walk(expr, _Visit())
    return found
