"""A seeded generator of crafted and corrupt checkpoint artifacts, and an isolated runner for them.

    generate(seeds, out_dir, seed=7, count=100) -> list[Case]   # writes the artifacts
    run_cases(cases, timeout=30) -> list[Outcome]               # one forked child per command

Every supported kind is covered: TF checkpoints (bit flips and truncations of real ones; tensor bundles
written here with lying entries, broken tables and crafted object graphs; `checkpoint` state files with
bad escapes, huge paths, FIFOs), SavedModel directories, `.keras` zips (JSON oddities, lying member sizes,
bombs, encrypted or missing members, crafted HDF5 inside), `.weights.h5` and legacy `.h5` (unallocated and
external datasets, links out of the file, odd dtypes and names, repeated weight names, broken attributes).
`seeds` maps the names written by tests/inspect/inspect_artifacts.py to real artifacts; families that
mutate a real artifact are skipped when their seed is absent.

Used by tests/inspect/test_fuzz_artifacts.py (about 100 inputs) and benchmarks/fuzz_inspect.py
(thousands). Each command runs in a child forked from a process that has never imported TensorFlow, with
SIGALRM as the hang guard (its default action ends the child even inside C code) and its stdout/stderr
captured to files; the parent collects the exit status and peak RSS with os.wait4.

    python tests/fuzz_artifacts.py run MANIFEST.json RESULTS.json   # run cases in a fresh interpreter
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import struct
import sys
import tempfile
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]

# -- protobuf and tensor-bundle writing (the format ckptlint.inspect.tf_bundle reads) ---------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers as two's complement, 10 bytes, as protobuf does
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def pb_bytes(number: int, value: bytes | str) -> bytes:
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def pb_fixed32(number: int, value: int) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<I", value & 0xFFFFFFFF)


def crc32c_masked(data: bytes) -> int:
    from ckptlint.inspect.crc32c import crc32c, mask

    return mask(crc32c(data))


def shape_proto(shape: list[int], unknown_rank: bool = False) -> bytes:
    out = b"".join(pb_bytes(2, pb_varint(1, d)) for d in shape)
    return out + (pb_varint(3, 1) if unknown_rank else b"")


def entry_proto(dtype: int, shape: list[int], offset: int, size: int, crc: int, shard: int = 0,
                slices: int = 0) -> bytes:
    out = pb_varint(1, dtype) + pb_bytes(2, shape_proto(shape)) + pb_varint(3, shard) + pb_varint(4, offset)
    out += pb_varint(5, size) + pb_fixed32(6, crc)
    for _ in range(slices):
        out += pb_bytes(7, pb_bytes(1, pb_varint(1, 0) + pb_varint(2, 1)))
    return out


def header_proto(num_shards: int = 1, big_endian: bool = False, min_consumer: int = 0) -> bytes:
    version = pb_varint(1, 1) + (pb_varint(2, min_consumer) if min_consumer else b"")
    return pb_varint(1, num_shards) + pb_varint(2, 1 if big_endian else 0) + pb_bytes(3, version)


def string_tensor(strings: list[bytes]) -> tuple[bytes, int]:
    """TF's on-disk string tensor (varint lengths, masked CRC of the lengths, bytes) and its masked CRC."""
    from ckptlint.inspect.crc32c import crc32c, mask

    lengths = b"".join(varint(len(s)) for s in strings)
    fixed = b"".join(struct.pack("<I", len(s)) for s in strings)
    length_crc = struct.pack("<I", mask(crc32c(fixed)))
    body = b"".join(strings)
    return lengths + length_crc + body, mask(crc32c(fixed + length_crc + body))


def _block(items: list[tuple[bytes, bytes]]) -> bytes:
    """A table block without prefix compression (one restart point): valid, and simple to corrupt."""
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in items)
    return body + struct.pack("<I", 0) + struct.pack("<I", 1)


def write_index(path: Path, items: list[tuple[bytes, bytes]], *, block_type: int = 0, bad_crc: bool = False,
                magic: int = 0xDB4775248B80FB57) -> None:
    """A sorted-table index file holding `items` (key, value) in the given order."""
    out = bytearray()

    def add_block(contents: bytes) -> tuple[int, int]:
        offset = len(out)
        trailer = bytes([block_type])
        crc = crc32c_masked(contents + trailer) ^ (1 if bad_crc else 0)
        out.extend(contents + trailer + struct.pack("<I", crc))
        return offset, len(contents)

    data_handle = add_block(_block(items))
    meta_handle = add_block(_block([]))
    last_key = items[-1][0] if items else b""
    index_handle = add_block(_block([(last_key, varint(data_handle[0]) + varint(data_handle[1]))]))
    footer = varint(meta_handle[0]) + varint(meta_handle[1]) + varint(index_handle[0]) + varint(index_handle[1])
    out.extend(footer.ljust(40, b"\0") + struct.pack("<Q", magic))
    path.write_bytes(bytes(out))


@dataclass
class Tensor:
    key: str
    dtype: int  # TF DataType enum
    shape: list[int]
    data: bytes
    crc: int | None = None  # masked; computed from data when None


