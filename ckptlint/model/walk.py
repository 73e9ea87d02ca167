"""A read-only walk over libcst trees.

libcst's own `node.visit` rebuilds every node it passes; the model only reads, so it walks the tree
itself, in the order libcst would, skipping the subtrees that can hold no code (whitespace, operators,
parentheses). That order is learnt from libcst's `_visit_and_replace_children` methods, an internal of
libcst: `agrees_with_libcst` checks the fast walk against libcst's public traversal on a probe module
(ckptlint.lint.libcst_guard does, once per process), and `use_public_traversal` switches every function
here to libcst's public `visit` when they disagree.
"""

from __future__ import annotations

import dataclasses
import linecache
import re
import sys
import typing
from functools import lru_cache
from typing import Callable, Iterator

import libcst as cst
from libcst._nodes import op as _op_nodes
from libcst._nodes import whitespace as _whitespace_nodes


# Set by the libcst guard when the fast walk does not reproduce libcst's own traversal.
_PUBLIC_TRAVERSAL = False


def use_public_traversal(enabled: bool = True) -> None:
    global _PUBLIC_TRAVERSAL
    _PUBLIC_TRAVERSAL = enabled


_CHILD_FIELD = re.compile(
    r'visit_(?:required|optional|sentinel|sequence|iterable|body_sequence|body_iterable)\(\s*self,\s*"(\w+)"'
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_NO_CODE_INSIDE: frozenset[type] = frozenset(
    value for module in (_whitespace_nodes, _op_nodes) for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, cst.CSTNode)
) | {cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace,
     cst.RightCurlyBrace}


def _child_fields(cls: type[cst.CSTNode]) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = tuple(dict.fromkeys(_CHILD_FIELD.findall(_method_source(cls._visit_and_replace_children))))
        _CHILD_FIELDS[cls] = fields
    return fields


def _method_source(method: Callable) -> str:
    """A method's source: its lines from the file, from its `def` to the end of its signature, then down
    to the next line indented no deeper than the `def`. inspect.getsource tokenizes for that, which cost 0.05 s of a one-file run."""
    code = method.__code__
    lines = linecache.getlines(code.co_filename)
    start = code.co_firstlineno - 1
    if not lines or start >= len(lines):
        raise OSError(f"no source for {method.__qualname__}")  # libcst installed without sources
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start
    while end < len(lines) and not lines[end].rstrip().endswith(":"):  # a signature over several lines
        end += 1
    end += 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    while not lines[end - 1].strip():
        end -= 1
    return "".join(lines[start:end])


def _own_method(visitor_class: type, name: str) -> Callable | None:
    """The visitor class's method `name`, or None when it is CSTVisitor's no-op default."""
    method = getattr(visitor_class, name, None)
    return None if method is None or method is getattr(cst.CSTVisitor, name, None) else method


_Handlers = tuple[Callable | None, Callable | None, tuple[str, ...] | None]
_HANDLERS: dict[tuple[type, type], _Handlers] = {}


def _handlers(visitor_class: type, cls: type[cst.CSTNode]) -> _Handlers:
    visit = _own_method(visitor_class, f"visit_{cls.__name__}")
    leave = _own_method(visitor_class, f"leave_{cls.__name__}")
    if visit is None and leave is None and cls in _NO_CODE_INSIDE:
        fields = None  # nothing to call in this subtree (whitespace, operators, parentheses)
    elif _handles_no_code(visitor_class):
        fields = _child_fields(cls)
    else:  # nor in fields that can only hold such nodes: not even a call to find that out
        fields = tuple(name for name in _child_fields(cls) if not _holds_no_code(cls, name))
    entry = _HANDLERS[visitor_class, cls] = (visit, leave, fields)
    return entry


@lru_cache(maxsize=None)
def _handles_no_code(visitor_class: type) -> bool:
    return any(_own_method(visitor_class, f"{kind}_{cls.__name__}")
               for cls in _NO_CODE_INSIDE for kind in ("visit", "leave"))


