"""Decode a checkpoint's `_CHECKPOINTABLE_OBJECT_GRAPH` (a TrackableObjectGraph proto) without TensorFlow.

Only the fields the classifier needs are kept (tensorflow/core/protobuf/trackable_object_graph.proto):
each node's named children, its serialized tensors (attribute name and checkpoint key) and its slot
variable references. Every node id is checked to name an existing node, so the classifier can index
`nodes` without guarding each lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ckptlint.inspect.protowire import WireError, as_int64, as_message, as_text, as_varint, fields


@dataclass(frozen=True)
class ObjectReference:
    node_id: int
    local_name: str


@dataclass(frozen=True)
class SerializedTensor:
    name: str
    checkpoint_key: str


@dataclass(frozen=True)
class SlotVariableReference:
    original_variable_node_id: int
    slot_name: str
    slot_variable_node_id: int


@dataclass
class TrackableObject:
    children: list[ObjectReference] = field(default_factory=list)
    attributes: list[SerializedTensor] = field(default_factory=list)
    slot_variables: list[SlotVariableReference] = field(default_factory=list)


@dataclass
class ObjectGraph:
    nodes: list[TrackableObject]


def _reference(message: memoryview) -> ObjectReference:
    node_id, name = 0, ""
    for number, _wire, value in fields(message):
        if number == 1:
            node_id = as_int64(as_varint(value))
        elif number == 2:
            name = as_text(value)
    return ObjectReference(node_id, name)


def _tensor(message: memoryview) -> SerializedTensor:
    name, key = "", ""
    for number, _wire, value in fields(message):
        if number == 1:
            name = as_text(value)
        elif number == 3:
            key = as_text(value)
    return SerializedTensor(name, key)


def _slot(message: memoryview) -> SlotVariableReference:
    original, name, slot = 0, "", 0
    for number, _wire, value in fields(message):
        if number == 1:
            original = as_int64(as_varint(value))
        elif number == 2:
            name = as_text(value)
        elif number == 3:
            slot = as_int64(as_varint(value))
    return SlotVariableReference(original, name, slot)


def _node(message: memoryview) -> TrackableObject:
    node = TrackableObject()
    for number, _wire, value in fields(message):
        if number == 1:
            node.children.append(_reference(as_message(value)))
        elif number == 2:
            node.attributes.append(_tensor(as_message(value)))
        elif number == 3:
            node.slot_variables.append(_slot(as_message(value)))
    return node


def decode_object_graph(data: bytes) -> ObjectGraph:
    """Parse and validate; raises WireError with a short reason for anything malformed."""
    nodes = [_node(as_message(value)) for number, _wire, value in fields(data) if number == 1]
    if not nodes:
        raise WireError("no objects (the root is missing)")
    count = len(nodes)
    for index, node in enumerate(nodes):
        for ref in node.children:
            if not 0 <= ref.node_id < count:
                raise WireError(f"object {index} names child {ref.local_name!r} as object {ref.node_id} of {count}")
        for slot in node.slot_variables:
            for nid in (slot.original_variable_node_id, slot.slot_variable_node_id):
                if not 0 <= nid < count:
                    raise WireError(f"object {index} has a slot variable reference to object {nid} of {count}")
    return ObjectGraph(nodes)
