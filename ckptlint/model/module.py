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
from ckptlint.model.facts import (
    Binding, Call, CheckpointFact, Key, ManagerFact, Ref, Role, Scope,
)
from ckptlint.model.values import CallTarget, Obj, ObjKind, Values
from ckptlint.model.vocabulary import (
    MODEL_ATTRIBUTES, MODEL_METHODS, OPTIMIZER_METHODS, RESTORE_STATUS_CHECKS, TRAINING_METHODS,
)
from ckptlint.model.walk import walk


@dataclass(eq=False)
class ModuleModel:
    module: cst.Module
    builder: ModelBuilder
    checkpoints: list[CheckpointFact] = field(default_factory=list)
    managers: list[ManagerFact] = field(default_factory=list)
    values: Values | None = None
    _callers: dict[int, list[Call]] | None = None

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def build(cls, module: cst.Module) -> ModuleModel:
        builder = ModelBuilder(module)
        walk(module, builder)
        builder.finish()
        model = cls(module, builder)
        model.values = Values.solve(builder)
        for binding in builder.bindings.values():
            for obj in model.values.of_key(binding.key):
                binding.roles |= obj.roles
        model._collect_checkpoints()
        return model

    @property
    def calls(self) -> list[Call]:
        return self.builder.calls

    @property
    def bindings(self) -> dict[Key, Binding]:
        return self.builder.bindings

    def _is_callback_class(self, scope: Scope) -> bool:
        return "keras.callbacks.Callback" in self.values.all_bases(scope)

    def is_callback_method(self, scope: Scope) -> bool:
        cls = scope.enclosing_class()
        return cls is not None and self._is_callback_class(cls)

    def roles_of_expr(self, expr: cst.BaseExpression, scope: Scope) -> set[Role]:
        """Roles of the value an expression evaluates to."""
        roles: set[Role] = set()
        for obj in self.objects(expr, scope):
            roles |= obj.roles
        return roles

    def built_roles(self, expr: cst.BaseExpression, scope: Scope) -> set[Role]:
        """Roles an expression's value has by construction alone (`keras.Sequential(...)` is a model;
        a name later `.fit()` is a model by usage only)."""
        roles: set[Role] = set()
        for obj in self.objects(expr, scope):
            roles |= obj.built
        return roles

    # ---- objects ------------------------------------------------------------------------------
    def objects(self, expr: cst.BaseExpression | None, scope: Scope) -> frozenset[Obj]:
        """The objects an expression may evaluate to (see ckptlint.model.values)."""
        return self.values.objects(expr, scope)

    def objects_of(self, key: Key | None) -> frozenset[Obj]:
        """The objects a binding may hold."""
        return self.values.of_key(key)

    def same_object(self, a: frozenset[Obj], b: frozenset[Obj]) -> bool:
        """Whether two sets of objects share one: the two expressions may be the same object."""
        return bool(a & b)

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
        """The canonical name of an imported symbol (`tf.keras.optimizers.Adam` -> `keras.optimizers.Adam`)
        or `local:<name>` for a module-level definition, else None."""
        return self.builder.qualify(expr)

    def import_path(self, expr: cst.BaseExpression) -> str | None:
        """The import path an expression names, as imported, not canonicalised (`os.path.join`,
        `tf_keras.optimizers.legacy.Adam`); None when its head is not an import."""
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        imported = self.builder.aliases.get(head)
        if imported is None:
            return None
        return imported + (f".{rest}" if rest else "")

    def imports(self) -> dict[str, str]:
        """Local name -> the import path it is bound to, for every import of the module."""
        return dict(self.builder.aliases)

    def call_at(self, node: cst.CSTNode) -> Call | None:
        """The call whose node this is."""
        return self.builder.calls_by_node.get(id(node))

    def returned_exprs(self, function: Scope) -> list[cst.BaseExpression]:
        """What `return` statements of a function return."""
        return list(self.builder.returns.get(id(function), []))

    def attribute_stores(self) -> list[tuple[Key, str, cst.BaseExpression, Scope]]:
        """`owner.attr = value` statements: (owner's binding, attribute, value, scope)."""
        return list(self.builder.attribute_stores)

    @property
    def module_scope(self) -> Scope:
        return self.builder.module_scope

    @property
    def functions(self) -> list[Scope]:
        return self.builder.functions

    @property
    def classes(self) -> list[Scope]:
        return self.builder.classes

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
        wanted = frozenset(methods)
        for call in self.calls:
            if call.method in wanted and (role is None or role in self.roles(call.receiver)):
                yield call

    def calls_to(self, *callees: str) -> Iterator[Call]:
        for call in self.calls:
            if call.callee in callees:
                yield call

    def checkpoint_writes(self, fact: CheckpointFact) -> list[Call]:
        """Calls that write this checkpoint: `ckpt.save/write(...)` or `manager.save()` over it."""
        writes = [
            call for call in self.method_calls(("save", "write"))
            if self._refers_to(call, fact)
        ]
        for manager in self.managers:
            if manager.checkpoint is fact:
                writes += [
                    call for call in self.method_calls(("save",))
                    if call.receiver is not None and call.receiver in manager.keys
                ]
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
            if any(self.trains(target, seen) for target in self.call_targets(call)):
                return True
        return False

    def local_function(self, call: Call) -> Scope | None:
        """The function defined in this module that a call runs (the first, if it may run several):
        `train_step(x)` (module-level or nested), `self.step(x)`, or `trainer.save(d)` where `trainer`
        holds an instance of a class defined here. A class's instantiation is not a call of a function."""
        targets = self.call_targets(call)
        return targets[0] if targets else None

    def call_targets(self, call: Call) -> list[Scope]:
        """Every function of this module a call may run (not the `__init__` of a class it instantiates)."""
        return [target.function for target in self.values.call_targets(call) if not target.instantiates]

    def callers(self, function: Scope) -> list[Call]:
        """Calls in this module that invoke `function`."""
        if self._callers is None:
            self._callers = {}
            for call in self.calls:
                for target in self.call_targets(call):
                    self._callers.setdefault(id(target), []).append(call)
        return self._callers.get(id(function), [])

    def in_training_loop(self, call: Call, _seen: set[int] | None = None) -> bool:
        """A call inside a loop whose body trains (directly or through a local function), or inside a
        function that is called from such a loop (`trainer.save(d)` in the epoch loop)."""
        for loop in call.loops:
            for other in self.calls:
                if loop in other.loops:
                    if other.method in TRAINING_METHODS:
                        return True
                    if any(self.trains(target) for target in self.call_targets(other)):
                        return True
        seen = _seen if _seen is not None else set()
        function = call.function
        if function is None or id(function) in seen:
            return False
        seen.add(id(function))
        return any(self.in_training_loop(caller, seen) for caller in self.callers(function))

    def string_value(self, expr: cst.BaseExpression | None, scope: Scope) -> str | None:
        """The value of a string literal or of a name bound once to one (module constants)."""
        if expr is None:
            return None
        if isinstance(expr, cst.SimpleString):
            return expr.evaluated_value if isinstance(expr.evaluated_value, str) else None
        if isinstance(expr, cst.ConcatenatedString):
            value = expr.evaluated_value
            return value if isinstance(value, str) else None
        key = self.key_of(expr, scope)
        if key is not None and key in self.bindings:
            values = [a.value for a in self.bindings[key].assignments]
            if len(values) == 1 and values[0] is not None and values[0] is not expr:
                return self.string_value(values[0], self.bindings[key].assignments[0].scope)
        return None


def _within(scope: Scope, ancestor: Scope) -> bool:
    current: Scope | None = scope
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


__all__ = ["ModuleModel", "dotted_name"]
