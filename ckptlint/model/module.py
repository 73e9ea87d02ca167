"""ModuleModel: the semantic model of one module, the only thing rules read.

Built once per file (`ModuleModel.build`), then queried by every selected rule. Roles come from two
sources: what is assigned (`tf.train.Checkpoint(...)`, `keras.optimizers.Adam()`, a call to a local
function that returns a model, `model.optimizer`) and how a binding is used (`x.compile(...)`,
`x.apply_gradients(...)`, `x.trainable_variables`). Usage matters because real projects build models in
other modules: `model = build_model(cfg)` is a model because it is later `.fit` or `.compile`d.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import libcst as cst

from ckptlint.model.builder import ModelBuilder, dotted_name
from ckptlint.model.walk import walk
from ckptlint.model.facts import (
    Binding, Call, CheckpointFact, Key, ManagerFact, Ref, Role, Scope,
)
from ckptlint.model.names import is_model_constructor, is_optimizer_constructor

MODEL_METHODS = frozenset({"compile", "fit", "train_on_batch", "save_weights", "load_weights", "fit_generator"})
MODEL_ATTRIBUTES = frozenset({"trainable_variables", "trainable_weights"})
OPTIMIZER_METHODS = frozenset({"apply_gradients", "minimize"})
TRAINING_METHODS = frozenset({"fit", "train_on_batch", "fit_generator", "apply_gradients", "minimize"})
RESTORE_STATUS_CHECKS = frozenset({
    "assert_consumed", "assert_existing_objects_matched", "assert_nontrivial_match", "expect_partial",
})

_CONSTRUCTOR_ROLES = {
    "tf.train.Checkpoint": Role.CHECKPOINT,
    "tf.train.CheckpointManager": Role.MANAGER,
    "tf.Variable": Role.VARIABLE,
    "tf.random.Generator": Role.GENERATOR,
    "tf.random.Generator.from_seed": Role.GENERATOR,
    "tf.random.Generator.from_non_deterministic_state": Role.GENERATOR,
    "tf.random.get_global_generator": Role.GENERATOR,
    "keras.callbacks.BackupAndRestore": Role.CALLBACK,
    "keras.callbacks.ModelCheckpoint": Role.CALLBACK,
}


@dataclass(eq=False)
class ModuleModel:
    module: cst.Module
    builder: ModelBuilder
    checkpoints: list[CheckpointFact] = field(default_factory=list)
    managers: list[ManagerFact] = field(default_factory=list)
    _function_roles: dict[str, set[Role]] = field(default_factory=dict)
    _callers: dict[int, list[Call]] | None = None
    _method_index: dict[tuple[str, ...], list[Call]] = field(default_factory=dict)
    _receivers: tuple[dict, dict] | None = None

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def build(cls, module: cst.Module) -> ModuleModel:
        builder = ModelBuilder(module)
        walk(module, builder)
        builder.finish()
        model = cls(module, builder)
        model._infer_roles()
        model._collect_checkpoints()
        return model

    @property
    def calls(self) -> list[Call]:
        return self.builder.calls

    @property
    def bindings(self) -> dict[Key, Binding]:
        return self.builder.bindings

    def _infer_roles(self) -> None:
        for key, attr, _scope in self.builder.attribute_uses:
            # `self.x` read in a class that never assigns it has no binding (e.g. a Callback's self.model).
            if attr in MODEL_ATTRIBUTES and key in self.bindings:
                self.bindings[key].roles.add(Role.MODEL)
        for call in self.calls:
            if call.receiver is None:
                continue
            roles = self.bindings[call.receiver].roles if call.receiver in self.bindings else None
            if roles is None:
                continue
            if call.method in MODEL_METHODS:
                roles.add(Role.MODEL)
            elif call.method in OPTIMIZER_METHODS:
                roles.add(Role.OPTIMIZER)
            elif call.method == "assign_add" or call.method == "assign_sub":
                roles.add(Role.VARIABLE)
        # Assigned values; two rounds so that `b = a` and functions returning models settle.
        for _ in range(3):
            self._function_roles = self._compute_function_roles()
            for binding in self.bindings.values():
                for assignment in binding.assignments:
                    if assignment.value is not None:
                        binding.roles |= self.roles_of_expr(assignment.value, assignment.scope)

    def _compute_function_roles(self) -> dict[str, set[Role]]:
        result: dict[str, set[Role]] = {}
        for name, scope in self.builder.local_defs.items():
            if scope.kind == "class":
                if self._is_keras_model_class(scope):
                    result[name] = {Role.MODEL}
                elif self._is_callback_class(scope):
                    result[name] = {Role.CALLBACK}
                continue
            roles: set[Role] = set()
            for expr in self.builder.returns.get(id(scope), []):
                roles |= self.roles_of_expr(expr, scope)
            result[name] = roles
        return result

    def _class_bases(self, scope: Scope, seen: set[str] | None = None) -> set[str]:
        seen = seen if seen is not None else set()
        bases: set[str] = set()
        for base in scope.bases:
            if base in seen:
                continue
            seen.add(base)
            bases.add(base)
            if base.startswith("local:"):
                parent = self.builder.local_defs.get(base[len("local:"):])
                if parent is not None and parent.kind == "class":
                    bases |= self._class_bases(parent, seen)
        return bases

    def _is_keras_model_class(self, scope: Scope) -> bool:
        return bool(self._class_bases(scope) & {"keras.Model", "keras.Sequential"})

    def _is_callback_class(self, scope: Scope) -> bool:
        return "keras.callbacks.Callback" in self._class_bases(scope)

    def is_callback_method(self, scope: Scope) -> bool:
        cls = scope.enclosing_class()
        return cls is not None and self._is_callback_class(cls)

    def roles_of_expr(self, expr: cst.BaseExpression, scope: Scope) -> set[Role]:
        """Roles of the value an expression evaluates to."""
        if isinstance(expr, cst.Call):
            callee = self.builder.qualify(expr.func)
            if callee is not None:
                if callee in _CONSTRUCTOR_ROLES:
                    return {_CONSTRUCTOR_ROLES[callee]}
                if is_optimizer_constructor(callee):
                    return {Role.OPTIMIZER}
                if is_model_constructor(callee):
                    return {Role.MODEL}
                if callee.startswith("keras.optimizers.schedules."):
                    return {Role.SCHEDULE}
                if callee.startswith("tf.data."):
                    return {Role.DATASET}
                if callee.startswith("local:"):
                    return set(self._function_roles.get(callee[len("local:"):], set()))
            if isinstance(expr.func, cst.Name) and expr.func.value == "iter" and expr.args:
                return {Role.ITERATOR}
            if isinstance(expr.func, cst.Attribute):
                inner = expr.func.value
                method = expr.func.attr.value
                inner_roles = self.roles_of_expr(inner, scope)
                if Role.DATASET in inner_roles:
                    return {Role.DATASET}
                if Role.CHECKPOINT in inner_roles and method in ("restore", "read"):
                    return {Role.STATUS}
                key = self.builder.key_of(inner, scope)
                if key is not None and key in self.bindings and method == "__iter__":
                    return {Role.ITERATOR}
            return set()
        if isinstance(expr, cst.Attribute):
            if expr.attr.value == "optimizer":
                owner = self.builder.key_of(expr.value, scope)
                if owner is not None and Role.MODEL in self.roles(owner):
                    return {Role.OPTIMIZER}
        key = self.builder.key_of(expr, scope)
        if key is not None and key in self.bindings:
            return set(self.bindings[key].roles)
        return set()

    def _collect_checkpoints(self) -> None:
        by_node: dict[int, CheckpointFact] = {}
        for call in self.calls:
            if call.callee == "tf.train.Checkpoint":
                items = {
                    arg.keyword.value: self.ref(arg.value, call.scope)
                    for arg in call.node.args
                    if arg.keyword is not None
                }
                fact = CheckpointFact(call, call.assigned_to, items, opaque=call.has_star_args or any(
                    a.keyword is None for a in call.node.args))
                self.checkpoints.append(fact)
                by_node[id(call.node)] = fact
        for owner, attr, value, scope in self.builder.attribute_stores:
            for fact in self.checkpoints:
                if owner in fact.keys:
                    fact.added_items[attr] = self.ref(value, scope)
        for call in self.calls:
            if call.callee == "tf.train.CheckpointManager":
                target = call.arg(0, "checkpoint")
                fact = None
                if target is not None:
                    fact = by_node.get(id(target)) or self.checkpoint_for(target, call.scope)
                self.managers.append(ManagerFact(call, call.assigned_to, fact))

    # ---- queries ------------------------------------------------------------------------------
    def roles(self, key: Key | None) -> set[Role]:
        if key is None or key not in self.bindings:
            return set()
        return self.bindings[key].roles

    def name_of(self, key: Key) -> str:
        return self.bindings[key].name if key in self.bindings else "?"

    def key_of(self, expr: cst.BaseExpression, scope: Scope) -> Key | None:
        return self.builder.key_of(expr, scope)

    def ref(self, expr: cst.BaseExpression, scope: Scope) -> Ref:
        if isinstance(expr, cst.Call):
            return Ref(expr, call=self.builder.calls_by_node.get(id(expr)))
        key = self.builder.key_of(expr, scope)
        if key is not None:
            return Ref(expr, key=key)
        if isinstance(expr, cst.Attribute):
            owner = self.builder.key_of(expr.value, scope)
            if owner is not None:
                return Ref(expr, key=owner, attr=expr.attr.value)
        return Ref(expr)

    def qualify(self, expr: cst.BaseExpression) -> str | None:
        return self.builder.qualify(expr)

    def checkpoint_for(self, expr: cst.BaseExpression, scope: Scope) -> CheckpointFact | None:
        """The checkpoint an expression refers to (a binding of one, or an inline construction)."""
        if isinstance(expr, cst.Call):
            for fact in self.checkpoints:
                if fact.call.node is expr:
                    return fact
            return None
        key = self.builder.key_of(expr, scope)
        if key is None:
            return None
        for fact in reversed(self.checkpoints):
            if key in fact.keys:
                return fact
        return None

    def manager_for(self, key: Key | None) -> ManagerFact | None:
        for fact in reversed(self.managers):
            if key is not None and key in fact.keys:
                return fact
        return None

    def method_calls(self, methods: Iterable[str], role: Role | None = None) -> Iterator[Call]:
        for call in self._calls_of_methods(tuple(methods)):
            if role is None or role in self.roles(call.receiver):
                yield call

    def calls_on(self, fact: CheckpointFact, methods: Iterable[str]) -> list[Call]:
        """Calls of `methods` on the checkpoint of `fact` (on one of its bindings, or on the
        constructor call itself: `tf.train.Checkpoint(...).save(p)`), in source order. Looked up by
        receiver, not by scanning every call for every checkpoint: a module with thousands of
        checkpoints would otherwise cost checkpoints x calls."""
        _, by_expression = self._call_index
        wanted = frozenset(methods)
        found = self.calls_on_keys(fact.keys, wanted)
        found += [call for call in by_expression.get(id(fact.call.node), ()) if call.method in wanted]
        return sorted(found, key=lambda call: call.order)

    def calls_on_keys(self, keys: Iterable[Key], methods: Iterable[str]) -> list[Call]:
        """Calls of `methods` whose receiver is one of the bindings `keys`, in source order."""
        by_receiver, _ = self._call_index
        wanted = frozenset(methods)
        found = [call for key in keys for call in by_receiver.get(key, ()) if call.method in wanted]
        return sorted(found, key=lambda call: call.order)

    def _calls_of_methods(self, methods: tuple[str, ...]) -> list[Call]:
        cached = self._method_index.get(methods)
        if cached is None:
            wanted = frozenset(methods)
            cached = self._method_index[methods] = [call for call in self.calls if call.method in wanted]
        return cached

    @property
    def _call_index(self) -> tuple[dict[Key, list[Call]], dict[int, list[Call]]]:
        """Method calls by receiver binding, and by receiver expression when it is not a binding."""
        if self._receivers is None:
            by_receiver: dict[Key, list[Call]] = {}
            by_expression: dict[int, list[Call]] = {}
            for call in self.calls:
                if call.method is None:
                    continue
                if call.receiver is not None:
                    by_receiver.setdefault(call.receiver, []).append(call)
                elif call.receiver_expr is not None:
                    by_expression.setdefault(id(call.receiver_expr), []).append(call)
            self._receivers = (by_receiver, by_expression)
        return self._receivers

    def calls_to(self, *callees: str) -> Iterator[Call]:
        for call in self.calls:
            if call.callee in callees:
                yield call

    def checkpoint_writes(self, fact: CheckpointFact) -> list[Call]:
        """Calls that write this checkpoint: `ckpt.save/write(...)` or `manager.save()` over it."""
        writes = self.calls_on(fact, ("save", "write"))
        for manager in self.managers:
            if manager.checkpoint is fact:
                writes += self.calls_on_keys(manager.keys, ("save",))
        return writes

    def _refers_to(self, call: Call, fact: CheckpointFact) -> bool:
        if call.receiver is not None:
            return call.receiver in fact.keys
        return call.receiver_expr is fact.call.node

    # ---- training facts -----------------------------------------------------------------------
    def models_trained_by(self, call: Call) -> set[Key]:
        """Models whose variables an `apply_gradients`/`minimize` call updates: models whose
        `trainable_variables` appear in its arguments, else anywhere in the same function."""
        models = self._models_in(call.node, call.scope)
        if models:
            return models
        function = call.function
        if function is None:
            return set()
        return {
            key for key, attr, scope in self.builder.attribute_uses
            if attr in MODEL_ATTRIBUTES and _within(scope, function)
        }

    def _models_in(self, node: cst.CSTNode, scope: Scope) -> set[Key]:
        found: set[Key] = set()
        builder = self.builder

        class _Visit(cst.CSTVisitor):
            def visit_Attribute(self, attribute: cst.Attribute) -> None:
                if attribute.attr.value in MODEL_ATTRIBUTES:
                    key = builder.key_of(attribute.value, scope)
                    if key is not None:
                        found.add(key)

        walk(node, _Visit())
        return found

    def optimizer_refs_training(self, model_key: Key) -> list[tuple[Ref, Call]]:
        """Each optimizer that trains a model, with the call that shows it (apply_gradients/minimize
        on its variables, or compile(optimizer=...))."""
        result: list[tuple[Ref, Call]] = []
        for call in self.method_calls(OPTIMIZER_METHODS):
            if call.receiver is not None and model_key in self.models_trained_by(call):
                result.append((Ref(call.receiver_expr, key=call.receiver), call))
        for call in self.compiles_of(model_key):
            optimizer = call.arg(0, "optimizer")
            if optimizer is not None:
                result.append((self.ref(optimizer, call.scope), call))
        return result

    def compiles_of(self, model_key: Key) -> list[Call]:
        return [c for c in self.method_calls(("compile",)) if c.receiver == model_key]

    def is_compiled_with(self, model_key: Key, optimizer: Key) -> bool:
        for call in self.compiles_of(model_key):
            value = call.arg(0, "optimizer")
            if value is not None and self.key_of(value, call.scope) == optimizer:
                return True
        return False

    def trains(self, scope: Scope, _seen: set[int] | None = None) -> bool:
        """Whether code in `scope` (a function) trains, directly or through a local function it calls."""
        seen = _seen if _seen is not None else set()
        if id(scope) in seen:
            return False
        seen.add(id(scope))
        for call in self.calls:
            if not _within(call.scope, scope):
                continue
            if call.method in TRAINING_METHODS:
                return True
            target = self.local_function(call)
            if target is not None and self.trains(target, seen):
                return True
        return False

    def local_function(self, call: Call) -> Scope | None:
        """The function defined in this module that a call invokes: `train_step(x)`, `self.step(x)`,
        or `trainer.save(d)` where `trainer` holds an instance of a class defined here."""
        if call.callee and call.callee.startswith("local:"):
            scope = self.builder.local_defs.get(call.callee[len("local:"):])
            return scope if scope is not None and scope.kind == "function" else None
        func = call.node.func
        if not isinstance(func, cst.Attribute):
            return None
        if isinstance(func.value, cst.Name) and func.value.value == "self":
            cls = call.scope.enclosing_class()
            return self._method(cls, func.attr.value) if cls is not None else None
        cls = self._instance_class(call.receiver)
        return self._method(cls, func.attr.value) if cls is not None else None

    def _instance_class(self, key: Key | None) -> Scope | None:
        """The local class a binding holds an instance of (`trainer = Trainer()`)."""
        if key is None or key not in self.bindings:
            return None
        for assignment in self.bindings[key].assignments:
            value = assignment.value
            if isinstance(value, cst.Call):
                callee = self.builder.qualify(value.func)
                if callee and callee.startswith("local:"):
                    scope = self.builder.local_defs.get(callee[len("local:"):])
                    if scope is not None and scope.kind == "class":
                        return scope
        return None

    def callers(self, function: Scope) -> list[Call]:
        """Calls in this module that invoke `function`."""
        if self._callers is None:
            self._callers = {}
            for call in self.calls:
                target = self.local_function(call)
                if target is not None:
                    self._callers.setdefault(id(target), []).append(call)
        return self._callers.get(id(function), [])

    def _method(self, cls: Scope, name: str) -> Scope | None:
        for scope in self.builder.functions:
            if scope.parent is cls and scope.name == name:
                return scope
        return None

    def in_training_loop(self, call: Call, _seen: set[int] | None = None) -> bool:
        """A call inside a loop whose body trains (directly or through a local function), or inside a
        function that is called from such a loop (`trainer.save(d)` in the epoch loop)."""
        for loop in call.loops:
            for other in self.calls:
                if loop in other.loops:
                    if other.method in TRAINING_METHODS:
                        return True
                    target = self.local_function(other)
                    if target is not None and self.trains(target):
                        return True
        seen = _seen if _seen is not None else set()
        function = call.function
        if function is None or id(function) in seen:
            return False
        seen.add(id(function))
        return any(self.in_training_loop(caller, seen) for caller in self.callers(function))

    STRING_ALIAS_HOPS = 32  # `a = b`, `b = c`, ...: followed this far (each call would otherwise walk the whole chain)

    def string_value(self, expr: cst.BaseExpression | None, scope: Scope) -> str | None:
        """The value of a string literal or of a name bound once to one (module constants), following a
        chain of such names iteratively and at most STRING_ALIAS_HOPS names deep."""
        for _ in range(self.STRING_ALIAS_HOPS + 1):
            if expr is None:
                return None
            if isinstance(expr, cst.SimpleString):
                return expr.evaluated_value if isinstance(expr.evaluated_value, str) else None
            if isinstance(expr, cst.ConcatenatedString):
                value = expr.evaluated_value
                return value if isinstance(value, str) else None
            key = self.key_of(expr, scope)
            if key is None or key not in self.bindings:
                return None
            assignments = self.bindings[key].assignments
            if len(assignments) != 1 or assignments[0].value is None or assignments[0].value is expr:
                return None
            expr, scope = assignments[0].value, assignments[0].scope
        return None


def _within(scope: Scope, ancestor: Scope) -> bool:
    current: Scope | None = scope
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


__all__ = ["ModuleModel", "dotted_name", "RESTORE_STATUS_CHECKS", "TRAINING_METHODS"]