def write_bundle(prefix: Path, tensors: list[Tensor], header: bytes | None = None,
                 entry_override: Callable[[Tensor, bytes], bytes] | None = None, **index_options: Any) -> None:
    """A complete TF checkpoint (index + one data shard) holding `tensors`."""
    data = bytearray()
    items = [(b"", header if header is not None else header_proto())]
    for t in sorted(tensors, key=lambda t: t.key.encode("utf-8", "surrogatepass")):
        offset = len(data)
        data.extend(t.data)
        crc = t.crc if t.crc is not None else crc32c_masked(t.data)
        entry = entry_proto(t.dtype, t.shape, offset, len(t.data), crc)
        items.append((t.key.encode("utf-8", "surrogatepass"), entry_override(t, entry) if entry_override else entry))
    write_index(Path(f"{prefix}.index"), items, **index_options)
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))


def graph_proto(nodes: list[dict[str, list]]) -> bytes:
    """A TrackableObjectGraph: each node has `children` [(node_id, name)], `attributes` [(name, key)]
    and `slots` [(original_id, slot_name, slot_id)]."""
    out = b""
    for node in nodes:
        body = b"".join(pb_bytes(1, pb_varint(1, nid) + pb_bytes(2, name)) for nid, name in node.get("children", []))
        body += b"".join(pb_bytes(2, pb_bytes(1, name) + pb_bytes(2, name) + pb_bytes(3, key))
                         for name, key in node.get("attributes", []))
        body += b"".join(pb_bytes(3, pb_varint(1, o) + pb_bytes(2, n) + pb_varint(3, s))
                         for o, n, s in node.get("slots", []))
        out += pb_bytes(1, body)
    return out


def float_tensor(key: str, shape: list[int], rng: random.Random) -> Tensor:
    count = 1
    for d in shape:
        count *= d
    return Tensor(key, 1, shape, struct.pack(f"<{count}f", *(rng.uniform(-1, 1) for _ in range(count))))


def graph_tensor(graph: bytes) -> Tensor:
    data, crc = string_tensor([graph])
    return Tensor("_CHECKPOINTABLE_OBJECT_GRAPH", 7, [], data, crc)


def _attr_key(path: str) -> str:
    return f"{path}/.ATTRIBUTES/VARIABLE_VALUE"


def model_graph(rng: random.Random, n_layers: int = 2) -> tuple[list[dict[str, list]], list[Tensor]]:
    """A plausible graph and its tensors: root -> model -> layers -> kernel/bias, an Adam-like optimizer."""
    nodes: list[dict[str, list]] = [{"children": []}, {"children": []}]
    nodes[0]["children"].append((1, "model"))
    tensors: list[Tensor] = []
    var_ids: list[int] = []
    for layer in range(n_layers):
        lid = len(nodes)
        nodes.append({"children": []})
        nodes[1]["children"].append((lid, str(layer)))
        for name, shape in (("kernel", [3, 4]), ("bias", [4])):
            vid = len(nodes)
            key = _attr_key(f"model/{layer}/{name}")
            nodes.append({"attributes": [("VARIABLE_VALUE", key)]})
            nodes[lid]["children"].append((vid, name))
            tensors.append(float_tensor(key, shape, rng))
            var_ids.append(vid)
    opt = len(nodes)
    nodes.append({"children": []})
    nodes[0]["children"].append((opt, "optimizer"))
    it = len(nodes)
    nodes.append({"attributes": [("VARIABLE_VALUE", _attr_key("optimizer/_iterations"))]})
    tensors.append(Tensor(_attr_key("optimizer/_iterations"), 9, [], struct.pack("<q", rng.randrange(100))))
    lists = {name: len(nodes) + i for i, name in enumerate(("_variables", "_trainable_variables", "_momentums"))}
    nodes.extend({"children": []} for _ in lists)
    nodes[opt]["children"] += [(it, "_iterations")] + [(nid, name) for name, nid in lists.items()]
    nodes[lists["_variables"]]["children"].append((it, "0"))
    for i, vid in enumerate(var_ids):
        nodes[lists["_trainable_variables"]]["children"].append((vid, str(i)))
        sid = len(nodes)
        key = _attr_key(f"optimizer/_variables/{i + 1}")
        nodes.append({"attributes": [("VARIABLE_VALUE", key)]})
        nodes[lists["_momentums"]]["children"].append((sid, str(i)))
        nodes[lists["_variables"]]["children"].append((sid, str(i + 1)))
        shape = next(t.shape for t in tensors if t.key == _attr_key(f"model/{i // 2}/{('kernel', 'bias')[i % 2]}"))
        tensors.append(float_tensor(key, shape, rng))
    return nodes, tensors


# -- cases ------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    family: str
    commands: list[list[str]]  # argv lists after `ckptlint`


@dataclass
class Outcome:
    case: str
    family: str
    argv: list[str]
    code: int | None  # None: killed by a signal
    signal: int | None
    seconds: float
    max_rss_kb: int
    stdout_tail: str
    stderr: str
    timed_out: bool


@dataclass
class _Ctx:
    rng: random.Random
    seeds: dict[str, Path]
    root: Path  # this case's directory
    notes: list[str] = field(default_factory=list)

    def seed(self, *names: str) -> Path | None:
        present = [self.seeds[n] for n in names if n in self.seeds]
        return self.rng.choice(present) if present else None


_TF_SEEDS = ("sgd_ckpt", "gan_ckpt", "optimizer_only", "plain_ckpt", "model_only_compiled", "ckpt_dir")
_KERAS_SEEDS = ("keras", "keras_later", "sgd_keras", "unbuilt_keras", "plain_keras", "evil_keras")
_H5_SEEDS = ("weights", "reset", "plain_weights", "legacy", "sgd_legacy", "evil_legacy")


