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
    Binding, Call, CheckpointFact, Key, ManagerFact, Ref, Role, Scope, Training,
)
from ckptlint.model.summary import Imports
from ckptlint.model.values import Obj, ObjKind, Values
from ckptlint.model.vocabulary import (
    KERAS_TRAINING_METHODS, MODEL_ATTRIBUTES, OPTIMIZER_METHODS, TRAINING_METHODS,
)
from ckptlint.model.walk import ParentIndex, ancestors, walk


_SEARCHES_BEFORE_INDEX = 4  # an index costs about two searches of the tree


@dataclass(eq=False)
class ModuleModel:
    module: cst.Module
    builder: ModelBuilder
    checkpoints: list[CheckpointFact] = field(default_factory=list)
    managers: list[ManagerFact] = field(default_factory=list)
    values: Values = field(init=False)  # set by build(), the only way a model is made
    # The Keras generation the project declares (`keras-version`, dependency pins), set by the engine;
    # None: not declared.
    project_keras: int | None = None
    _callers: dict[int, list[tuple[Call, bool]]] | None = None  # function -> (call, instantiates)
    _training: list[Training] | None = None
    _calls_by_function: dict[int, list[Call]] | None = None
    _keras2: str | None = None
    _method_index: dict[tuple[str, ...], list[Call]] = field(default_factory=dict)
    _receivers: tuple[dict, dict] | None = None
    _by_object: dict[tuple[str, ...], dict[Obj, list[Call]]] = field(default_factory=dict)
    _parents: ParentIndex | None = None
    _searches: int = 0

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def build(cls, module: cst.Module, imports: Imports | None = None) -> ModuleModel:
        """The model of one module. `imports` reaches the summaries of the project modules it imports
        (ckptlint.model.summary); without it, what comes from other modules is unknown."""
        builder = ModelBuilder(module)
        walk(module, builder)
        builder.finish()
        model = cls(module, builder)
        model.values = Values.solve(builder, imports)
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
    def objects(self, expr: cst.BaseExpression | None, scope: Scope, at: int | None = None) -> frozenset[Obj]:
        """The objects an expression may evaluate to (see ckptlint.model.values); `at`, the order of
        the call or assignment it belongs to, picks the assignment that reaches a rebound name."""
        return self.values.objects(expr, scope, at)

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
                    arg.keyword.value: self.ref(arg.value, call.scope, call.order)
                    for arg in call.node.args
                    if arg.keyword is not None
                }
                fact = CheckpointFact(call, call.assigned_to, items, opaque=call.has_star_args or any(
                    a.keyword is None for a in call.node.args), obj=self._made_by(call))
                self.checkpoints.append(fact)
                by_node[id(call.node)] = fact
        # `ckpt.optimizer = opt` after construction, wherever `ckpt` is (a parameter, an attribute...)
        for owner, attr, value, scope in self.builder.attribute_stores:
            owners = self.objects_of(owner)
            for fact in self.checkpoints:
                if owner in fact.keys or (fact.obj is not None and fact.obj in owners):
                    fact.added_items[attr] = self.ref(value, scope)
        for call in self.calls:
            if call.callee == "tf.train.CheckpointManager":
                target = call.arg(0, "checkpoint")
                checkpoint = None
                if target is not None:
                    checkpoint = by_node.get(id(target)) or self.checkpoint_for(target, call.scope)
                self.managers.append(ManagerFact(call, call.assigned_to, checkpoint, obj=self._made_by(call)))

    def _made_by(self, call: Call) -> Obj | None:
        """The object a constructor call makes."""
        made = [obj for obj in self.objects(call.node, call.scope) if obj.node is call.node]
        return made[0] if made else None

    # ---- queries ------------------------------------------------------------------------------
    def roles(self, key: Key | None) -> set[Role]:
        if key is None or key not in self.bindings:
            return set()
        return self.bindings[key].roles

    def name_of(self, key: Key) -> str:
        return self.bindings[key].name if key in self.bindings else "?"

    def keras_generation(self) -> int | None:
        """2 or 3: the Keras generation this module is written for (the project's declaration, else
        what the module's own code can only be); None when nothing says (see model/target.py)."""
        if self.project_keras is not None:
            return self.project_keras
        if self._keras2 is None:
            from ckptlint.model.target import keras2_signal

            self._keras2 = keras2_signal(self) or ""
        return 2 if self._keras2 else None

    def code_of(self, node: cst.CSTNode | None) -> str:
        """The source text of a node (one line, for messages)."""
        if node is None:
            return "?"
        return " ".join(self.module.code_for_node(node).split())

    def is_widened(self, key: Key | None) -> bool:
        """The binding may hold more objects than the analysis tracks: treat what it holds as unknown."""
        return self.values.is_widened(key)

    def binding_for(self, objects: frozenset[Obj], at: Call) -> Key | None:
        """A binding that can be named at a call site (`name` in its scope or an enclosing one, or
        `self.name` in a method) and may hold one of these objects: the one to name in a message or a
        fix. Prefers a binding that holds exactly these objects, then the nearest scope."""
        candidates: list[tuple[int, int, Key]] = []
        distance = 0
        scope: Scope | None = at.scope
        cls = at.scope.enclosing_class()
        while scope is not None:
            for key, binding in self.bindings.items():
                if key[0] != id(scope) or binding.defines is not None or binding.name.startswith("self."):
                    continue
                held = self.objects_of(key)
                if held & objects:
                    candidates.append((0 if held == objects else 1, distance, key))
            scope = scope.parent
            distance += 1
        if cls is not None:
            for key, binding in self.bindings.items():
                if key[0] == id(cls) and binding.name.startswith("self.") and self.objects_of(key) & objects:
                    candidates.append((0 if self.objects_of(key) == objects else 1, 0, key))
        if not candidates:
            return None
        return min(candidates, key=lambda c: (c[0], c[1]))[2]

    def key_of(self, expr: cst.BaseExpression, scope: Scope) -> Key | None:
        return self.builder.key_of(expr, scope)

    def ref(self, expr: cst.BaseExpression, scope: Scope, at: int | None = None) -> Ref:
        objects = self.objects(expr, scope, at)
        # A checkpoint tracks what a list or dict it is given holds.
        for obj in list(objects):
            if obj.kind is ObjKind.CONTAINER:
                for value, inner in obj.elements:
                    objects |= self.objects(value, inner)
        if isinstance(expr, cst.Call):
            return Ref(expr, call=self.builder.calls_by_node.get(id(expr)), objects=objects, scope=scope)
        key = self.builder.key_of(expr, scope)
        if key is not None:
            return Ref(expr, key=key, objects=objects, scope=scope)
        if isinstance(expr, cst.Attribute):
            owner = self.builder.key_of(expr.value, scope)
            if owner is not None:
                return Ref(expr, key=owner, attr=expr.attr.value, objects=objects, scope=scope)
        return Ref(expr, objects=objects, scope=scope)

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

    def attribute_reads(self, attr: str) -> list[tuple[cst.Attribute, Scope]]:
        """Every `x.<attr>` expression of the module (loads and stores), with its scope."""
        return list(self.builder.attribute_reads.get(attr, []))

    def enclosing(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The nodes that contain `node`, innermost first (the module last)."""
        # A few questions are answered by searching the tree; a module that asks many (thousands of
        # checkpoint calls) gets the index, built once, so the cost stays linear.
        self._searches += 1
        if self._parents is None and self._searches > _SEARCHES_BEFORE_INDEX:
            self._parents = ParentIndex(self.module)
        path = (self._parents.ancestors(node) if self._parents is not None else ancestors(self.module, node)) or []
        return list(reversed(path[:-1]))

    def held_by_class(self, keys) -> bool:
        """One of these bindings is an attribute of a class (`self.manager = ...`)."""
        return any((binding := self.bindings.get(key)) is not None and binding.scope.kind == "class" for key in keys)

    def in_graph_mode_branch(self, node: cst.CSTNode) -> bool:
        """Inside the branch of `if tf.executing_eagerly(): ... else: <here>` (or `if not
        tf.executing_eagerly(): <here>`): TF1 graph-mode code that TF2 code paths never run."""
        child: cst.CSTNode = node
        for parent in self.enclosing(node):
            if isinstance(parent, cst.If):
                test, negated = parent.test, False
                if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
                    test, negated = test.expression, True
                if isinstance(test, cst.Call) and (self.qualify(test.func) or "").endswith("tf.executing_eagerly") or (
                        isinstance(test, cst.Call) and self.qualify(test.func) == "tf.compat.v1.executing_eagerly"):
                    in_else = parent.orelse is not None and child is parent.orelse
                    if (in_else and not negated) or (child is parent.body and negated):
                        return True
            child = parent
        return False

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
        """The checkpoint an expression refers to (a binding of one, an inline construction, or any
        expression whose object is one: a parameter, an attribute); the last one built when several."""
        facts = self.checkpoints_of(expr, scope)
        return facts[-1] if facts else None

    def checkpoints_of(self, expr: cst.BaseExpression, scope: Scope) -> list[CheckpointFact]:
        """Every checkpoint construction an expression may be, in source order."""
        if isinstance(expr, cst.Call):
            return [fact for fact in self.checkpoints if fact.call.node is expr]
        key = self.builder.key_of(expr, scope)
        objects = self.objects(expr, scope)
        return [fact for fact in self.checkpoints
                if (key is not None and key in fact.keys) or (fact.obj is not None and fact.obj in objects)]

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
        """Calls that write this checkpoint: `ckpt.save/write(...)` or `manager.save()` over it, wherever
        the checkpoint or its manager travelled (a parameter of a helper, an attribute). Looked up by
        receiver binding, then by the objects a receiver may hold, each index built once per module."""
        writes = self._calls_on_object(fact.obj, self.calls_on(fact, ("save", "write")), ("save", "write"))
        for manager in self.managers:
            if manager.checkpoint is fact:
                saves = self._calls_on_object(manager.obj, self.calls_on_keys(manager.keys, ("save",)), ("save",))
                known = {id(call) for call in writes}
                writes += [call for call in saves if id(call) not in known]
        return writes

    def _calls_on_object(self, obj: Obj | None, found: list[Call], methods: tuple[str, ...]) -> list[Call]:
        """`found` plus the calls of `methods` whose receiver expression may hold `obj`, in source order."""
        if obj is None:
            return found
        index = self._by_object.get(methods)
        if index is None:
            index = self._by_object[methods] = {}
            for call in self._calls_of_methods(methods):
                if call.receiver_expr is not None:
                    for held in self.objects(call.receiver_expr, call.scope, call.order):
                        index.setdefault(held, []).append(call)
        known = {id(call) for call in found}
        return sorted(found + [call for call in index.get(obj, ()) if id(call) not in known], key=lambda call: call.order)

    # ---- training facts -----------------------------------------------------------------------
    def training(self) -> list[Training]:
        """Every place an optimizer updates models, in source order (see facts.Training)."""
        if self._training is None:
            self._training = []
            for call in self.calls:
                if call.method in OPTIMIZER_METHODS and call.receiver_expr is not None:
                    models = self._trained_models(call)
                    self._training.append(Training(call, self.objects(call.receiver_expr, call.scope, call.order),
                                                   models, False, call.receiver_expr))
                elif call.method and call.receiver_expr is not None and self._imported_trainings(call):
                    self._training.extend(self._imported_trainings(call))
                elif call.method == "compile" and call.receiver_expr is not None:
                    optimizer = call.arg(0, "optimizer")
                    if optimizer is None:
                        continue
                    self._training.append(Training(call, self.objects(optimizer, call.scope, call.order),
                                                   self.objects(call.receiver_expr, call.scope, call.order), True,
                                                   optimizer))
        return self._training

    def _imported_trainings(self, call: Call) -> list[Training]:
        """`trainer.train(...)` on an instance of a class of another module whose method trains its own
        attributes, which its `__init__` took from the arguments this module built it with:
        `Trainer(model, optimizer)` then `trainer.train()` trains `model` with `optimizer`."""
        entry = self.imported_call(call)
        if not entry or not entry.get("trains_attributes"):
            return []
        found = []
        for instance in self.objects(call.receiver_expr, call.scope, call.order):
            made = self.call_at(instance.node) if instance.kind is ObjKind.IMPORTED else None
            cls = self.values.imported_entry(instance.callee or "") if made is not None else None
            if made is None or cls is None or cls[0] != "class":
                continue
            init = cls[1].get("methods", {}).get("__init__", {})
            params = [p for p in init.get("params", []) if p != "self"]
            by_attribute: dict[str, cst.BaseExpression] = {}
            positional = [a.value for a in made.node.args if a.keyword is None and not a.star]
            for param, attributes in cls[1].get("init_attributes", {}).items():
                value = made.kwarg(param)
                if value is None and param in params and params.index(param) < len(positional):
                    value = positional[params.index(param)]
                if value is not None:
                    for attribute in attributes:
                        by_attribute[attribute] = value
            for trained in entry["trains_attributes"]:
                optimizer_exprs = [by_attribute[a] for a in trained["optimizer"] if a in by_attribute]
                model_exprs = [by_attribute[a] for a in trained["models"] if a in by_attribute]
                if not optimizer_exprs or not model_exprs:
                    continue
                optimizers = frozenset().union(*(self.objects(e, made.scope, made.order) for e in optimizer_exprs))
                models = frozenset().union(*(self.objects(e, made.scope, made.order) for e in model_exprs))
                found.append(Training(call, optimizers, models, False, optimizer_exprs[0]))
        return found

    def trainings_of(self, models: frozenset[Obj]) -> list[Training]:
        """The trainings that update any of these model objects."""
        return [fact for fact in self.training() if fact.models & models]

    def _trained_models(self, call: Call) -> frozenset[Obj]:
        """What an `apply_gradients`/`minimize` call updates: the models that own every
        `x.trainable_variables` in its arguments (written there or through a name), and tf.Variables it
        is given (alone or in a list); else the models whose variables the same function reads."""
        found: set[Obj] = set()
        values = self.values

        def variables(objects) -> set[Obj]:
            """tf.Variables an optimizer is given directly, or in a list it is given."""
            result = {obj for obj in objects if Role.VARIABLE in obj.built}
            for obj in objects:
                if obj.kind is ObjKind.CONTAINER:
                    for value, scope in obj.elements:
                        result |= {inner for inner in values.objects(value, scope) if Role.VARIABLE in inner.built}
            return result

        class _Visit(cst.CSTVisitor):
            def visit_Attribute(self, attribute: cst.Attribute) -> None:
                if attribute.attr.value in MODEL_ATTRIBUTES:
                    found.update(values.objects(attribute.value, call.scope))
                elif isinstance(attribute.value, cst.Name) and attribute.value.value == "self":
                    objects = values.objects(attribute, call.scope)
                    found.update(variables(objects))
                    # `self.network_vars`, set elsewhere to `a.trainable_variables + b.trainable_variables`
                    found.update(obj.owner for obj in objects
                                 if obj.kind is ObjKind.DERIVED and obj.attr in MODEL_ATTRIBUTES and obj.owner is not None)

            def visit_Name(self, name: cst.Name) -> None:
                objects = values.objects(name, call.scope)
                for obj in objects:
                    if obj.kind is ObjKind.DERIVED and obj.attr in MODEL_ATTRIBUTES and obj.owner is not None:
                        found.add(obj.owner)
                found.update(variables(objects))

        walk(call.node, _Visit())
        if not found and call.function is not None:
            for key, attr, scope in self.builder.attribute_uses:
                if attr in MODEL_ATTRIBUTES and _within(scope, call.function):
                    found.update(self.objects_of(key))
        return frozenset(found)

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
            if call.receiver is not None and call.receiver_expr is not None and model_key in self.models_trained_by(call):
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
            if call.method in TRAINING_METHODS or self._trains_elsewhere(call):
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
        """Every function of this module a call may run (not the `__init__` of a class it instantiates),
        including functions it is handed to run (`strategy.run(train_step, ...)`, `tf.function(step)`,
        `tf.py_function(f, ...)`)."""
        found = [target.function for target in self.values.call_targets(call) if not target.instantiates]
        for arg in call.node.args:
            for obj in self.objects(arg.value, call.scope, call.order):
                function = self.values.function_of(obj)
                if function is not None and function not in found:
                    found.append(function)
        return found

    def callers(self, function: Scope, *, instantiations: bool = False) -> list[Call]:
        """Calls in this module that invoke `function` (with `instantiations`, also `Trainer(...)` for
        an `__init__`)."""
        if self._callers is None:
            self._callers = {}
            for call in self.calls:
                for target in self.values.call_targets(call):
                    self._callers.setdefault(id(target.function), []).append((call, target.instantiates))
                for handed in self.call_targets(call):
                    if not any(c is call for c, _ in self._callers.get(id(handed), [])):
                        self._callers.setdefault(id(handed), []).append((call, False))
        return [call for call, instantiates in self._callers.get(id(function), []) if instantiations or not instantiates]

    def is_compiled(self, obj: Obj) -> bool:
        """A model compiled with an optimizer (here, or in the module that built it): Keras tracks
        that optimizer as `model.optimizer` and saves it with the model."""
        return obj.compiled or any(t.compiled and obj in t.models for t in self.training())

    def imported_call(self, call: Call) -> dict | None:
        """What another module's summary says of the function or method a call runs: `build()` of
        `from models import build`, or `trainer.fit()` on an instance of an imported class."""
        values = self.values
        if call.callee and not call.callee.startswith("local:"):
            entry = values.imported_entry(call.callee)
            if entry is not None and entry[0] in ("function", "method"):
                return entry[1]
        if call.method and call.receiver_expr is not None:
            for obj in self.objects(call.receiver_expr, call.scope, call.order):
                if obj.kind is ObjKind.IMPORTED and obj.callee and not obj.path:
                    entry = values.imported_entry(obj.callee)
                    if entry is not None and entry[0] == "class":
                        method = entry[1].get("methods", {}).get(call.method)
                        if method is not None:
                            return method
        return None

    def imported_constant(self, dotted: str) -> str | None:
        """The value of a path constant another project module defines (`config.CKPT_DIR`), from its
        summary; None when unknown."""
        imports = self.values.imports
        resolved = imports.resolve(dotted) if imports is not None else None
        if resolved is None:
            return None
        summary, path = resolved
        return summary.get("constants", {}).get(path[0]) if len(path) == 1 else None

    def _trains_elsewhere(self, call: Call) -> bool:
        imported = self.imported_call(call)
        if imported and imported.get("trains"):
            return True
        # `strategy.run(model.train_sample, args=...)`, `tf.function(trainer.step)`: a method of another
        # module's class that trains, handed over to be run
        for arg in call.node.args:
            value = arg.value
            if isinstance(value, cst.Attribute) and (
                    self._imported_method(value, call.scope, call.order) or {}).get("trains"):
                return True
        return False

    def _imported_method(self, expr: cst.Attribute, scope: Scope, at: int) -> dict | None:
        """What another module's summary says of `obj.method` (not called), `obj` an instance of its class."""
        for obj in self.objects(expr.value, scope, at):
            if obj.kind is ObjKind.IMPORTED and obj.callee and not obj.path:
                entry = self.values.imported_entry(obj.callee)
                if entry is not None and entry[0] == "class":
                    method = entry[1].get("methods", {}).get(expr.attr.value)
                    if method is not None:
                        return method
        return None

    def trained_objects(self, call: Call) -> frozenset[Obj]:
        """What a training call updates: the optimizer and the models of `apply_gradients`/`minimize`,
        the model of `fit`/`train_on_batch`."""
        if call.method in OPTIMIZER_METHODS and call.receiver_expr is not None:
            fact = next((t for t in self.training() if t.call is call), None)
            return (fact.optimizers | fact.models) if fact is not None else frozenset()
        if call.method in KERAS_TRAINING_METHODS and call.receiver_expr is not None:
            return self.objects(call.receiver_expr, call.scope, call.order)
        return frozenset()

    def trains_objects(self, call: Call, objects: frozenset[Obj], _depth: int = 3) -> bool:
        """Whether a call trains any of `objects`: directly, or through a function of this module it
        runs (which may train them anywhere in its body)."""
        if self.trained_objects(call) & objects:
            return True
        if self._trains_elsewhere(call):
            # a function of another module that trains: what it is given (and what those hold) is trained
            given = set(self.objects(call.receiver_expr, call.scope, call.order)) if call.receiver_expr is not None else set()
            for arg in call.node.args:
                given |= self.objects(arg.value, call.scope, call.order)
            given |= {obj for obj in objects if obj.owner is not None and obj.owner in given}
            if given & objects:
                return True
        if _depth <= 0:
            return False
        for target in self.call_targets(call):
            for inner in self._calls_in(target):
                if self.trains_objects(inner, objects, _depth - 1):
                    return True
        return False

    def _calls_in(self, function: Scope) -> list[Call]:
        if self._calls_by_function is None:
            self._calls_by_function = {}
            for call in self.calls:
                scope: Scope | None = call.scope
                while scope is not None:  # a call in a nested function belongs to the outer ones too
                    if scope.kind == "function":
                        self._calls_by_function.setdefault(id(scope), []).append(call)
                    scope = scope.parent
        return self._calls_by_function.get(id(function), [])

    def in_training_loop(self, call: Call, _seen: set[int] | None = None) -> bool:
        """A call inside a loop whose body trains (directly or through a local function), or inside a
        function that is called from such a loop (`trainer.save(d)` in the epoch loop)."""
        for loop in call.loops:
            for other in self.calls:
                if loop in other.loops:
                    if other.method in TRAINING_METHODS or self._trains_elsewhere(other):
                        return True
                    if any(self.trains(target) for target in self.call_targets(other)):
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


__all__ = ["ModuleModel", "dotted_name"]