@lru_cache(maxsize=None)
def _holds_no_code(cls: type, field_name: str) -> bool:
    """Whether the field's declared type admits only whitespace, operators and parentheses (the
    `lpar`, `comma`, `whitespace_*` fields): libcst's dataclass annotations say so."""
    annotation = {f.name: f.type for f in dataclasses.fields(cls)}.get(field_name)
    node_types = _node_types(annotation)
    return node_types is not None and all(t in _NO_CODE_INSIDE for t in node_types)


def _node_types(annotation) -> list[type] | None:
    """The CSTNode classes an annotation admits (through Sequence, Optional, Union), or None when it
    admits something else or cannot be read (then the field is walked)."""
    if annotation is None or annotation is type(None) or annotation is cst.MaybeSentinel:
        return []
    if isinstance(annotation, type):
        return [annotation] if issubclass(annotation, cst.CSTNode) else None
    arguments = typing.get_args(annotation)
    if not arguments:
        return None
    found: list[type] = []
    for argument in arguments:
        types = _node_types(argument)
        if types is None:
            return None
        found += types
    return found


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a read-only visitor that only defines `visit_<Node>`/`leave_<Node>`
    methods (no `on_visit` override, no `visit_<Node>_<attr>` hooks), without rebuilding the tree."""
    if _PUBLIC_TRAVERSAL:
        node.visit(visitor)
        return
    visitor_class = type(visitor)

    def step(current: cst.CSTNode) -> None:
        cls = type(current)
        visit, leave, fields = _HANDLERS.get((visitor_class, cls)) or _handlers(visitor_class, cls)
        if fields is None:
            return
        if visit is None or visit(visitor, current) is not False:
            for name in fields:
                value = getattr(current, name)
                kind = type(value)
                if kind is tuple or kind is list:
                    for item in value:
                        step(item)
                elif value is not None and kind is not cst.MaybeSentinel:
                    step(value)
        if leave is not None:
            leave(visitor, current)

    step(node)


def subtree(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under `node` (itself first), in the order `node.visit` would meet them, read-only."""
    if _PUBLIC_TRAVERSAL:
        yield from _public_paths(node)
        return
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children: list[cst.CSTNode] = []
        for name in _child_fields(type(current)):
            value = getattr(current, name)
            kind = type(value)
            if kind is tuple or kind is list:
                children.extend(value)
            elif value is not None and kind is not cst.MaybeSentinel:
                children.append(value)
        stack.extend(reversed(children))