def _tf_prefix(seed: Path) -> Path:
    if seed.is_dir():
        state = (seed / "checkpoint").read_text()
        return seed / state.split('"')[1]
    return seed


def _copy_prefix(seed: Path, dest: Path) -> Path:
    src = _tf_prefix(seed)
    shutil.copyfile(f"{src}.index", f"{dest}.index")
    for shard in src.parent.glob(src.name + ".data-*"):
        shutil.copyfile(shard, dest.parent / (dest.name + shard.name[len(src.name):]))
    return dest


def _flip(path: Path, rng: random.Random, bits: int) -> None:
    data = bytearray(path.read_bytes())
    if not data:
        return
    for _ in range(bits):
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def _truncate(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: rng.randrange(len(data))] if data else b"")


def fam_tf_mutate(ctx: _Ctx) -> list[str] | None:
    seed = ctx.seed(*_TF_SEEDS)
    if seed is None:
        return None
    prefix = _copy_prefix(seed, ctx.root / "ckpt")
    target = Path(f"{prefix}.index") if ctx.rng.random() < 0.5 else Path(f"{prefix}.data-00000-of-00001")
    if ctx.rng.random() < 0.6:
        _flip(target, ctx.rng, ctx.rng.randint(1, 8))
        ctx.notes.append(f"flip {target.name}")
    else:
        _truncate(target, ctx.rng)
        ctx.notes.append(f"truncate {target.name}")
    return [str(prefix)]


def fam_tf_entries(ctx: _Ctx) -> list[str]:
    """Synthetic bundles whose index lies: shapes, sizes, offsets, shards, dtypes, headers, table bytes."""
    rng = ctx.rng
    prefix = ctx.root / "ckpt"
    tensors = [float_tensor(f"v{i}/.ATTRIBUTES/VARIABLE_VALUE", [rng.randint(1, 4), 3], rng) for i in range(3)]
    tensors.append(Tensor("step/.ATTRIBUTES/VARIABLE_VALUE", 9, [], struct.pack("<q", 5)))
    victim = rng.choice(tensors).key
    kind = rng.choice(["huge_shape", "negative_dim", "rank", "offset", "size", "shard", "dtype", "crc", "slices",
                       "overlap", "header_shards", "big_endian", "version", "no_header", "unsorted", "block_type",
                       "block_crc", "magic", "empty_index", "strings", "bfloat16", "long_key", "many"])
    ctx.notes.append(kind)
    header: bytes | None = None
    options: dict[str, Any] = {}

    def override(t: Tensor, entry: bytes) -> bytes:
        if t.key != victim:
            return entry
        size = len(t.data)
        if kind == "huge_shape":
            return entry_proto(1, [rng.choice([20000, 1 << 31, 1 << 40]), 20000], 0, size, 0)
        if kind == "negative_dim":
            return entry_proto(1, [-1, 3], 0, size, 0)
        if kind == "rank":
            return entry_proto(1, [1] * rng.choice([255, 300, 5000]), 0, size, 0)
        if kind == "offset":
            return entry_proto(1, t.shape, rng.choice([-8, 1 << 40, 10**6]), size, 0)
        if kind == "size":
            return entry_proto(1, t.shape, 0, rng.choice([size - 4, size + 4, 1 << 50, -1]), 0)
        if kind == "shard":
            return entry_proto(1, t.shape, 0, size, 0, shard=rng.choice([1, 7, -1, 1 << 30]))
        if kind == "dtype":
            return entry_proto(rng.choice([0, 20, 21, 11, 24, 29, 99, 1 << 40]), t.shape, 0, size, 0)
        if kind == "slices":
            return entry_proto(1, t.shape, 0, size, 0, slices=rng.randint(1, 3))
        if kind == "crc":
            return entry_proto(1, t.shape, 0, size, rng.randrange(1 << 32))
        return entry

    if kind == "overlap":
        big = float_tensor("big/.ATTRIBUTES/VARIABLE_VALUE", [64, 64], rng)
        tensors = [big]
        crc = crc32c_masked(big.data)
        items = [(b"", header_proto())] + [
            (f"alias{i:05d}/.ATTRIBUTES/VARIABLE_VALUE".encode(), entry_proto(1, [64, 64], 0, len(big.data), crc))
            for i in range(rng.choice([2, 100, 5000]))]
        write_index(Path(f"{prefix}.index"), items)
        Path(f"{prefix}.data-00000-of-00001").write_bytes(big.data)
        return [str(prefix)]
    if kind == "strings":
        strings = [rng.randbytes(rng.randint(0, 20)) for _ in range(rng.randint(1, 5))]
        data, crc = string_tensor(strings)
        choice = rng.choice(["ok", "lengths", "count", "crc"])
        ctx.notes.append(choice)
        if choice == "lengths":
            data = varint(1 << 40) + data
        elif choice == "crc":
            crc ^= 0x10
        count = len(strings) if choice != "count" else rng.choice([10**6, 10**12])
        tensors.append(Tensor("names/.ATTRIBUTES/VARIABLE_VALUE", 7, [count], data, crc))
    if kind == "bfloat16":  # the less common numeric types, with random bits
        dtype = rng.choice([14, 19, 10, 8, 17])
        tensors.append(Tensor("half/.ATTRIBUTES/VARIABLE_VALUE", dtype, [4],
                              rng.randbytes(4 * {14: 2, 19: 2, 10: 1, 8: 8, 17: 2}[dtype])))
    if kind == "long_key":
        tensors.append(float_tensor("k" * rng.choice([70_000, 4096]) + "/.ATTRIBUTES/VARIABLE_VALUE", [2], rng))
    if kind == "many":
        tensors += [float_tensor(f"m{i:06d}/.ATTRIBUTES/VARIABLE_VALUE", [1], rng) for i in range(3000)]
    if kind == "header_shards":
        header = header_proto(num_shards=rng.choice([0, 2, -1, 1 << 31]))
    elif kind == "big_endian":
        header = header_proto(big_endian=True)
    elif kind == "version":
        header = header_proto(min_consumer=rng.choice([2, 99]))
    elif kind == "no_header":
        header = b"\xff\xff"  # not a valid header message
    elif kind == "block_type":
        options["block_type"] = rng.choice([1, 2, 255])
    elif kind == "block_crc":
        options["bad_crc"] = True
    elif kind == "magic":
        options["magic"] = 0x1234
    if kind == "unsorted":
        items = [(b"", header_proto())] + [(t.key.encode(), entry_proto(1, t.shape, 0, len(t.data), 0))
                                          for t in reversed(tensors)]
        write_index(Path(f"{prefix}.index"), items)
        Path(f"{prefix}.data-00000-of-00001").write_bytes(b"".join(t.data for t in tensors))
        return [str(prefix)]
    if kind == "empty_index":
        Path(f"{prefix}.index").write_bytes(rng.choice([b"", b"\0" * 48, rng.randbytes(100)]))
        Path(f"{prefix}.data-00000-of-00001").write_bytes(b"")
        return [str(prefix)]
    write_bundle(prefix, tensors, header=header, entry_override=override, **options)
    return [str(prefix)]


