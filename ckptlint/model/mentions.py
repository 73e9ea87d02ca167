"""Every place a binding is read or written: the model records calls and attribute uses; rules about
values that are only passed around (a restore status kept in a name, a step counter read by a schedule)
also need plain reads such as `if step < n` or `f(step)`. One extra pass over the tree, run only by the
rules that ask."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from ckptlint.model.builder import ModelBuilder
from ckptlint.model.facts import Key, Scope
from ckptlint.model.module import ModuleModel
from ckptlint.model.walk import walk


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
