"""Which objects each name may hold: a small points-to analysis over one module.

Objects are where values come from: a call to a known TF/Keras constructor, an instance of a class
defined here (one object per class: every instance and every `self` of its methods), a parameter fed
from outside, the result of a call ckptlint cannot see into, a function of another module of the
project (described by that module's summary). Each binding, function return and class attribute gets
the set of objects it may hold, through assignments, tuple unpacking, loops over literals, calls to
functions defined here (arguments into parameters, returns out), attributes of instances (through base
and derived classes), closures and `x if c else y`.

Roles (model, optimizer, checkpoint...) belong to objects, so what a helper does to its parameter is
known of the caller's object, and two names holding the same object are known to. The analysis is
flow- and context-insensitive (questions of order are answered from the calls' order and the call graph);
a set that would grow past MAX_OBJECTS is widened (`Values.widened`) and rules treat it as unknown.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import libcst as cst

from ckptlint.model.facts import Binding, Call, Key, Role, Scope
from ckptlint.model.summary import Imports, lookup, roles_of
from ckptlint.model.vocabulary import (
    CONSTRUCTOR_ROLES, DATASET_METHODS, MODEL_ATTRIBUTES, MODEL_METHODS, OPTIMIZER_METHODS, VARIABLE_METHODS,
    is_model_constructor, is_optimizer_constructor,
)

if TYPE_CHECKING:  # pragma: no cover
    from ckptlint.model.builder import ModelBuilder

MAX_OBJECTS = 24
_MAX_ROUNDS = 8
_MAX_DEPTH = 40


class ObjKind(str, Enum):
    CONSTRUCTED = "constructed"  # a call of a known TF/Keras API
    INSTANCE = "instance"  # the instances of a class defined in this module
    PARAMETER = "parameter"  # what a parameter receives from callers ckptlint does not see
    EXTERNAL = "external"  # the result of a call (or an element of it) ckptlint cannot see into
    IMPORTED = "imported"  # the result of a call of a function or class of another project module
    DERIVED = "derived"  # an attribute of another object (`model.optimizer`, `trainer.net`)
    CONTAINER = "container"  # a tuple, list or dict written in the code


@dataclass(eq=False)
class Obj:
    kind: ObjKind
    node: cst.CSTNode  # where the object comes from
    scope: Scope
    callee: str | None = None  # CONSTRUCTED: the canonical constructor; IMPORTED: the imported path
    cls: Scope | None = None  # INSTANCE: the class
    owner: Obj | None = None  # DERIVED: whose attribute (or element) it is
    attr: str | None = None  # DERIVED: the attribute; IMPORTED/EXTERNAL elements: the path as text
    path: tuple[int, ...] = ()  # an element of an IMPORTED/EXTERNAL result (`a, b = make()`)
    elements: list[tuple[cst.BaseExpression, Scope]] = field(default_factory=list)  # CONTAINER
    roles: set[Role] = field(default_factory=set)  # what it is, by construction and by how it is used
    built: set[Role] = field(default_factory=set)  # what its construction alone says it is
    compiled: bool = False  # IMPORTED: another module's summary says it is a model compiled with an optimizer
    described: dict | None = None  # IMPORTED (and its attributes): what that summary says of it

    def __post_init__(self) -> None:
        self.built |= self.roles

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        what = self.callee or (self.cls.name if self.cls else None) or self.attr or type(self.node).__name__
        return f"<{self.kind.value} {what} {sorted(r.value for r in self.roles)}>"


Location = object  # a binding Key, or ("return", id(function scope))
Objects = frozenset


@dataclass
class CallTarget:
    """A function of this module that a call may run, and how the call's arguments map to its
    parameters (`bound`: the call passes the receiver as the first parameter, `self`). `instantiates`:
    the call creates an instance of the class whose `__init__` this is (its value is the instance)."""

    function: Scope
    bound: bool
    instantiates: bool = False


class Values:
    """The solved points-to sets of one module (built by `Values.solve`)."""

    def __init__(self, builder: ModelBuilder, imports: Imports | None = None) -> None:
        self.builder = builder
        self.points_to: dict[Location, set[Obj]] = {}
        # For a name bound more than once in one scope: what each assignment binds, so that a use can
        # see the assignment that reaches it (`ckpt = Checkpoint(model=m)` ... `ckpt = Checkpoint(...)`).
        self.assigned: dict[tuple[Key, int], set[Obj]] = {}
        self.widened: set[Location] = set()
        self._made: dict[tuple, Obj] = {}  # memo: one object per origin
        self._class_objects: dict[int, Obj] = {}
        self._defines: dict[Key, Scope] = {}
        self._function_of_node: dict[int, Scope] = {}
        self._classes_by_name: dict[str, list[Scope]] = {}
        self._subclasses: dict[int, list[Scope]] = {}
        self.imports = imports
        self._targets: dict[int, list[CallTarget]] = {}
        self._memo: dict[tuple[int, int], Objects] = {}  # (expression, scope) -> objects, this round
        self._methods: dict[tuple[int, str], Scope] = {}
        self._families: dict[int, list[Scope]] = {}
        self._changed = False
        self._depth = 0

    # ---- building ----------------------------------------------------------------------------------
    @classmethod
    def solve(cls, builder: ModelBuilder, imports: Imports | None = None) -> Values:
        values = cls(builder, imports)
        values._index()
        values._seed_parameters()
        values._settle()
        # A binding still empty holds something ckptlint cannot see (a global, an element of an unknown
        # value...): one object of its own, so that how it is used still says what it is.
        if values._seed_unknown():
            values._settle()
        values._targets = {}
        values._memo = {}
        values._assign_roles()
        return values

    def _settle(self) -> None:
        for _ in range(_MAX_ROUNDS):
            self._changed = False
            self._targets = {}
            self._memo = {}
            self._round()
            if not self._changed:
                break
        self._memo = {}

    def _seed_unknown(self) -> bool:
        seeded = False
        for binding in self.builder.bindings.values():
            key = binding.key
            if binding.defines is not None or self.points_to.get(key) or not binding.assignments:
                continue
            if binding.name in ("self", "cls"):
                continue
            obj = self._make(("binding", key), lambda b=binding: Obj(ObjKind.EXTERNAL, b.scope.node, b.scope, attr=b.name))
            self._add(key, {obj})
            seeded = True
        return seeded

    def _index(self) -> None:
        for binding in self.builder.bindings.values():
            if binding.defines is not None:
                self._defines[binding.key] = binding.defines
        for scope in self.builder.functions:
            self._function_of_node[id(scope.node)] = scope
            if scope.parent is not None and scope.parent.kind == "class":
                self._methods.setdefault((id(scope.parent), scope.name), scope)
        for scope in self.builder.classes:
            self._classes_by_name.setdefault(scope.name, []).append(scope)
        for scope in self.builder.classes:
            for base in self.local_bases(scope):
                self._subclasses.setdefault(id(base), []).append(scope)

    def _seed_parameters(self) -> None:
        """A parameter of a function that no call here reaches gets an object of its own: what callers
        elsewhere pass. Which functions are called is decided by name, before any set is known."""
        called: set[str] = set()
        for call in self.builder.calls:
            func = call.node.func
            if isinstance(func, cst.Name):
                called.add(func.value)
            elif isinstance(func, cst.Attribute):
                called.add(func.attr.value)
        for function in self.builder.functions:
            name = function.name
            if name == "__init__" and function.parent is not None and function.parent.kind == "class":
                name = function.parent.name  # `Trainer(...)` calls `Trainer.__init__`
            if name in called:
                continue
            for index, name in enumerate((*function.params, *function.kwonly)):
                if index == 0 and name in ("self", "cls") and function.parent is not None and function.parent.kind == "class":
                    continue
                key = (id(function), name)
                if key in self.builder.bindings:
                    obj = self._make(("parameter", key), lambda: Obj(ObjKind.PARAMETER, function.node, function, attr=name))
                    self._add(key, {obj})

    def _round(self) -> None:
        for binding in self.builder.bindings.values():
            rebound = len(binding.assignments) > 1
            for index, assignment in enumerate(binding.assignments):
                if assignment.value is not None:
                    objects = self.objects(assignment.value, assignment.scope, at=assignment.order)
                elif assignment.source is not None:
                    objects = frozenset(self._part(assignment.source, assignment.scope, assignment.unpack,
                                                   assignment.iterate, assignment.order))
                else:
                    continue
                self._add(binding.key, objects)
                if rebound:
                    self.assigned.setdefault((binding.key, index), set()).update(objects)
        for function in self.builder.functions:
            for expr in self.builder.returns.get(id(function), []):
                self._add(("return", id(function)), self.objects(expr, function))
        for call in self.builder.calls:
            for target in self.call_targets(call):
                self._pass_arguments(call, target)
        for owner, _attr, value, scope in self.builder.attribute_stores:
            pass  # checkpoint items added by attribute are read by the checkpoint facts, not here
        for owner, value, scope in self.builder.element_stores:
            for obj in self.points_to.get(owner, ()):
                if obj.kind is ObjKind.CONTAINER and (value, scope) not in obj.elements:
                    obj.elements.append((value, scope))
                    self._changed = True

    def _returned_argument(self, call: Call, target: CallTarget) -> cst.BaseExpression | None:
        """The argument of this call that the function returns, when every `return` of the function
        returns one and the same parameter, never rebound (a helper that loads weights into the network
        it is given and hands it back); else None. Keeps two calls of such a helper apart."""
        function = target.function
        returned = self.builder.returns.get(id(function), [])
        names = {expr.value for expr in returned if isinstance(expr, cst.Name)}
        if len(names) != 1 or len(returned) != sum(isinstance(expr, cst.Name) for expr in returned):
            return None
        name = names.pop()
        params = list(function.params)
        if target.bound and params:
            params = params[1:]
        if name not in params and name not in function.kwonly:
            return None
        binding = self.builder.bindings.get((id(function), name))
        if binding is None or any(assignment.value is not None for assignment in binding.assignments):
            return None  # rebound inside: the parameter is not what comes back
        position = 0
        for arg in call.node.args:
            if arg.star:
                return None
            if arg.keyword is None:
                if position < len(params) and params[position] == name:
                    return arg.value
                position += 1
            elif arg.keyword.value == name:
                return arg.value
        return None

    def _pass_arguments(self, call: Call, target: CallTarget) -> None:
        function = target.function
        params = list(function.params)
        if target.bound and params:
            params = params[1:]
        args = call.node.args
        position = 0
        for arg in args:
            if arg.star:
                return  # *args / **kwargs: which parameter gets what is unknown from here on
            if arg.keyword is None:
                if position < len(params):
                    self._add((id(function), params[position]), self.objects(arg.value, call.scope, at=call.order))
                position += 1
            else:
                name = arg.keyword.value
                if name in function.params or name in function.kwonly:
                    self._add((id(function), name), self.objects(arg.value, call.scope, at=call.order))

    def _add(self, location: Location, objects: Iterable[Obj]) -> None:
        current = self.points_to.setdefault(location, set())
        before = len(current)
        current.update(objects)
        if len(current) > MAX_OBJECTS:
            self.widened.add(location)
            while len(current) > MAX_OBJECTS:
                current.pop()
        if len(current) != before:
            self._changed = True

    def _make(self, origin: tuple, build: Callable[[], Obj]) -> Obj:
        obj = self._made.get(origin)
        if obj is None:
            obj = self._made[origin] = build()
            self._changed = True
        return obj

    # ---- evaluation --------------------------------------------------------------------------------
    def objects(self, expr: cst.BaseExpression | None, scope: Scope, at: int | None = None) -> Objects:
        """The objects an expression evaluated in `scope` may be. `at`: the position (a call's or an
        assignment's order) where it is evaluated: a name bound several times in that scope is then
        what its last assignment before `at` bound."""
        if expr is None or self._depth > _MAX_DEPTH:
            return frozenset()
        memo_key = (id(expr), id(scope), at)
        found = self._memo.get(memo_key)
        if found is not None:
            return found
        self._depth += 1
        try:
            found = frozenset(self._evaluate(expr, scope, at))
        finally:
            self._depth -= 1
        self._memo[memo_key] = found
        return found

    def _reaching(self, key: Key, scope: Scope, at: int | None) -> set[Obj] | None:
        """What the last assignment of `key` before position `at` in `scope` bound, or None to use
        everything the binding may hold (one assignment, a use in another scope, no position)."""
        if at is None:
            return None
        binding = self.builder.bindings.get(key)
        if binding is None or len(binding.assignments) < 2 or key[0] != id(scope):
            return None
        best = None
        for index, assignment in enumerate(binding.assignments):
            if assignment.order < at and assignment.scope is scope:
                best = index
        if best is None:
            return None
        return self.assigned.get((key, best), set())

    def _evaluate(self, expr: cst.BaseExpression, scope: Scope, at: int | None = None) -> set[Obj]:
        builder = self.builder
        if isinstance(expr, cst.Name):
            if expr.value == "self":
                cls = scope.enclosing_class()
                return {self.instance(cls)} if cls is not None else set()
            key = builder.lookup(expr.value, scope)
            if key is not None:
                defined = self._defines.get(key)
                if defined is not None and defined.kind == "function":
                    # a function passed around as a value (`strategy.run(train_step, ...)`)
                    return {self._make(("bound", id(defined)), lambda: Obj(
                        ObjKind.DERIVED, defined.node, defined, attr=defined.name))}
                reaching = self._reaching(key, scope, at)
                return set(reaching if reaching is not None else self.points_to.get(key, ()))
            if expr.value in builder.aliases or expr.value in _BUILTINS:
                return set()
            # A name bound nowhere in this module (another notebook cell, a star import, a global set
            # elsewhere): one object per name, so that how it is used still says what it is.
            return {self._make(("global", expr.value), lambda: Obj(
                ObjKind.EXTERNAL, builder.module, builder.module_scope, attr=expr.value))}
        if isinstance(expr, cst.Attribute):
            if isinstance(expr.value, cst.Name) and expr.value.value == "self":
                cls = scope.enclosing_class()
                if cls is not None:
                    return self.attribute_of_class(cls, expr.attr.value)
            result: set[Obj] = set()
            for owner in self.objects(expr.value, scope, at):
                result |= self.attribute(owner, expr.attr.value, expr)
            return result
        if isinstance(expr, cst.Call):
            return self._call(expr, scope)
        if isinstance(expr, cst.IfExp):
            return set(self.objects(expr.body, scope) | self.objects(expr.orelse, scope))
        if isinstance(expr, cst.BooleanOperation):
            return set(self.objects(expr.left, scope) | self.objects(expr.right, scope))
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add) and any(
                isinstance(side, cst.Attribute) and side.attr.value in MODEL_ATTRIBUTES for side in (expr.left, expr.right)):
            # `a.trainable_variables + b.trainable_variables`: the list holds both models' variables
            return set(self.objects(expr.left, scope) | self.objects(expr.right, scope))
        if isinstance(expr, cst.NamedExpr):
            return set(self.objects(expr.value, scope))
        if isinstance(expr, cst.Await):
            return set(self.objects(expr.expression, scope))
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            obj = self._make(("container", id(expr)), lambda: Obj(
                ObjKind.CONTAINER, expr, scope,
                elements=[(e.value, scope) for e in expr.elements if isinstance(e, cst.Element)]))
            return {obj}
        if isinstance(expr, cst.Dict):
            obj = self._make(("container", id(expr)), lambda: Obj(
                ObjKind.CONTAINER, expr, scope,
                elements=[(e.value, scope) for e in expr.elements if isinstance(e, cst.DictElement)]))
            return {obj}
        if isinstance(expr, cst.Subscript):
            result = set()
            for owner in self.objects(expr.value, scope):
                if owner.kind is ObjKind.CONTAINER:
                    index = _literal_index(expr)
                    elements = owner.elements
                    if index is not None and isinstance(owner.node, (cst.Tuple, cst.List)) and 0 <= index < len(elements):
                        elements = [elements[index]]
                    for value, inner in elements:
                        result |= self.objects(value, inner)
            return result
        return set()

    def _call(self, node: cst.Call, scope: Scope) -> set[Obj]:
        builder = self.builder
        func = node.func
        cls = self.called_class(func, scope)
        if cls is not None:
            return {self.instance(cls)}
        call = builder.calls_by_node.get(id(node))
        targets = self.call_targets(call) if call is not None else []
        if targets:
            result: set[Obj] = set()
            for target in targets:
                passed = self._returned_argument(call, target)
                if passed is not None:
                    # `def load(net, path): ...; return net`: what this call passed, not every caller's
                    result |= self.objects(passed, call.scope, at=call.order)
                else:
                    result |= self.points_to.get(("return", id(target.function)), set())
            return result
        callee = builder.qualify(func)
        if callee is not None and not callee.startswith("local:"):
            role = _constructed_role(callee)
            if role is not None:
                return {self._make(("call", id(node)), lambda: Obj(ObjKind.CONSTRUCTED, node, scope, callee=callee,
                                                                   roles={role}))}
            if isinstance(func, cst.Name) and func.value == "iter":
                pass
            elif self._is_project_import(callee):
                return {self._make(("call", id(node)), lambda: Obj(ObjKind.IMPORTED, node, scope, callee=callee))}
        if isinstance(func, cst.Name) and func.value == "iter" and builder.lookup("iter", scope) is None and node.args:
            return {self._make(("call", id(node)), lambda: Obj(ObjKind.CONSTRUCTED, node, scope, callee="iter",
                                                               roles={Role.ITERATOR}))}
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receivers = self.objects(func.value, scope)
            if method == "__iter__" and receivers:
                return {self._make(("call", id(node)), lambda: Obj(ObjKind.CONSTRUCTED, node, scope, callee="iter",
                                                                   roles={Role.ITERATOR}))}
            if method in ("restore", "read") and any(Role.CHECKPOINT in r.roles for r in receivers):
                return {self._make(("call", id(node)), lambda: Obj(ObjKind.CONSTRUCTED, node, scope,
                                                                   callee="restore-status", roles={Role.STATUS}))}
            if method in DATASET_METHODS and (any(Role.DATASET in r.roles for r in receivers) or any(
                    arg.keyword is not None and arg.keyword.value == "reshuffle_each_iteration" for arg in node.args)):
                # a dataset method on a dataset, or `shuffle(..., reshuffle_each_iteration=...)`, which only
                # tf.data has (a dataset from a builder of another package: `tfds` and the like)
                return {self._make(("call", id(node)), lambda: Obj(ObjKind.CONSTRUCTED, node, scope,
                                                                   callee="tf.data", roles={Role.DATASET}))}
        return {self._make(("call", id(node)), lambda: Obj(ObjKind.EXTERNAL, node, scope, callee=callee))}

    def _part(self, source: cst.BaseExpression, scope: Scope, path: tuple[int, ...], iterate: bool,
              at: int | None = None) -> set[Obj]:
        """What a target receives from `source`: its element at `path`, after iterating it if `iterate`."""
        if iterate and isinstance(source, cst.Call) and isinstance(source.func, cst.Name) \
                and self.builder.lookup(source.func.value, scope) is None and path:
            args = [a.value for a in source.args if a.keyword is None and not a.star]
            if source.func.value == "enumerate" and path[0] == 1 and args:
                return self._part(args[0], scope, path[1:], True, at)
            if source.func.value == "zip" and path[0] < len(args):
                return self._part(args[path[0]], scope, path[1:], True, at)
        objs: set[Obj] = set(self.objects(source, scope, at))
        if iterate:
            objs = self._iterate(objs)
        for index in path:
            objs = self._element(objs, index)
        return objs

    def _iterate(self, objs: set[Obj]) -> set[Obj]:
        result: set[Obj] = set()
        for obj in objs:
            if obj.kind is ObjKind.CONTAINER:
                for value, scope in obj.elements:
                    result |= self.objects(value, scope)
            elif obj.kind is not ObjKind.INSTANCE:
                result.add(self._make(("item", id(obj)), lambda obj=obj: Obj(
                    ObjKind.DERIVED, obj.node, obj.scope, owner=obj, attr="[]")))
        return result

    def _element(self, objs: set[Obj], index: int) -> set[Obj]:
        result: set[Obj] = set()
        for obj in objs:
            if obj.kind is ObjKind.CONTAINER:
                if index < len(obj.elements):
                    value, scope = obj.elements[index]
                    result |= self.objects(value, scope)
            elif obj.kind in (ObjKind.EXTERNAL, ObjKind.IMPORTED, ObjKind.PARAMETER, ObjKind.DERIVED):
                result.add(self._make(("element", id(obj), index), lambda obj=obj: Obj(
                    obj.kind, obj.node, obj.scope, callee=obj.callee, owner=obj, path=(*obj.path, index))))
        return result

    # ---- classes and attributes --------------------------------------------------------------------
    def instance(self, cls: Scope) -> Obj:
        """The one object that stands for every instance of a class defined here."""
        obj = self._class_objects.get(id(cls))
        if obj is None:
            obj = self._class_objects[id(cls)] = Obj(ObjKind.INSTANCE, cls.node, cls, cls=cls)
        return obj

    def called_class(self, func: cst.BaseExpression, scope: Scope) -> Scope | None:
        if isinstance(func, cst.Name):
            key = self.builder.lookup(func.value, scope)
            defined = self._defines.get(key) if key is not None else None
            return defined if defined is not None and defined.kind == "class" else None
        return None

    def local_bases(self, cls: Scope) -> list[Scope]:
        """The classes of this module a class derives from, directly."""
        found = []
        for base in cls.bases:
            name = base[len("local:"):] if base.startswith("local:") else None
            if name is None:
                continue
            for candidate in self._classes_by_name.get(name, []):
                if candidate is not cls:
                    found.append(candidate)
        return found

    def class_family(self, cls: Scope) -> list[Scope]:
        """The class, the classes of this module it derives from and those that derive from it: `self.x`
        set in a base is read in a subclass and the other way round (not in a sibling class)."""
        known = self._families.get(id(cls))
        if known is not None:
            return known
        family = [cls, *self._ancestors(cls), *self._descendants(cls)]
        self._families[id(cls)] = family
        return family

    def _descendants(self, cls: Scope) -> list[Scope]:
        found: list[Scope] = []
        seen = {id(cls)}
        pending = list(self._subclasses.get(id(cls), []))
        while pending:
            current = pending.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            found.append(current)
            pending.extend(self._subclasses.get(id(current), []))
        return found

    def attribute_of_class(self, cls: Scope, name: str) -> set[Obj]:
        result: set[Obj] = set()
        for member in self.class_family(cls):
            key = (id(member), f"self.{name}")
            result |= self.points_to.get(key, set())
            defined = self._method(member, name)
            if defined is not None:
                result.add(self._make(("bound", id(defined)), lambda d=defined: Obj(
                    ObjKind.DERIVED, d.node, d, attr=name)))
        if not result:
            instance = self.instance(cls)
            result.add(self._derived(instance, name, cls.node))
        return result

    def attribute(self, owner: Obj, name: str, node: cst.CSTNode) -> set[Obj]:
        if owner.kind is ObjKind.INSTANCE and owner.cls is not None:
            return self.attribute_of_class(owner.cls, name)
        if owner.kind is ObjKind.CONTAINER:
            return set()
        if owner.callee == "tf.train.Checkpoint" and isinstance(owner.node, cst.Call):
            # `ckpt.step` is what the checkpoint was given as `step=`
            for arg in owner.node.args:
                if arg.keyword is not None and arg.keyword.value == name:
                    return set(self.objects(arg.value, owner.scope))
        return {self._derived(owner, name, node)}

    def _derived(self, owner: Obj, name: str, node: cst.CSTNode) -> Obj:
        return self._make(("attr", id(owner), name), lambda: Obj(ObjKind.DERIVED, node, owner.scope, owner=owner, attr=name))

    def _method(self, cls: Scope, name: str) -> Scope | None:
        return self._methods.get((id(cls), name))

    def method_of(self, cls: Scope, name: str) -> Scope | None:
        """A method of a class or of its bases defined here."""
        pending = [cls]
        seen: set[int] = set()
        while pending:
            current = pending.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            found = self._method(current, name)
            if found is not None:
                return found
            pending.extend(self.local_bases(current))
        return None

    # ---- the call graph ----------------------------------------------------------------------------
    def call_targets(self, call: Call) -> list[CallTarget]:
        """The functions of this module a call may run: a function by its name (module-level or
        nested, through closures), a method of `self`, of an instance of a class defined here, or a
        class's `__init__` when it is instantiated."""
        cached = self._targets.get(id(call.node))
        if cached is not None:
            return cached
        targets: list[CallTarget] = []
        func = call.node.func
        scope = call.scope
        if isinstance(func, cst.Name):
            key = self.builder.lookup(func.value, scope)
            defined = self._defines.get(key) if key is not None else None
            if defined is not None and defined.kind == "function":
                targets.append(CallTarget(defined, False))
            elif defined is not None and defined.kind == "class":
                init = self.method_of(defined, "__init__")
                if init is not None:
                    targets.append(CallTarget(init, True, instantiates=True))
            elif key is not None:
                for obj in self.points_to.get(key, ()):
                    function = self._bound_function(obj)
                    if function is not None:
                        targets.append(CallTarget(function, self._is_method(function)))
        elif isinstance(func, cst.Attribute):
            name = func.attr.value
            if isinstance(func.value, cst.Name) and func.value.value == "self":
                cls = scope.enclosing_class()
                if cls is not None:
                    for member in self.class_family(cls):
                        method = self._method(member, name)
                        if method is not None:
                            targets.append(CallTarget(method, True))
            else:
                for obj in self.objects(func.value, scope):
                    if obj.kind is ObjKind.INSTANCE and obj.cls is not None:
                        method = self.method_of(obj.cls, name)
                        if method is not None and not any(t.function is method for t in targets):
                            targets.append(CallTarget(method, True))
        self._targets[id(call.node)] = targets
        return targets

    def function_of(self, obj: Obj) -> Scope | None:
        """The function of this module an object is, when it is one (a def's name, `self.method`)."""
        return self._bound_function(obj)

    def _bound_function(self, obj: Obj) -> Scope | None:
        if obj.kind is ObjKind.DERIVED and obj.owner is None and isinstance(obj.node, cst.FunctionDef):
            return self._function_of_node.get(id(obj.node))
        return None

    @staticmethod
    def _is_method(function: Scope) -> bool:
        return function.parent is not None and function.parent.kind == "class"

    # ---- roles -------------------------------------------------------------------------------------
    def _assign_roles(self) -> None:
        builder = self.builder
        for scope in builder.classes:
            bases = self.all_bases(scope)
            obj = self.instance(scope)
            if bases & {"keras.Model", "keras.Sequential"}:
                obj.roles.add(Role.MODEL)
                obj.built.add(Role.MODEL)
            if "keras.callbacks.Callback" in bases:
                obj.roles.add(Role.CALLBACK)
                obj.built.add(Role.CALLBACK)
        for call in builder.calls:
            expr = call.receiver_expr
            if expr is None:
                continue
            role = _usage_role(call.method)
            if role is None:
                continue
            for obj in self.objects(expr, call.scope):
                if obj.kind is not ObjKind.CONTAINER:
                    obj.roles.add(role)
        for key, attr, scope in builder.attribute_uses:
            if attr in MODEL_ATTRIBUTES:
                for obj in self.points_to.get(key, ()):
                    if obj.kind is not ObjKind.CONTAINER:
                        obj.roles.add(Role.MODEL)
        if self.imports is not None:
            for obj in list(self._made.values()):
                if obj.kind is ObjKind.IMPORTED and obj.callee:
                    self._describe_imported(obj)
            for obj in list(self._made.values()):
                if obj.kind is ObjKind.DERIVED and obj.owner is not None and obj.owner.kind is ObjKind.IMPORTED:
                    entry = self.imported_entry(obj.owner.callee or "")
                    if entry is not None and entry[0] == "class":
                        described = entry[1].get("attributes", {}).get(obj.attr or "")
                        self._apply(obj, described)
        # `model.optimizer` of a model is its optimizer (after the models are known)
        for obj in list(self._made.values()):
            if obj.kind is ObjKind.DERIVED and obj.attr == "optimizer" and obj.owner is not None \
                    and Role.MODEL in obj.owner.roles:
                obj.roles.add(Role.OPTIMIZER)

    def imported_entry(self, dotted: str) -> tuple[str, dict] | None:
        """What another module's summary says of an imported function, class or method."""
        if self.imports is None or not dotted:
            return None
        resolved = self.imports.resolve(dotted)
        if resolved is None:
            return None
        summary, path = resolved
        return lookup(summary, path)

    def _describe_imported(self, obj: Obj) -> None:
        entry = self.imported_entry(obj.callee or "")
        if entry is None:
            return
        kind, data = entry
        if kind == "class":
            described = {"roles": data.get("roles", []), "compiled": False} if not obj.path else None
        elif obj.path:
            described = data.get("elements", {}).get(str(obj.path[0])) if len(obj.path) == 1 else None
        else:
            described = data.get("returns")
        self._apply(obj, described)

    @staticmethod
    def _apply(obj: Obj, described: dict | None) -> None:
        if not described:
            return
        obj.described = described
        roles = roles_of(described)
        obj.roles |= roles
        obj.built |= roles
        obj.compiled = obj.compiled or bool(described.get("compiled"))

    def all_bases(self, cls: Scope) -> set[str]:
        """Qualified names of a class's bases, through the classes of this module it derives from."""
        names: set[str] = set()
        for member in [cls, *self._ancestors(cls)]:
            names.update(member.bases)
        return names

    def _ancestors(self, cls: Scope) -> list[Scope]:
        found: list[Scope] = []
        seen = {id(cls)}
        pending = self.local_bases(cls)
        while pending:
            current = pending.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            found.append(current)
            pending.extend(self.local_bases(current))
        return found

    def _is_project_import(self, callee: str) -> bool:
        """A name imported from a module that is not TF, Keras or a well-known library: possibly a
        module of the project, whose summary may describe it."""
        head = callee.split(".")[0]
        return head not in _LIBRARIES and not callee.startswith(("tf.", "keras."))

    # ---- queries -----------------------------------------------------------------------------------
    def of_key(self, key: Key | None) -> Objects:
        if key is None:
            return frozenset()
        return frozenset(self.points_to.get(key, ()))

    def is_widened(self, key: Key | None) -> bool:
        return key in self.widened

    def returned(self, function: Scope) -> Objects:
        return frozenset(self.points_to.get(("return", id(function)), ()))

    def all_objects(self) -> Iterator[Obj]:
        yield from self._made.values()
        yield from self._class_objects.values()


_BUILTINS = frozenset(dir(builtins))

# Names whose calls are never project code: their results are EXTERNAL (unknown), not IMPORTED.
_LIBRARIES = frozenset({
    "tf", "tensorflow", "keras", "tf_keras", "numpy", "np", "os", "sys", "pathlib", "json", "time", "math",
    "random", "re", "absl", "logging", "collections", "functools", "itertools", "typing", "dataclasses",
    "argparse", "shutil", "glob", "pickle", "copy", "datetime", "subprocess", "contextlib", "abc", "enum",
    "tqdm", "pandas", "matplotlib", "sklearn", "scipy", "PIL", "cv2", "h5py", "yaml", "gin", "ml_collections",
    "tensorflow_datasets", "tfds", "tensorflow_hub", "torch", "jax", "flax", "optax", "orbax", "io",
    "warnings", "inspect", "builtins", "uuid", "tempfile", "string", "hashlib", "csv", "struct",
})


def _constructed_role(callee: str) -> Role | None:
    role = CONSTRUCTOR_ROLES.get(callee)
    if role is not None:
        return role
    if is_optimizer_constructor(callee):
        return Role.OPTIMIZER
    if is_model_constructor(callee):
        return Role.MODEL
    if callee.startswith("keras.optimizers.schedules."):
        return Role.SCHEDULE
    if callee.startswith("tf.data."):
        return Role.DATASET
    return None


def _usage_role(method: str | None) -> Role | None:
    if method in MODEL_METHODS:
        return Role.MODEL
    if method in OPTIMIZER_METHODS:
        return Role.OPTIMIZER
    if method in VARIABLE_METHODS:
        return Role.VARIABLE
    return None


def _literal_index(expr: cst.Subscript) -> int | None:
    if len(expr.slice) != 1:
        return None
    element = expr.slice[0].slice
    if isinstance(element, cst.Index) and isinstance(element.value, cst.Integer):
        return int(element.value.value)
    return None


def binding_roles(values: Values, binding: Binding) -> set[Role]:
    """The roles of every object a binding may hold."""
    roles: set[Role] = set()
    for obj in values.of_key(binding.key):
        roles |= obj.roles
    return roles