def fam_tf_graph(ctx: _Ctx) -> list[str]:
    """Valid bundles whose object graph is crafted."""
    rng = ctx.rng
    nodes, tensors = model_graph(rng, n_layers=rng.randint(1, 3))
    n = len(nodes)
    kind = rng.choice(["valid", "out_of_range", "negative", "empty", "unicode_digits", "cycle", "deep_chain",
                       "shared_lists", "slot_refs", "missing_keys", "variant_attr", "garbage", "truncated",
                       "not_string", "bad_string_crc", "wide", "duplicate_children"])
    ctx.notes.append(kind)
    graph: bytes | None = None
    if kind == "out_of_range":
        rng.choice(nodes)["children"] = [(rng.choice([n, n + 5, 1 << 31]), "x")]
    elif kind == "negative":
        nodes[0]["children"].append((-rng.randint(1, n), "neg"))
    elif kind == "empty":
        graph = b""
    elif kind == "unicode_digits":
        opt_list = next(node for node in nodes if any(name == "0" for _, name in node.get("children", [])))
        opt_list["children"] = [(nid, rng.choice(["٣", "²", "１", "⑤", "0x", " 1"])) for nid, _ in opt_list["children"]]
    elif kind == "cycle":
        for node in nodes:
            node.setdefault("children", []).append((0, "root"))
            node["children"].append((rng.randrange(n), "again"))
    elif kind == "deep_chain":
        depth = rng.choice([1000, 20_000])
        start = len(nodes)
        nodes[0]["children"].append((start, "chain"))
        for i in range(depth):
            nodes.append({"children": [(start + i + 1, "next")] if i + 1 < depth else []})
    elif kind == "shared_lists":
        big = len(nodes)
        nodes.append({"children": [(rng.randrange(big), str(i)) for i in range(2000)]})
        for i in range(rng.choice([50, 500])):
            nodes.append({"children": [(big, "_variables"), (big, "_iterations"), (big, f"_slot{i}")]})
            nodes[0]["children"].append((len(nodes) - 1, f"opt{i}"))
    elif kind == "slot_refs":
        nodes[rng.randrange(n)]["slots"] = [(rng.choice([0, n, -3]), "m", rng.choice([1, n + 1, -1]))]
    elif kind == "missing_keys":
        for node in nodes:
            node["attributes"] = [(name, key + "_gone") for name, key in node.get("attributes", [])]
    elif kind == "variant_attr":
        tensors.append(Tensor("it/.ATTRIBUTES/ITERATOR_STATE", 21, [1], rng.randbytes(16)))
        nodes.append({"attributes": [("ITERATOR_STATE", "it/.ATTRIBUTES/ITERATOR_STATE")]})
        nodes[0]["children"].append((len(nodes) - 1, "it"))
    elif kind == "garbage":
        graph = rng.randbytes(rng.randint(1, 300))
    elif kind == "wide":
        for i in range(rng.choice([1000, 30_000])):
            nodes[0]["children"].append((rng.randrange(n), f"c{i}"))
    elif kind == "duplicate_children":
        nodes[0]["children"] += nodes[0]["children"] * 3
    if graph is None:
        graph = graph_proto(nodes)
    if kind == "truncated":
        graph = graph[: rng.randrange(max(1, len(graph)))]
    gt = graph_tensor(graph)
    if kind == "not_string":
        gt = Tensor(gt.key, 1, [1], struct.pack("<f", 1.0))
    elif kind == "bad_string_crc":
        gt = Tensor(gt.key, 7, [], gt.data, (gt.crc or 0) ^ 1)
    prefix = ctx.root / "ckpt"
    write_bundle(prefix, tensors + [gt])
    return [str(prefix)]


