"""One libcst pass that builds a ModuleModel.

No metadata providers: scopes, import aliases and the order of calls are tracked by this visitor
directly, which costs a fraction of libcst's ScopeProvider + QualifiedNameProvider (see DESIGN.md).
Positions are computed later and only for modules that have something to report.
"""

from __future__ import annotations

import libcst as cst

from ckptlint.model.walk import walk
from ckptlint.model.facts import Assignment, Binding, Call, Key, Scope
from ckptlint.model.vocabulary import canonical

_LOOPS = (cst.For, cst.While)


def dotted_name(expr: cst.BaseExpression) -> str | None:
    """`a.b.c` -> "a.b.c"; None for anything that is not a plain attribute chain."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = dotted_name(expr.value)
        return f"{base}.{expr.attr.value}" if base else None
    return None


def _import_name(node: cst.BaseExpression) -> str:
    return dotted_name(node) or ""


class ModelBuilder(cst.CSTVisitor):
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.module_scope = Scope("module", "<module>", None, module)
        self.scopes: list[Scope] = [self.module_scope]
        self.aliases: dict[str, str] = {}  # local name -> fully qualified import path
        self.local_defs: dict[str, Scope] = {}  # module-level class/def name -> its scope
        self.bindings: dict[Key, Binding] = {}
        self.calls: list[Call] = []
        self.calls_by_node: dict[int, Call] = {}
        self.attribute_uses: list[tuple[Key, str, Scope]] = []  # (binding, attribute, scope)
        self.attribute_reads: dict[str, list[tuple[cst.Attribute, Scope]]] = {}  # attribute -> every `x.attr`
        self.loop_iterables: list[tuple[cst.BaseExpression, Scope, cst.CSTNode]] = []
        self.returns: dict[int, list[cst.BaseExpression]] = {}  # function scope id -> returned exprs
        self.functions: list[Scope] = []
        self.classes: list[Scope] = []
        self._loops: list[cst.CSTNode] = []
        self._order = 0
        self._discarded: set[int] = set()
        self._conditions: list[cst.CSTNode] = []
        self._pending_assign: dict[int, tuple[Key, ...]] = {}

    # ---- scopes -------------------------------------------------------------------------------
    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def _next(self) -> int:
        self._order += 1
        return self._order

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = tuple(self.qualify(arg.value) or self._raw_dotted(arg.value) for arg in node.bases if arg.keyword is None)
        scope = Scope("class", node.name.value, self.scope, node, bases)
        if self.scope is self.module_scope:
            self.local_defs[node.name.value] = scope
        self.classes.append(scope)
        self._bind(node.name.value, None).defines = scope
        self.scopes.append(scope)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params
        positional = tuple(p.name.value for p in [*params.posonly_params, *params.params])
        scope = Scope("function", node.name.value, self.scope, node,
                      params=positional, kwonly=tuple(p.name.value for p in params.kwonly_params))
        self._bind(node.name.value, None).defines = scope
        self.functions.append(scope)
        if self.scope is self.module_scope:
            self.local_defs[node.name.value] = scope
        self.scopes.append(scope)
        self._saved_loops = getattr(self, "_saved_loops", [])
        self._saved_loops.append(self._loops)
        self._loops = []
        params = node.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            self._bind(param.name.value, None).is_parameter = True
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self._bind(star.name.value, None).is_parameter = True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self._loops = self._saved_loops.pop()

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and self.scope.kind == "function":
            self.returns.setdefault(id(self.scope), []).append(node.value)

    # ---- imports ------------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _import_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.aliases[alias.asname.name.value] = full
            else:
                top = full.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        # A relative import keeps its dots (`from .models import build` -> `.models.build`): only the
        # project's own modules are imported that way, and they are resolved against this file's package.
        dots = "." * len(node.relative)
        if node.module is None and not dots:
            return
        base = dots + (_import_name(node.module) if node.module is not None else "")
        for alias in node.names:
            name = _import_name(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{name}" if not base.endswith(".") else f"{base}{name}"

    def _raw_dotted(self, expr: cst.BaseExpression) -> str:
        """A base class ckptlint cannot qualify, spelled as written (`nn.Module`), or ""."""
        return dotted_name(expr) or ""

    def qualify(self, expr: cst.BaseExpression) -> str | None:
        """Canonical name of an imported symbol or a module-level definition, else None."""
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            full = self.aliases[head] + (f".{rest}" if rest else "")
            return canonical(full)
        if head in self.local_defs and not rest:
            return f"local:{head}"
        return None

    # ---- bindings -----------------------------------------------------------------------------
    def _owner(self, name: str) -> Scope:
        """The scope a new binding of `name` belongs to (attributes on self go to the class)."""
        if name.startswith("self.") and self.scope.kind == "function":
            cls = self.scope.parent
            if cls is not None and cls.kind == "class":
                return cls
        return self.scope

    def _bind(self, name: str, value: cst.BaseExpression | None, *, unpack: tuple[int, ...] = (),
              iterate: bool = False) -> Binding:
        owner = self._owner(name)
        key: Key = (id(owner), name)
        binding = self.bindings.get(key)
        if binding is None:
            binding = Binding(key, name, owner)
            self.bindings[key] = binding
        direct = value if not unpack and not iterate else None
        source = value if direct is None else None
        binding.assignments.append(Assignment(key, direct, self._next(), self.scope, source, unpack, iterate))
        return binding

    def lookup(self, name: str, scope: Scope | None = None) -> Key | None:
        """Resolve a name (or `self.attr`) seen in `scope` to the binding it refers to."""
        scope = scope or self.scope
        if name.startswith("self."):
            cls = scope.enclosing_class()
            if cls is None:
                return None
            key = (id(cls), name)
            return key if key in self.bindings else (id(cls), name)
        current: Scope | None = scope
        first = True
        while current is not None:
            if current.kind != "class" or first:
                key = (id(current), name)
                if key in self.bindings:
                    return key
            first = False
            current = current.parent
        return None

    def key_of(self, expr: cst.BaseExpression, scope: Scope | None = None) -> Key | None:
        if isinstance(expr, cst.Name):
            return self.lookup(expr.value, scope)
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value == "self"
        ):
            return self.lookup(f"self.{expr.attr.value}", scope)
        return None

    def _target_names(self, target: cst.BaseExpression) -> list[str]:
        if isinstance(target, cst.Name):
            return [target.value]
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            return [f"self.{target.attr.value}"]
        if isinstance(target, (cst.Tuple, cst.List)):
            names: list[str] = []
            for element in target.elements:
                names.extend(self._target_names(element.value))
            return names
        return []

    def _assign(self, targets: list[cst.BaseExpression], value: cst.BaseExpression, *, iterate: bool = False) -> None:
        keys: list[Key] = []
        for target in targets:
            for name, path in self._target_paths(target, ()):
                binding = self._bind(name, value if path is not None else None, unpack=path or (), iterate=iterate)
                keys.append(binding.key)
            if isinstance(target, cst.Attribute) and not self._target_names(target):
                self._attribute_store(target, value)
            elif isinstance(target, cst.Subscript) and not iterate:
                owner = self.key_of(target.value)
                if owner is not None:
                    self.element_stores.append((owner, value, self.scope))
        if isinstance(value, cst.Call) and keys and not iterate:
            self._pending_assign[id(value)] = tuple(keys)

    def _target_paths(self, target: cst.BaseExpression, path: tuple[int, ...]) -> list[tuple[str, tuple[int, ...] | None]]:
        """Each name a target binds, with the element path it receives (None: unknown, after a `*`)."""
        if isinstance(target, (cst.Tuple, cst.List)):
            found: list[tuple[str, tuple[int, ...] | None]] = []
            starred = False
            for index, element in enumerate(target.elements):
                if isinstance(element, cst.StarredElement):
                    starred = True
                    found += [(name, None) for name in self._target_names(element.value)]
                    continue
                for name, inner in self._target_paths(element.value, (*path, index)):
                    found.append((name, None if starred or inner is None else inner))
            return found
        return [(name, path) for name in self._target_names(target)]

    def _attribute_store(self, target: cst.Attribute, value: cst.BaseExpression) -> None:
        """`ckpt.optimizer = opt` adds an item to a checkpoint after construction."""
        owner = self.key_of(target.value)
        if owner is not None:
            self.attribute_stores.append((owner, target.attr.value, value, self.scope))

    attribute_stores: list

    def visit_Module(self, node: cst.Module) -> None:
        self.attribute_stores = []
        self.element_stores: list[tuple[Key, cst.BaseExpression, Scope]] = []  # `d[k] = v`, `l[i] = v`

    def visit_Assign(self, node: cst.Assign) -> None:
        self._assign([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assign([node.target], node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._assign([node.target], node.value)

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            if item.asname is not None:
                self._assign([item.asname.name], item.item)

    # ---- control flow -------------------------------------------------------------------------
    def visit_For(self, node: cst.For) -> None:
        self.loop_iterables.append((node.iter, self.scope, node))
        self._assign([node.target], node.iter, iterate=True)
        self._loops.append(node)

    def leave_For(self, original_node: cst.For) -> None:
        self._loops.pop()

    def visit_While(self, node: cst.While) -> None:
        self._loops.append(node)
        self._conditions.append(node.test)

    def leave_While(self, original_node: cst.While) -> None:
        self._loops.pop()

    def visit_If(self, node: cst.If) -> None:
        self._conditions.append(node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._conditions.append(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._conditions.append(node.test)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self._conditions.append(node)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._conditions.append(node)

    def visit_Expr(self, node: cst.Expr) -> None:
        self._discarded.add(id(node.value))

    # ---- calls --------------------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> None:
        key = self.key_of(node.value)
        if key is not None:
            self.attribute_uses.append((key, node.attr.value, self.scope))
        self.attribute_reads.setdefault(node.attr.value, []).append((node, self.scope))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        # A comprehension's target, bound in the enclosing scope (close enough: its own scope only hides it)
        self._assign([node.target], node.iter, iterate=True)

    def visit_Call(self, node: cst.Call) -> None:
        callee = self.qualify(node.func)
        method = receiver = receiver_expr = None
        if isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            receiver_expr = node.func.value
            receiver = self.key_of(receiver_expr)
            if callee is not None and receiver is not None:
                callee = None  # `model.save(...)` where `model` is a local name, not an import
        call = Call(
            node=node,
            order=self._next(),
            scope=self.scope,
            callee=callee,
            method=method,
            receiver=receiver,
            receiver_expr=receiver_expr,
            loops=tuple(self._loops),
            discarded=id(node) in self._discarded,
            assigned_to=self._pending_assign.pop(id(node), ()),
        )
        self.calls.append(call)
        self.calls_by_node[id(node)] = call

    def leave_Call(self, original_node: cst.Call) -> None:
        # Chains (`ckpt.restore(p).expect_partial()`): the inner call is visited after the outer one,
        # so link them once both exist.
        func = original_node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            inner = self.calls_by_node.get(id(func.value))
            if inner is not None:
                inner.chained.append(func.attr.value)

    def finish(self) -> None:
        """Mark calls that sit inside a condition (`if ckpt.restore(...)`, `assert status`)."""
        condition_calls: set[int] = set()

        class _Collect(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                condition_calls.add(id(node))

        collect = _Collect()
        for test in self._conditions:
            walk(test, collect)
        for call in self.calls:
            if id(call.node) in condition_calls:
                call.in_condition = True
