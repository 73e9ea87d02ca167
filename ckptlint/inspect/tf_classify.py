"""Classify the tensors of a TF object-based checkpoint using its object graph.

Checkpoint keys are misleading on their own: TF names each variable by the FIRST path a breadth-first
walk finds, so with `Checkpoint(model=m, optimizer=opt)` the model's kernels are stored as
`optimizer/_trainable_variables/0` (measured, TF 2.21). The `_CHECKPOINTABLE_OBJECT_GRAPH` proto says what
each node is: a Keras 3 optimizer is a node with `_iterations` and `_variables` children, its slot lists
(`_momentums`, `_velocities`, SGD's `momentums`) index the same positions as `_trainable_variables`;
a tf_keras/TF1-style optimizer lists `slot_variables` in the proto. Model variables get the path of a
walk that never enters an optimizer.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from ckptlint.inspect.inventory import (
    DATA_ITERATOR,
    ITERATIONS,
    MODEL,
    OPTIMIZER,
    OTHER,
    RNG,
    SAVE_COUNTER,
    STEP_COUNTERS,
    OptimizerInfo,
    ValueSource,
    Variable,
    slot_kind_from_attr,
)
from ckptlint.inspect.tf_graph import ObjectGraph, TrackableObject

_LIST_PLUMBING = {"_variables", "_trainable_variables", "_trainable_variables_indices"}
_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


class GraphError(ValueError):
    """The object graph is valid protobuf but not a plausible checkpoint graph."""


class ClassifiableSource(ValueSource, Protocol):
    def can_read(self, key: str) -> bool: ...


@dataclass
class Classified:
    variables: list[Variable]
    optimizers: list[OptimizerInfo]
    notes: list[str] = field(default_factory=list)


def _children(node: TrackableObject) -> list[tuple[str, int]]:
    return [(c.local_name, c.node_id) for c in node.children]


def _is_keras3_optimizer(node: TrackableObject) -> bool:
    names = {c.local_name for c in node.children}
    return "_iterations" in names and "_variables" in names


def _is_v2_optimizer(node: TrackableObject, var_nodes: set[int]) -> bool:
    if len(node.slot_variables):
        return True
    return any(name == "iter" and nid in var_nodes for name, nid in _children(node))


def _is_index(name: str) -> bool:
    """A list position: ASCII digits only (`str.isdigit` also accepts '²' and other scripts' digits)."""
    return name.isascii() and name.isdigit()


class _ListItems:
    """Node ids of trackable lists (children named 0..n-1), computed once per node, with a work budget:
    a crafted graph can point thousands of optimizers at one huge list, which would be quadratic."""

    def __init__(self, graph: ObjectGraph) -> None:
        self.graph = graph
        self.cache: dict[int, list[int] | None] = {}
        self.budget = 4 * sum(len(n.children) for n in graph.nodes) + 10_000

    def __call__(self, node_id: int) -> list[int] | None:
        if node_id not in self.cache:
            kids = _children(self.graph.nodes[node_id])
            items = None
            if kids and all(_is_index(name) for name, _ in kids):
                items = [nid for _, nid in sorted(kids, key=lambda kv: int(kv[0]))]
            self.cache[node_id] = items
        items = self.cache[node_id]
        self.budget -= len(items or ()) + 1
        if self.budget < 0:
            raise GraphError("optimizer lists are shared far more often than a checkpoint writes them")
        return items


def _stored_keys(graph: ObjectGraph, shapes: dict[str, tuple[int, ...]]) -> dict[int, tuple[str, str]]:
    """node id -> (stored key, attribute name): the key itself, else the first stored key that extends it
    with `_` (looked up by bisection in the sorted keys, not by scanning every key for every node)."""
    ordered = sorted(shapes)
    node_keys: dict[int, tuple[str, str]] = {}
    for nid, node in enumerate(graph.nodes):
        for attr in node.attributes:
            key = attr.checkpoint_key
            if key in shapes:
                node_keys[nid] = (key, attr.name)
                continue
            stem = key + "_"
            at = bisect.bisect_left(ordered, stem)
            if at < len(ordered) and ordered[at].startswith(stem):
                node_keys[nid] = (ordered[at], attr.name)
    return node_keys


_MAX_PATH_CHARS = 4096


class _Paths:
    """BFS paths (the shortest, like TF's keys), spelled out only for the nodes asked about.

    Building every node's path string eagerly costs O(depth^2) on a crafted 20,000-deep chain (2 GB);
    here each node keeps its BFS parent, and a path longer than any real model's is an error."""

    def __init__(self, graph: ObjectGraph, skip: set[int]) -> None:
        self.parent: dict[int, tuple[int, str]] = {0: (-1, "")}
        queue = deque([0])
        while queue:
            nid = queue.popleft()
            for name, child in _children(graph.nodes[nid]):
                if child in self.parent or child in skip:
                    continue
                self.parent[child] = (nid, name)
                queue.append(child)
        self.cache: dict[int, str] = {0: ""}

    def __contains__(self, nid: object) -> bool:
        return nid in self.parent

    def get(self, nid: int, default: Any = None) -> Any:
        return self[nid] if nid in self.parent else default

    def __getitem__(self, nid: int) -> str:
        if nid in self.cache:
            return self.cache[nid]
        names: list[str] = []
        length, node = 0, nid
        while node not in self.cache:
            node, name = self.parent[node]
            names.append(name)
            length += len(name) + 1
            if length > _MAX_PATH_CHARS:
                raise GraphError(f"object {nid} is nested more than {_MAX_PATH_CHARS} characters of path deep")
        path = "/".join(([self.cache[node]] if self.cache[node] else []) + names[::-1])
        if len(path) > _MAX_PATH_CHARS:
            raise GraphError(f"object {nid} is nested more than {_MAX_PATH_CHARS} characters of path deep")
        self.cache[nid] = path
        return path


def _dfs_order(graph: ObjectGraph, skip: set[int]) -> list[int]:
    """DFS first-visit order (Keras variable order)."""
    order: list[int] = []
    seen = {0}
    stack = [0]
    while stack:
        nid = stack.pop()
        order.append(nid)
        for _, child in reversed(_children(graph.nodes[nid])):
            if child not in seen and child not in skip:
                seen.add(child)
                stack.append(child)
    return order


def classify(
    graph: ObjectGraph,
    shapes: dict[str, tuple[int, ...]],
    dtypes: dict[str, str],
    source: ClassifiableSource,
) -> Classified:
    """Turn the object graph plus the bundle's shape/dtype maps into classified Variables."""
    node_keys = _stored_keys(graph, shapes)
    var_nodes = set(node_keys)
    _list_items = _ListItems(graph)
    opt_nodes = [
        nid for nid, n in enumerate(graph.nodes) if _is_keras3_optimizer(n) or _is_v2_optimizer(n, var_nodes)
    ]
    paths, dfs = _Paths(graph, skip=set(opt_nodes)), _dfs_order(graph, skip=set(opt_nodes))
    opt_paths = _Paths(graph, skip=set())
    role: dict[int, dict[str, Any]] = {}
    optimizers: list[OptimizerInfo] = []
    for opt_index, oid in enumerate(opt_nodes):
        opath = opt_paths.get(oid) or f"optimizer{opt_index if opt_index else ''}"
        info = OptimizerInfo(path=opath, name=None)
        kids = dict(_children(graph.nodes[oid]))
        all_vars = _list_items(kids["_variables"]) if "_variables" in kids else None
        positions = {nid: i for i, nid in enumerate(all_vars or [])}
        trainable = (_list_items(kids["_trainable_variables"]) if "_trainable_variables" in kids else None) or []
        info.n_trainable = len(trainable) or None
        for i, tv in enumerate(trainable):
            if tv not in paths:  # the model itself was not saved: its weights are reachable only here
                role.setdefault(tv, {"component": MODEL, "path": f"{opath}/trainable_variables/{i}"})
        iter_id = kids.get("_iterations", kids.get("iter"))
        if iter_id in var_nodes:
            role[iter_id] = {"component": ITERATIONS, "path": f"{opath}/iterations", "optimizer": opath}
            info.iterations_path = f"{opath}/iterations"
        for attr, child in kids.items():
            items = None if attr in _LIST_PLUMBING else _list_items(child)
            if items and all(i in var_nodes for i in items):
                kind = slot_kind_from_attr(attr)
                for i, sid in enumerate(items):
                    owner = trainable[i] if i < len(trainable) else None
                    where = f"vars/{positions[sid]}" if sid in positions else f"{attr.lstrip('_')}/{i}"
                    role[sid] = {"component": OPTIMIZER, "path": f"{opath}/{where}", "optimizer": opath,
                                 "slot_kind": kind, "slot_owner": owner}
                info.slot_kinds[kind] = info.slot_kinds.get(kind, 0) + len(items)
            elif child in var_nodes and child not in role:
                role[child] = {"component": OPTIMIZER, "path": f"{opath}/{attr.lstrip('_')}", "optimizer": opath}
        for ref in graph.nodes[oid].slot_variables:  # tf_keras / TF1-style optimizers
            sid, owner = ref.slot_variable_node_id, ref.original_variable_node_id
            opath_slot = f"{opath}/{ref.slot_name}/{paths.get(owner, owner)}"
            role[sid] = {"component": OPTIMIZER, "path": opath_slot, "optimizer": opath,
                         "slot_kind": ref.slot_name, "slot_owner": owner}
            info.slot_kinds[ref.slot_name] = info.slot_kinds.get(ref.slot_name, 0) + 1
        for nid, pos in positions.items():
            if nid in var_nodes and nid not in role:
                role[nid] = {"component": OPTIMIZER, "path": f"{opath}/vars/{pos}", "optimizer": opath}
            if nid in role:  # Keras' own positional order, so positional matching agrees with .keras
                role[nid]["order"] = 1_000_000 * (opt_index + 1) + pos
        if graph.nodes[oid].slot_variables and not info.n_trainable:
            info.n_trainable = len({r.original_variable_node_id for r in graph.nodes[oid].slot_variables})
        optimizers.append(info)

    root_kids = dict(_children(graph.nodes[0]))
    model_order = {nid: i for i, nid in enumerate(n for n in dfs if n in var_nodes)}
    variables: list[Variable] = []
    for nid in sorted(var_nodes, key=lambda n: (model_order.get(n, len(model_order)), n)):
        key, attr_name = node_keys[nid]
        shape, dtype = tuple(shapes[key]), dtypes[key]
        info_role = role.get(nid)
        if info_role is None:
            path = paths.get(nid) or key.removesuffix(_SUFFIX)
            info_role = {"component": _component_of(nid, path, shape, dtype, attr_name, root_kids), "path": path}
        var = Variable(
            path=info_role["path"], key=key, shape=shape, dtype=dtype, component=info_role["component"],
            optimizer=info_role.get("optimizer"), slot_kind=info_role.get("slot_kind"),
            order=info_role.get("order", model_order.get(nid, len(model_order) + nid)),
            readable=source.can_read(key), _source=source,
        )
        if var.slot_kind is not None:
            var.slot_for = _slot_owner_path(info_role.get("slot_owner"), shape, role, paths, node_keys, shapes)
        variables.append(var)
    return Classified(variables, optimizers)


def _slot_owner_path(owner: int | None, slot_shape: tuple[int, ...], role: dict[int, dict[str, Any]],
                     paths: _Paths, node_keys: dict[int, tuple[str, str]],
                     shapes: dict[str, tuple[int, ...]]) -> str | None:
    """Path of the model variable a slot is kept for; None when there is none or its shape differs."""
    if owner is None or owner not in node_keys:
        return None
    if tuple(shapes[node_keys[owner][0]]) != slot_shape:
        return None
    return role.get(owner, {}).get("path") or paths.get(owner)


def _component_of(nid: int, path: str, shape: tuple[int, ...], dtype: str, attr_name: str,
                  root_kids: dict[str, int]) -> str:
    """Component of a variable outside every optimizer."""
    if attr_name != "VARIABLE_VALUE":
        return DATA_ITERATOR if "ITERATOR" in attr_name else OTHER
    if root_kids.get("save_counter") == nid:
        return SAVE_COUNTER
    if path.rsplit("/", 1)[-1] == "_state_var" or "seed_generator" in path:
        return RNG
    if shape == () and "int" in dtype:
        return STEP_COUNTERS
    if "/" not in path:
        return OTHER
    return MODEL


def classify_by_name(shapes: dict[str, tuple[int, ...]], dtypes: dict[str, str],
                     source: ClassifiableSource) -> Classified:
    """Name-based fallback for checkpoints without an object graph (TF1 `tf.compat.v1.train.Saver`).

    TF1 optimizers store slots as `<variable>/<Optimizer>[_N]` (`dense/kernel/Adam_1`) and count steps in
    `global_step`, which is what their learning-rate schedules read, so it stands in for `iterations`.
    """
    variables: list[Variable] = []
    slot_words = ("Adam", "Momentum", "RMSProp", "Adagrad", "Ftrl", "Adadelta")
    info = OptimizerInfo(path="optimizer", name="tf1 optimizer (by key names)")
    owners: set[str] = set()
    for i, key in enumerate(sorted(shapes)):
        shape, dtype = tuple(shapes[key]), dtypes[key]
        var = Variable(key, key, shape, dtype, MODEL, order=i, readable=source.can_read(key), _source=source)
        parent, _, last = key.rpartition("/")
        if last == "global_step" and shape == ():
            var.component = STEP_COUNTERS
            info.iterations_path = key
        elif parent in shapes and last.split("_")[0] in slot_words:
            var.component, var.optimizer, var.slot_kind, var.slot_for = OPTIMIZER, info.path, last, parent
            info.slot_kinds[last] = info.slot_kinds.get(last, 0) + 1
            owners.add(parent)
        elif last.endswith("_power") or any(w in key for w in slot_words):
            var.component, var.optimizer = OPTIMIZER, info.path
        elif shape == () and "int" in dtype:
            var.component = STEP_COUNTERS
        variables.append(var)
    info.n_trainable = len(owners) or None
    optimizers = [info] if any(v.component == OPTIMIZER for v in variables) else []
    return Classified(variables, optimizers,
                      ["no object graph in this checkpoint (TF1 name-based?): classified by key names"])