def fam_tf_state(ctx: _Ctx) -> list[str]:
    """A checkpoint directory whose `checkpoint` state file is odd."""
    rng = ctx.rng
    nodes, tensors = model_graph(rng, 1)
    write_bundle(ctx.root / "ckpt-1", tensors + [graph_tensor(graph_proto(nodes))])
    kind = rng.choice(["ok", "hex", "bad_hex", "octal", "octal_range", "unknown_escape", "nul", "long", "newlines",
                       "no_quote", "binary", "huge", "absolute_dev", "fifo", "unicode", "lone_backslash",
                       "many_lines"])
    ctx.notes.append(kind)
    body = {
        "ok": 'model_checkpoint_path: "ckpt-1"\n',
        "hex": 'model_checkpoint_path: "\\x63kpt-1"\n',
        "bad_hex": 'model_checkpoint_path: "\\xZZ\\x"\n',
        "octal": 'model_checkpoint_path: "\\143kpt-1"\n',
        "octal_range": 'model_checkpoint_path: "\\777"\n',
        "unknown_escape": 'model_checkpoint_path: "\\q\\N{x}"\n',
        "nul": 'model_checkpoint_path: "ckpt\\000-1"\n',
        "long": 'model_checkpoint_path: "' + "a/" * rng.choice([3000, 500_000]) + '"\n',
        "newlines": "\n" * rng.choice([10_000, 900_000]) + 'model_checkpoint_path: "x"',
        "no_quote": 'model_checkpoint_path: "ckpt-1\n',
        "unicode": 'model_checkpoint_path: "\\303\\251t\\303"\n',
        "lone_backslash": 'model_checkpoint_path: "ckpt-1\\"\n',
        "absolute_dev": 'model_checkpoint_path: "/dev/zero"\n',
        "fifo": 'model_checkpoint_path: "pipe"\n',
        "many_lines": 'all_model_checkpoint_paths: "x"\n' * 20_000 + 'model_checkpoint_path: "ckpt-1"\n',
    }.get(kind)
    state = ctx.root / "checkpoint"
    if kind == "binary":
        state.write_bytes(rng.randbytes(rng.randint(1, 2000)))
    elif kind == "huge":
        state.write_bytes(b'model_checkpoint_path: "ckpt-1"\n' + b" " * (2 << 20))
    else:
        state.write_text(body or "", encoding="utf-8", errors="surrogateescape")
    if kind == "fifo":
        os.mkfifo(ctx.root / "pipe.index")
        os.mkfifo(ctx.root / "pipe.data-00000-of-00001")
        (ctx.root / "ckpt-1.index").unlink()
        (ctx.root / "ckpt-1.data-00000-of-00001").unlink()
    return [str(ctx.root)]


def fam_savedmodel(ctx: _Ctx) -> list[str] | None:
    seed = ctx.seed("savedmodel", "plain_savedmodel")
    if seed is None:
        return None
    dest = ctx.root / "sm"
    shutil.copytree(seed, dest)
    variables = dest / "variables" / "variables"
    kind = ctx.rng.choice(["flip", "truncate", "no_index", "pb_garbage", "data_is_fifo"])
    ctx.notes.append(kind)
    if kind == "flip":
        _flip(Path(f"{variables}.index"), ctx.rng, ctx.rng.randint(1, 6))
    elif kind == "truncate":
        _truncate(Path(f"{variables}.data-00000-of-00001"), ctx.rng)
    elif kind == "no_index":
        Path(f"{variables}.index").unlink()
    elif kind == "pb_garbage":
        (dest / "saved_model.pb").write_bytes(ctx.rng.randbytes(200))
    else:
        shard = Path(f"{variables}.data-00000-of-00001")
        shard.unlink()
        os.mkfifo(shard)
    return [str(dest)]


# -- .keras ----------------------------------------------------------------------------------------


def _odd_json(rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["nan", "list", "config_list", "layers_dict", "layer_types", "compile_list", "optimizer_odd",
                       "deep_list", "deep_layers", "invalid_utf8", "bom", "empty", "big_string", "huge_number",
                       "duplicate_keys", "scalar", "class_name_types"])
    deep = rng.choice([100, 1000, 5000, 100_000])
    text: str | bytes = {
        "nan": '{"config": {"layers": [{"class_name": NaN}]}, "compile_config": {"optimizer": NaN}, "x": Infinity}',
        "list": '[1, 2, {"config": null}]',
        "config_list": '{"config": [1, 2], "compile_config": [3]}',
        "layers_dict": '{"config": {"layers": {"0": {"class_name": "Dense"}}}}',
        "layer_types": '{"config": {"layers": [1, null, "Dense", [], {"class_name": ["Dense"]}, {"config": [1]}]}}',
        "compile_list": '{"compile_config": {"optimizer": [1, 2]}}',
        "optimizer_odd": '{"compile_config": {"optimizer": {"class_name": null, "config": [1]}}}',
        "deep_list": "[" * deep + "]" * deep,
        "deep_layers": '{"config": {"layers": [' + '{"class_name": "Sequential", "config": {"layers": [' * deep
                       + "]}}" * deep + "]}}",
        "invalid_utf8": b'{"config": "\xff\xfe\xc3"}',
        "bom": "\ufeff{}",
        "empty": "",
        "big_string": '{"compile_config": {"optimizer": "' + "a" * 3_000_000 + '"}}',
        "huge_number": '{"config": {"layers": [{"class_name": 1e999}]}, "n": ' + "9" * 5000 + "}",
        "duplicate_keys": '{"config": 1, "config": {"layers": []}}',
        "scalar": rng.choice(["null", "true", "3", '"text"']),
        "class_name_types": '{"config": {"layers": [{"class_name": {"a": 1}}, {"class_name": 7}]}}',
    }[kind]
    return kind, text.encode("utf-8") if isinstance(text, str) else text


