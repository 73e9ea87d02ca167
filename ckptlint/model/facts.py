"""The facts one pass over a module produces, shared by every rule.

A *binding* is a name in a scope (`model` in `train()`, or `self.optimizer` in class `Trainer`: attributes
on `self` bind in the class scope, because training code lives in classes). Each binding gets *roles*
(model, optimizer, checkpoint, ...) from what is assigned to it and from how it is used. *Calls* are kept in
source order with their receiver binding, canonical callee, enclosing loops and function, which is what
rules need to reason about "saved inside the training loop" or "compiled after load".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:  # values builds on these facts; only the annotations name its Obj
    from ckptlint.model.values import Obj


class Role(str, Enum):
    MODEL = "model"
    OPTIMIZER = "optimizer"
    CHECKPOINT = "checkpoint"
    MANAGER = "manager"
    VARIABLE = "variable"
    DATASET = "dataset"
    ITERATOR = "iterator"
    GENERATOR = "generator"
    SCHEDULE = "schedule"
    STATUS = "restore status"
    CALLBACK = "callback"


@dataclass(eq=False)
class Scope:
    kind: str  # "module" | "class" | "function"
    name: str
    parent: Scope | None
    node: cst.CSTNode
    bases: tuple[str, ...] = ()  # classes: qualified names of the bases
    # functions: the positional parameters in order (`self` included for methods) and keyword-only ones
    params: tuple[str, ...] = ()
    kwonly: tuple[str, ...] = ()

    @property
    def qualname(self) -> str:
        if self.parent is None or self.parent.kind == "module":
            return self.name
        return f"{self.parent.qualname}.{self.name}"

    def enclosing_class(self) -> Scope | None:
        scope: Scope | None = self
        while scope is not None and scope.kind != "class":
            scope = scope.parent
        return scope


# A binding is identified by the scope that owns it and its spelling: "model" or "self.model".
Key = tuple[int, str]


@dataclass(eq=False)
class Assignment:
    key: Key
    value: cst.BaseExpression | None  # the value bound as it is; None: unpacking, a loop target, a parameter...
    order: int
    scope: Scope  # where the assignment statement is (for `self.x = ...`: the method)
    # For a binding that receives part of a value: the expression, and which part: the element at path
    # `unpack` (`a, (b, c) = v`: b is element (1, 0) of v), of an element of what `v` iterates when
    # `iterate` (`for x in v`, `for i, x in enumerate(v)`).
    source: cst.BaseExpression | None = None
    unpack: tuple[int, ...] = ()
    iterate: bool = False


@dataclass(eq=False)
class Binding:
    key: Key
    name: str
    scope: Scope
    assignments: list[Assignment] = field(default_factory=list)
    roles: set[Role] = field(default_factory=set)
    is_parameter: bool = False
    defines: Scope | None = None  # a `def`/`class` statement binds its name to this scope


@dataclass(eq=False)
class Call:
    """One call site. `callee` is the canonical dotted name of what is called when that is known
    (`tf.train.Checkpoint`, `keras.models.load_model`, `local:build_model`); for a method call on a
    binding, `receiver` is that binding and `method` the attribute."""

    node: cst.Call
    order: int
    scope: Scope
    callee: str | None
    method: str | None
    receiver: Key | None
    receiver_expr: cst.BaseExpression | None
    loops: tuple[cst.CSTNode, ...]
    discarded: bool = False  # the call is a statement of its own: its result is thrown away
    assigned_to: tuple[Key, ...] = ()  # bindings that receive the result
    chained: list[str] = field(default_factory=list)  # methods called directly on the result
    in_condition: bool = False  # appears in an if/while/assert test or a boolean expression

    def kwarg(self, name: str) -> cst.BaseExpression | None:
        for arg in self.node.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg.value
        return None

    def positional(self, index: int) -> cst.BaseExpression | None:
        positional = [a.value for a in self.node.args if a.keyword is None and not a.star]
        return positional[index] if index < len(positional) else None

    def arg(self, index: int, name: str) -> cst.BaseExpression | None:
        """The argument given by keyword `name` or at position `index`."""
        value = self.kwarg(name)
        return value if value is not None else self.positional(index)

    @property
    def keywords(self) -> list[str]:
        return [a.keyword.value for a in self.node.args if a.keyword is not None]

    @property
    def has_star_args(self) -> bool:
        return any(a.star for a in self.node.args)

    @property
    def function(self) -> Scope | None:
        scope: Scope | None = self.scope
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        return scope


@dataclass(eq=False)
class Ref:
    """What an argument expression points at: a binding, optionally through an attribute
    (`model.optimizer` is Ref(key_of_model, "optimizer")), or an inline call."""

    expr: cst.BaseExpression
    key: Key | None = None
    attr: str | None = None
    call: Call | None = None
    objects: frozenset = frozenset()  # the objects (ckptlint.model.values.Obj) the expression may be
    scope: Scope | None = None


@dataclass(eq=False)
class CheckpointFact:
    """A `tf.train.Checkpoint(...)` construction and what it holds, keyword by keyword."""

    call: Call
    keys: tuple[Key, ...]  # bindings holding it (may be empty when built inline)
    items: dict[str, Ref]
    opaque: bool  # built with **kwargs: its contents are unknown
    added_items: dict[str, Ref] = field(default_factory=dict)  # `ckpt.extra = x` after construction
    obj: Obj | None = None  # the object the construction makes

    @property
    def all_items(self) -> dict[str, Ref]:
        return {**self.items, **self.added_items}

    @property
    def held_objects(self) -> frozenset:
        """Every object an item may be."""
        held: frozenset = frozenset()
        for ref in self.all_items.values():
            held |= ref.objects
        return held


@dataclass(eq=False)
class ManagerFact:
    call: Call
    keys: tuple[Key, ...]
    checkpoint: CheckpointFact | None
    obj: Obj | None = None  # the object the construction makes


@dataclass(eq=False)
class Training:
    """One place where an optimizer updates a model: `opt.apply_gradients(...)`/`opt.minimize(...)` over
    the models' variables, or `model.compile(optimizer=opt)` (then Keras tracks the optimizer as
    `model.optimizer` and saves it with the model). `optimizers` is empty for a string (`"adam"`)."""

    call: Call
    optimizers: frozenset
    models: frozenset
    compiled: bool
    optimizer_expr: cst.BaseExpression | None