def ancestors(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The nodes from `root` down to `target` (both included), found by identity without rebuilding
    the tree (libcst has no parent links); None when `target` is not under `root`."""
    if _PUBLIC_TRAVERSAL:
        return next((list(path) for current, path in _public_paths(root, with_paths=True) if current is target), None)
    # Whitespace, operators and parentheses hold no code: not searched unless they are the target.
    skipped = frozenset() if type(target) in _NO_CODE_INSIDE else _NO_CODE_INSIDE
    path: list[cst.CSTNode] = []

    def search(current: cst.CSTNode) -> bool:
        path.append(current)
        if current is target:
            return True
        for name in _child_fields(type(current)):
            value = getattr(current, name)
            for item in value if type(value) in (tuple, list) else (value,):
                if isinstance(item, cst.CSTNode) and type(item) not in skipped and search(item):
                    return True
        path.pop()
        return False

    return path if search(root) else None


class ParentIndex:
    """Each code node's parent under one root, found in one walk: the containers of many nodes of one
    tree cost O(depth) each, where `ancestors` searches the whole tree for every node (a module with
    thousands of checkpoint calls made that quadratic). Nodes that hold no code (whitespace, operators,
    parentheses) are not indexed; asking for one falls back to `ancestors`."""

    def __init__(self, root: cst.CSTNode) -> None:
        self._root = root
        self._parent: dict[int, cst.CSTNode] = {}
        if _PUBLIC_TRAVERSAL:
            for current, path in _public_paths(root, with_paths=True):
                if len(path) > 1 and type(current) not in _NO_CODE_INSIDE:
                    self._parent[id(current)] = path[-2]
            return
        stack = [root]
        while stack:
            current = stack.pop()
            for name in _child_fields(type(current)):
                value = getattr(current, name)
                for item in value if type(value) in (tuple, list) else (value,):
                    if isinstance(item, cst.CSTNode) and type(item) not in _NO_CODE_INSIDE:
                        self._parent[id(item)] = current
                        stack.append(item)

    def ancestors(self, target: cst.CSTNode) -> list[cst.CSTNode] | None:
        """What `ancestors(root, target)` returns: the nodes from the root down to `target`."""
        if type(target) in _NO_CODE_INSIDE:
            return ancestors(self._root, target)
        path = [target]
        current = target
        while current is not self._root:
            parent = self._parent.get(id(current))
            if parent is None:
                return None
            path.append(parent)
            current = parent
        path.reverse()
        return path


# ---- the public path and the check against it ----------------------------------------------------
class _Recorder(cst.CSTVisitor):
    """libcst's public traversal, recorded: each node met (with its path from the root when asked),
    and the visit_/leave_ calls a visitor defining them for every code node class would receive."""

    def __init__(self, with_paths: bool, with_calls: bool = False) -> None:
        super().__init__()
        self.with_paths = with_paths
        self.with_calls = with_calls
        self.stack: list[cst.CSTNode] = []
        self.met: list = []
        self.calls: list[tuple[str, str, int]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.stack.append(node)
        self.met.append((node, tuple(self.stack)) if self.with_paths else node)
        if self.with_calls and type(node) not in _NO_CODE_INSIDE:
            self.calls.append(("visit", type(node).__name__, id(node)))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()
        if self.with_calls and type(original_node) not in _NO_CODE_INSIDE:
            self.calls.append(("leave", type(original_node).__name__, id(original_node)))


def _public_paths(node: cst.CSTNode, with_paths: bool = False) -> list:
    recorder = _Recorder(with_paths)
    node.visit(recorder)
    return recorder.met


class _CallsRecorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, int]] = []


@lru_cache(maxsize=1)
def _calls_visitor_class() -> type:
    """A visitor with visit_/leave_ methods for every node class that can hold code, recording calls:
    what the model's visitors look like to `walk` (which then skips whitespace and operators)."""

    def make(kind: str, name: str):
        def method(self, node):
            self.calls.append((kind, name, id(node)))

        return method

    namespace: dict = {}
    pending, seen = [cst.CSTNode], set()
    while pending:
        for cls in pending.pop().__subclasses__():
            if cls in seen:
                continue
            seen.add(cls)
            pending.append(cls)
            # The class its module exports (libcst's slots decorator leaves the class it replaced behind).
            exported = getattr(sys.modules.get(cls.__module__), cls.__name__, None) is cls
            if exported and cls.__module__.startswith("libcst.") and cls not in _NO_CODE_INSIDE:
                namespace[f"visit_{cls.__name__}"] = make("visit", cls.__name__)
                namespace[f"leave_{cls.__name__}"] = make("leave", cls.__name__)
    return type("_CallsVisitor", (_CallsRecorder,), namespace)


def agrees_with_libcst(module: cst.Module) -> bool:
    """Whether `subtree`, `ancestors` and `walk` see `module` exactly as libcst's public traversal does:
    the same nodes in the same order, the same paths, the same visitor calls."""
    if _PUBLIC_TRAVERSAL:
        return True
    try:
        public = _Recorder(with_paths=True, with_calls=True)
        module.visit(public)
        if [id(n) for n in subtree(module)] != [id(node) for node, _path in public.met]:
            return False
        index = ParentIndex(module)
        for node, path in public.met[:: max(1, len(public.met) // 8)]:
            for found in (ancestors(module, node), index.ancestors(node)):
                if found is None or [id(n) for n in found] != [id(n) for n in path]:
                    return False
        fast = _calls_visitor_class()()
        walk(module, fast)
        return fast.calls == public.calls and len(fast.calls) > 0
    except Exception:  # the fast path cannot even run on this libcst: it does not agree
        return False