def _rezip(seed: Path, dest: Path, replace: dict[str, bytes | None], compression: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(seed) as src, zipfile.ZipFile(dest, "w", compression=compression) as out:
        for info in src.infolist():
            if info.filename in replace:
                continue
            out.writestr(info.filename, src.read(info.filename))
        for name, data in replace.items():
            if data is not None:
                out.writestr(name, data)


def _patch_sizes(path: Path, member: str, size: int) -> None:
    """Rewrite a member's declared uncompressed size in its local header and central directory entry."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    at = 0
    while (at := data.find(b"PK\x03\x04", at)) >= 0:
        if data[at + 30 : at + 30 + len(name)] == name:
            struct.pack_into("<I", data, at + 22, size & 0xFFFFFFFF)
        at += 4
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) >= 0:
        if data[at + 46 : at + 46 + len(name)] == name:
            struct.pack_into("<I", data, at + 24, size & 0xFFFFFFFF)
        at += 4
    path.write_bytes(bytes(data))


def fam_keras(ctx: _Ctx) -> list[str] | None:
    seed = ctx.seed(*_KERAS_SEEDS)
    if seed is None:
        return None
    rng = ctx.rng
    dest = ctx.root / "model.keras"
    kind = rng.choice(["flip", "truncate", "config", "metadata", "lying_size", "bomb_declared", "no_weights",
                       "deflated", "encrypted", "many_members", "weights_garbage", "weights_crafted",
                       "duplicate_member", "nested_zip"])
    ctx.notes.append(kind)
    if kind in ("flip", "truncate"):
        shutil.copyfile(seed, dest)
        _flip(dest, rng, rng.randint(1, 8)) if kind == "flip" else _truncate(dest, rng)
    elif kind in ("config", "metadata"):
        odd, text = _odd_json(rng)
        ctx.notes.append(odd)
        _rezip(seed, dest, {f"{kind}.json": text}, rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    elif kind == "lying_size":
        member = rng.choice(["config.json", "metadata.json", "model.weights.h5"])
        _rezip(seed, dest, {}, zipfile.ZIP_DEFLATED)
        _patch_sizes(dest, member, rng.choice([1, 10, 1 << 31, 0xFFFFFFFE]))
    elif kind == "bomb_declared":
        with zipfile.ZipFile(seed) as src, zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for info in src.infolist():
                if info.filename != "config.json":
                    out.writestr(info.filename, src.read(info.filename))
            out.writestr("config.json", b" " * (4 << 20) + b"{}")  # 4 MiB of spaces: ~4 KB deflated
        _patch_sizes(dest, "config.json", 0xFFFFFF00)
    elif kind == "no_weights":
        _rezip(seed, dest, {"model.weights.h5": None})
    elif kind == "deflated":
        _rezip(seed, dest, {}, zipfile.ZIP_DEFLATED)
    elif kind == "encrypted":
        shutil.copyfile(seed, dest)
        data = bytearray(dest.read_bytes())
        at = data.find(b"PK\x01\x02")
        struct.pack_into("<H", data, at + 8, struct.unpack_from("<H", data, at + 8)[0] | 1)
        dest.write_bytes(bytes(data))
    elif kind == "many_members":
        _rezip(seed, dest, {f"assets/{i}": b"" for i in range(rng.choice([200, 12_000]))})
    elif kind == "weights_garbage":
        _rezip(seed, dest, {"model.weights.h5": rng.randbytes(rng.randint(0, 5000))})
    elif kind == "weights_crafted":
        inner = ctx.root / "inner.h5"
        _crafted_h5(ctx, inner, legacy=False)
        _rezip(seed, dest, {"model.weights.h5": inner.read_bytes()})
    elif kind == "duplicate_member":
        shutil.copyfile(seed, dest)
        with warnings.catch_warnings(), zipfile.ZipFile(dest, "a") as out:
            warnings.simplefilter("ignore")  # the duplicate name is the point
            out.writestr("model.weights.h5", rng.randbytes(100))
    else:
        _rezip(seed, dest, {"model.weights.h5": seed.read_bytes()})
    return [str(dest)]


# -- HDF5 -------------------------------------------------------------------------------------------


def _crafted_h5(ctx: _Ctx, path: Path, legacy: bool) -> None:
    import h5py
    import numpy as np

    rng = ctx.rng
    kind = rng.choice(["unallocated_big", "unallocated_small", "gzip_unallocated", "external_file", "external_link",
                       "soft_loop", "virtual", "strings", "compound", "odd_dtypes", "control_names", "index_names",
                       "deep_groups", "many_datasets", "null_space", "big_attribute", "scalar_dims"]
                      + (["legacy_attrs", "repeated_names", "training_config"] if legacy else []))
    ctx.notes.append(kind)
    # attributes over 64 KiB need the newer object-header format
    with h5py.File(path, "w", libver="latest" if kind in ("big_attribute", "training_config") else "earliest") as f:
        base = f.create_group("model_weights/dense" if legacy else "layers/dense/vars")
        if legacy:
            f["model_weights"].attrs["layer_names"] = [b"dense"]
            base.attrs["weight_names"] = [b"dense/kernel", b"dense/bias"]
            kernel = base.create_group("dense")
            kernel["kernel"] = np.ones((3, 4), "f4")
            kernel["bias"] = np.zeros(4, "f4")
            target = kernel
        else:
            base["0"] = np.ones((3, 4), "f4")
            base["1"] = np.zeros(4, "f4")
            opt = f.create_group("optimizer/vars")
            opt["0"] = np.int64(rng.randrange(10))
            opt["1"] = np.ones((3, 4), "f4")
            target = base
        slot = "kernel" if legacy else "0"
        if kind in ("unallocated_big", "unallocated_small", "gzip_unallocated"):
            del target[slot]
            shape = {"unallocated_big": (20000, 20000), "unallocated_small": (100, 100),
                     "gzip_unallocated": (30000, 30000)}[kind]
            opts = {"compression": "gzip", "chunks": (1000, 1000)} if kind == "gzip_unallocated" else {}
            target.create_dataset(slot, shape=shape, dtype="f4", **opts)
        elif kind == "external_file":
            del target[slot]
            target.create_dataset(slot, shape=(12,), dtype="f4",
                                  external=[(rng.choice(["/dev/zero", "/etc/hostname", "/proc/self/environ"]), 0,
                                             48)])
        elif kind == "external_link":
            del target[slot]
            target[slot] = h5py.ExternalLink(rng.choice(["/dev/zero", "/etc/passwd", "nope.h5"]), "/x")
        elif kind == "soft_loop":
            del target[slot]
            target[slot] = h5py.SoftLink(f"{target.name}/{slot}")
        elif kind == "virtual":
            del target[slot]
            layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
            layout[:] = h5py.VirtualSource("/etc/hostname", "x", shape=(4,))
            target.create_virtual_dataset(slot, layout)
        elif kind == "strings":
            del target[slot]
            target[slot] = np.array([b"a", b"bc"], dtype=object) if rng.random() < 0.5 else np.bytes_(b"xyz")
        elif kind == "compound":
            del target[slot]
            target[slot] = np.zeros(3, dtype=[("a", "f4"), ("b", "i8")])
        elif kind == "odd_dtypes":
            del target[slot]
            target[slot] = rng.choice([np.zeros(4, "f2"), np.zeros(4, "c16"), np.array([True, False]),
                                       np.float64("nan"), np.array([np.inf, -np.inf]), np.int8(-3)])
        elif kind == "control_names":
            name = rng.choice(["\x1b[2J\x1b[31mred", "new\nline", "tab\tname", "\u202eevil", "nul\x7f"])
            grp = f.require_group(f"layers/{name}/vars")
            grp["0"] = np.ones(2, "f4")
            grp.attrs["name"] = name
        elif kind == "index_names":
            grp = f.require_group("optimizer/vars")
            for name in ("٣", "²", "99999999999999999999999", "-1", " 2"):
                grp[name] = np.ones(2, "f4")
        elif kind == "deep_groups":
            grp = f
            for i in range(rng.choice([100, 400])):
                grp = grp.create_group("g")
            grp.create_group("vars")["0"] = np.ones(1, "f4")
        elif kind == "many_datasets":
            grp = f.require_group("layers/wide/vars")
            for i in range(rng.choice([300, 2000])):
                grp[str(i)] = np.float32(i)
        elif kind == "null_space":
            del target[slot]
            target.create_dataset(slot, data=h5py.Empty("f4"))
        elif kind == "big_attribute":
            target.attrs["name"] = np.zeros(rng.choice([10, 300_000]), "f8")
        elif kind == "scalar_dims":
            del target[slot]
            target[slot] = np.zeros((0, 5), "f4")
        elif kind == "legacy_attrs":
            f["model_weights"].attrs["layer_names"] = rng.choice(
                [np.arange(5), [b"missing"], [b"dense"] * 3, np.array([[b"a", b"b"]])])
            base.attrs["weight_names"] = rng.choice([[b"dense/nope"], np.float64(3.5), [b"../../model_weights"]])
        elif kind == "repeated_names":
            base.attrs["weight_names"] = [b"dense/kernel"] * rng.choice([1000, 60_000])
            del kernel["kernel"]
            kernel.create_dataset("kernel", shape=(2000, 2000), dtype="f4")
        elif kind == "training_config":
            _, text = _odd_json(rng)
            f.attrs["training_config"] = np.bytes_(text[:1_000_000])
        if legacy and kind not in ("legacy_attrs",) and rng.random() < 0.5:
            grp = f.create_group("optimizer_weights")
            grp.attrs["weight_names"] = [b"adam/iter", b"adam/dense_kernel_momentum"]
            adam = grp.create_group("adam")
            adam["iter"] = np.int64(3)
            adam["dense_kernel_momentum"] = np.ones((3, 4), "f4")


def fam_h5(ctx: _Ctx) -> list[str] | None:
    rng = ctx.rng
    choice = rng.random()
    if choice < 0.45:
        seed = ctx.seed(*_H5_SEEDS)
        if seed is None:
            return None
        dest = ctx.root / seed.name
        shutil.copyfile(seed, dest)
        if rng.random() < 0.6:
            _flip(dest, rng, rng.randint(1, 10))
            ctx.notes.append("flip")
        else:
            _truncate(dest, rng)
            ctx.notes.append("truncate")
        return [str(dest)]
    legacy = rng.random() < 0.4
    dest = ctx.root / ("model.h5" if legacy else "model.weights.h5")
    _crafted_h5(ctx, dest, legacy)
    return [str(dest)]


FAMILIES: dict[str, Callable[[_Ctx], list[str] | None]] = {
    "tf_mutate": fam_tf_mutate,
    "tf_entries": fam_tf_entries,
    "tf_graph": fam_tf_graph,
    "tf_state": fam_tf_state,
    "savedmodel": fam_savedmodel,
    "keras": fam_keras,
    "h5": fam_h5,
}
_WEIGHTS = {"tf_mutate": 3, "tf_entries": 3, "tf_graph": 3, "tf_state": 2, "savedmodel": 1, "keras": 4, "h5": 4}


def _diff_partner(ctx: _Ctx, family: str, artifact: str) -> str:
    names = {"keras": _KERAS_SEEDS, "h5": _H5_SEEDS, "savedmodel": ("savedmodel",)}.get(family, _TF_SEEDS)
    partner = ctx.seed(*names)
    return str(partner) if partner is not None and ctx.rng.random() < 0.8 else artifact


GENERATION_ERRORS: list[str] = []


def generate(seeds: dict[str, Path], out_dir: Path, seed: int, count: int) -> list[Case]:
    """Write `count` crafted artifacts under `out_dir` (one directory each); deterministic per seed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    master = random.Random(seed)
    names = [n for n in FAMILIES for _ in range(_WEIGHTS[n])]
    cases: list[Case] = []
    attempts = 0
    while len(cases) < count and attempts < count * 4:
        attempts += 1
        family = master.choice(names)
        index = len(cases)
        root = out_dir / f"{index:05d}-{family}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        ctx = _Ctx(random.Random(f"{seed}:{index}:{family}"), seeds, root)
        try:
            paths = FAMILIES[family](ctx)
        except Exception as exc:  # a construct this h5py/zipfile cannot write: report it, keep going
            GENERATION_ERRORS.append(f"{root.name} ({', '.join(ctx.notes)}): {type(exc).__name__}: {exc}")
            paths = None
        if not paths:
            shutil.rmtree(root)
            continue
        artifact = paths[0]
        (root / "CASE.txt").write_text(f"{family}: {', '.join(ctx.notes)}\n")
        commands = [["inspect", artifact], ["diff", artifact, _diff_partner(ctx, family, artifact)]]
        if ctx.rng.random() < 0.3:
            commands[0] = ["inspect", "--format", "json", artifact]
        cases.append(Case(f"{root.name} ({', '.join(ctx.notes)})", family, commands))
    return cases


# -- running ---------------------------------------------------------------------------------------


def _child(argv: list[str], out: int, err: int, timeout: int, memory_limit: int | None) -> None:
    """In the forked child: capture fds 1 and 2, arm the alarm, run the CLI, exit with its code."""
    os.dup2(out, 1)
    os.dup2(err, 2)
    # fresh streams on the redirected descriptors, whatever the parent had (pytest's capture objects)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    signal.alarm(timeout)
    if memory_limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    code = 1
    try:
        from ckptlint.cli import main

        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # noqa: BLE001 - report it exactly as an uncaught exception would look
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def run_one(case: Case, argv: list[str], timeout: int = 30, memory_limit: int | None = None) -> Outcome:
    import time

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _child(argv, out.fileno(), err.fileno(), timeout, memory_limit)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return Outcome(case.name, case.family, argv, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None, sig,
                   round(seconds, 3), usage.ru_maxrss, stdout[-300:], stderr[-2000:], sig == signal.SIGALRM)


def _warm_up() -> None:
    """Import what every child needs once, before forking, so each run costs a fork, not a start-up
    (the figures then describe ckptlint's work; a fresh `ckptlint` process imports the same modules)."""
    import h5py  # noqa: F401

    import ckptlint.cli  # noqa: F401
    import ckptlint.inspect.cli  # noqa: F401
    import ckptlint.inspect.keras_v3  # noqa: F401
    import ckptlint.inspect.legacy_h5  # noqa: F401
    import ckptlint.inspect.read  # noqa: F401
    import ckptlint.inspect.render  # noqa: F401
    import ckptlint.inspect.tf_reader  # noqa: F401


def run_cases(cases: list[Case], timeout: int = 30, memory_limit: int | None = None) -> list[Outcome]:
    """Run every command of every case, each in its own forked child (never import TF before this)."""
    os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    _warm_up()
    return [run_one(case, argv, timeout, memory_limit) for case in cases for argv in case.commands]


def problems(outcome: Outcome) -> list[str]:
    """What is wrong with one run: the contract is exit 0/1/2, no traceback, and exit 2 with exactly one
    `ckptlint: error:` line as the whole of stderr."""
    found = []
    if outcome.timed_out:
        found.append("hang")
    elif outcome.code is None:
        found.append(f"killed by signal {outcome.signal}")
    elif outcome.code not in (0, 1, 2):
        found.append(f"exit code {outcome.code}")
    if "Traceback (most recent call last)" in outcome.stderr:
        found.append("traceback")
    lines = outcome.stderr.splitlines()
    if outcome.code == 2 and (len(lines) != 1 or not lines[0].startswith("ckptlint: error: ")):
        found.append("exit 2 without exactly one error line")
    if outcome.code in (0, 1) and outcome.stderr:
        found.append("output on stderr")
    if "out of memory" in outcome.stderr:
        found.append("memory limit hit")
    return found


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "run":
        manifest = json.loads(Path(argv[1]).read_text())
        cases = [Case(**c) for c in manifest["cases"]]
        outcomes = run_cases(cases, manifest.get("timeout", 30), manifest.get("memory_limit"))
        Path(argv[2]).write_text(json.dumps([asdict(o) for o in outcomes]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main(sys.argv[1:]))
