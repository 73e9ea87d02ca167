"""Regression tests for hostile and corrupt artifacts, one small crafted file each (built in the test).

Classes: memory bombs (zip members, HDF5 datasets, TF entries), inputs that used to raise tracebacks
(state files, JSON oddities, crafted object graphs, damaged HDF5), data outside the file, names that
would forge report lines, and the last-resort handler for unexpected failures. None of these needs
TensorFlow: TF checkpoints are written with the tensor-bundle writer of tests/fuzz_artifacts.py.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
h5py = pytest.importorskip("h5py")


import fuzz_artifacts as fz  # noqa: E402

from inspect_helpers import assert_error, run  # noqa: E402
from ckptlint.inspect import read_artifact  # noqa: E402

MiB = 1 << 20


def weights_h5(path: Path, extra=None) -> Path:
    """A minimal Keras 3 .weights.h5: one dense layer and an SGD optimizer with momentum."""
    with h5py.File(path, "w") as f:
        layer = f.create_group("layers/dense/vars")
        layer["0"] = np.arange(12, dtype="f4").reshape(3, 4)
        layer["1"] = np.zeros(4, "f4")
        opt = f.create_group("optimizer/vars")
        opt.attrs["name"] = "sgd"
        opt["0"] = np.int64(4)
        opt["1"] = np.ones((3, 4), "f4")
        opt["2"] = np.ones(4, "f4")
        if extra:
            extra(f)
    return path


def keras_archive(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def weights_bytes(tmp_path: Path) -> bytes:
    return weights_h5(tmp_path / "inner.weights.h5").read_bytes()


def tf_checkpoint(prefix: Path, graph: bytes | None = None, **options) -> Path:
    rng = fz.random.Random(0)
    nodes, tensors = fz.model_graph(rng, 1)
    fz.write_bundle(prefix, tensors + [fz.graph_tensor(graph if graph is not None else fz.graph_proto(nodes))],
                    **options)
    return prefix


# -- memory bombs -------------------------------------------------------------------------------------


def test_config_json_deflate_bomb_is_refused_before_inflating(tmp_path, capsys):
    bomb = b" " * (80 * MiB) + b"{}"  # deflates ~1000:1; the real bomb was 10 MB -> 10 GB
    path = keras_archive(tmp_path / "bomb.keras", {"config.json": bomb, "model.weights.h5": weights_bytes(tmp_path)},
                         zipfile.ZIP_DEFLATED)
    del bomb
    assert path.stat().st_size < 2 * MiB
    tracemalloc.start()
    try:
        result = run(capsys, "inspect", str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_error(result, "config.json declares 80.0 MiB but stores", "refusing to inflate a decompression bomb")
    assert peak < 16 * MiB


def test_member_that_inflates_beyond_its_declared_size_is_cut_off(tmp_path, capsys):
    """Reading stops at the declared size (zipfile's own limit, with ckptlint's count behind it)."""
    path = keras_archive(tmp_path / "liar.keras", {"config.json": b" " * 100_000 + b"{}",
                                                     "model.weights.h5": weights_bytes(tmp_path)}, zipfile.ZIP_DEFLATED)
    fz._patch_sizes(path, "config.json", 1000)
    tracemalloc.start()
    try:
        result = run(capsys, "inspect", str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_error(result, "corrupt or truncated .keras archive (Bad CRC-32 for file 'config.json')")
    assert peak < 2 * MiB


def test_large_uncompressed_config_is_skipped_with_a_note(tmp_path, capsys):
    config = json.dumps({"config": {"layers": []}, "padding": "x" * (17 * MiB)}).encode()
    path = keras_archive(tmp_path / "big.keras", {"config.json": config, "model.weights.h5": weights_bytes(tmp_path)})
    code, out, err = run(capsys, "inspect", str(path))
    assert (code, err) == (0, "")
    assert "config.json is 17.0 MiB, over the 16.0 MiB limit: not read" in out


def test_weights_member_is_read_in_place_not_copied(tmp_path):
    def big(f):
        f["layers/dense/vars"]["2"] = np.zeros((1500, 4000), "f4")  # 24 MB

    path = keras_archive(tmp_path / "m.keras", {"model.weights.h5": weights_h5(tmp_path / "w.h5", big).read_bytes()})
    tracemalloc.start()
    try:
        with read_artifact(path) as inv:
            assert inv.by_path()["optimizer/iterations"].values() == 4
            assert sum(chunk.size for chunk in inv.by_path()["layers/dense/vars/2"].chunks(MiB)) == 6_000_000
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB
    deflated = keras_archive(tmp_path / "d.keras", {"model.weights.h5": weights_bytes(tmp_path)}, zipfile.ZIP_DEFLATED)
    with read_artifact(deflated) as inv:  # re-zipped with compression: inflated to a temporary file
        assert inv.by_path()["optimizer/iterations"].values() == 4


@pytest.mark.parametrize("command", ["inspect", "diff"])
def test_unallocated_hdf5_dataset_is_refused_before_allocation(tmp_path, capsys, command):
    def huge(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(20000, 20000), dtype="f4")

    a, b = weights_h5(tmp_path / "a.weights.h5", huge), weights_h5(tmp_path / "b.weights.h5", huge)
    assert a.stat().st_size < 16_000
    argv = [command, str(a)] + ([str(b)] if command == "diff" else [])
    tracemalloc.start()
    try:
        result = run(capsys, *argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_error(result, "layers/dense/vars/0 declares [20000, 20000] float32 (1.5 GiB) but stores only 0 B")
    assert peak < 16 * MiB


def test_compressed_dataset_may_not_expand_beyond_the_ratio(tmp_path, capsys):
    def gz(f):
        f["layers/dense/vars"].create_dataset("2", shape=(30000, 30000), dtype="f4", compression="gzip",
                                              chunks=(1000, 1000))

    path = weights_h5(tmp_path / "gz.weights.h5", gz)
    assert_error(run(capsys, "inspect", str(path)), "declares [30000, 30000] float32 (3.4 GiB) compressed into 0 B")


def test_repeated_weight_names_cannot_add_up_to_a_bomb(tmp_path, capsys):
    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w", libver="latest") as f:  # the long name list needs dense attribute storage
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"dense"]
        layer = weights.create_group("dense")
        layer.attrs["weight_names"] = [b"dense/kernel"] * 20_000
        layer.create_group("dense").create_dataset("kernel", shape=(2000, 2000), dtype="f4")  # 16 MB, unallocated
    assert_error(run(capsys, "inspect", str(path)), "its datasets declare 298.0 GiB in a")


def test_tf_entry_whose_shape_outgrows_its_bytes_is_refused(tmp_path, capsys):
    prefix = tmp_path / "ckpt"

    def lie(tensor, entry):
        if tensor.key.startswith("model/0/kernel"):
            return fz.entry_proto(1, [20000, 20000], 0, len(tensor.data), 0)
        return entry

    rng = fz.random.Random(1)
    nodes, tensors = fz.model_graph(rng, 1)
    fz.write_bundle(prefix, tensors + [fz.graph_tensor(fz.graph_proto(nodes))], entry_override=lie)
    assert_error(run(capsys, "inspect", str(prefix)),
                 "model/0/kernel/.ATTRIBUTES/VARIABLE_VALUE declares shape [20000, 20000] float32 (1.5 GiB) but "
                 "stores 48 B")


def test_tf_entries_sharing_one_tensor_are_refused(tmp_path, capsys):
    prefix = tmp_path / "ckpt"
    data = np.ones((64, 64), "f4").tobytes()
    crc = fz.crc32c_masked(data)
    items = [(b"", fz.header_proto())] + [(f"alias{i:05d}".encode(), fz.entry_proto(1, [64, 64], 0, len(data), crc))
                                          for i in range(5000)]
    fz.write_index(Path(f"{prefix}.index"), items)
    Path(f"{prefix}.data-00000-of-00001").write_bytes(data)
    assert_error(run(capsys, "diff", str(prefix), str(prefix)), "entries overlap")


def test_partitioned_tf_variable_is_listed_without_values(tmp_path, capsys):
    prefix = tmp_path / "ckpt"

    def sliced(tensor, entry):
        return fz.entry_proto(1, [20000, 20000], 0, 0, 0, slices=1) if tensor.key == "big" else entry

    fz.write_bundle(prefix, [fz.Tensor("big", 1, [1], b"\0\0\0\0"), fz.Tensor("small", 1, [1], b"\0\0\x80?")],
                    entry_override=sliced)
    code, out, err = run(capsys, "inspect", str(prefix))
    assert (code, err) == (0, "")
    assert "1 partitioned (sliced) variable(s) listed without their values: big" in out
    code, out, _ = run(capsys, "diff", "--format", "json", str(prefix), str(prefix))
    statuses = {v["path"]: v["status"] for v in json.loads(out)["variables"]}
    assert (code, statuses) == (0, {"big": "not compared", "small": "equal"})


# -- tracebacks that became one line --------------------------------------------------------------


def test_truncated_data_shard_and_checksum_mismatch(tmp_path, capsys):
    prefix = tf_checkpoint(tmp_path / "ckpt")
    shard = Path(f"{prefix}.data-00000-of-00001")
    data = bytearray(shard.read_bytes())
    data[5] ^= 0x40
    shard.write_bytes(bytes(data))
    assert_error(run(capsys, "inspect", str(prefix)), "truncated or corrupt checkpoint data", "checksum mismatch")
    shard.write_bytes(bytes(data[:20]))
    assert_error(run(capsys, "inspect", str(prefix)), "truncated or corrupt checkpoint data", "of a 20-byte data shard")


@pytest.mark.parametrize("options, message", [
    ({"bad_crc": True}, "block checksum mismatch"),
    ({"block_type": 1}, "compressed index block (type 1)"),
    ({"magic": 7}, "bad magic number"),
])
def test_damaged_index_tables(tmp_path, capsys, options, message):
    prefix = tf_checkpoint(tmp_path / "ckpt", **options)
    assert_error(run(capsys, "inspect", str(prefix)), "unreadable TF checkpoint index", message)


@pytest.mark.parametrize("graph, message", [
    (fz.graph_proto([{"children": [(5, "model")]}]), "object 0 names child 'model' as object 5 of 1"),
    (fz.graph_proto([{"children": [(-2, "model")]}]), "as object -2 of 1"),
    (b"", "no objects (the root is missing)"),
    (b"\x0a\x7f\x00\x00", "length-delimited field runs past the end"),
    (b"\x0a\xff\xff\xff", "truncated varint"),
    (fz.graph_proto([{"slots": [(0, "m", 9)]}]), "slot variable reference to object 9 of 1"),
])
def test_crafted_object_graphs_are_one_line(tmp_path, capsys, graph, message):
    prefix = tf_checkpoint(tmp_path / "ckpt", graph=graph)
    assert_error(run(capsys, "inspect", str(prefix)), "corrupt object graph in checkpoint", message)


def test_list_positions_in_other_scripts_are_not_list_positions(tmp_path, capsys):
    rng = fz.random.Random(2)
    nodes, tensors = fz.model_graph(rng, 1)
    for node in nodes:  # '²' and '٣' satisfy str.isdigit(); int('²') raises
        node["children"] = [(nid, {"0": "²", "1": "٣"}.get(name, name)) for nid, name in node.get("children", [])]
    prefix = tmp_path / "ckpt"
    fz.write_bundle(prefix, tensors + [fz.graph_tensor(fz.graph_proto(nodes))])
    code, out, err = run(capsys, "inspect", str(prefix))
    assert (code, err) == (0, "")
    assert "optimizer state: present" in out


def test_object_nested_too_deep_is_one_line(tmp_path, capsys):
    nodes = [{"children": [(1, "n")]}] + [{"children": [(i + 2, "n")]} for i in range(2999)]
    nodes.append({"attributes": [("VARIABLE_VALUE", "deep/.ATTRIBUTES/VARIABLE_VALUE")]})
    nodes[-2]["children"] = [(len(nodes) - 1, "leaf")]
    prefix = tmp_path / "ckpt"
    fz.write_bundle(prefix, [fz.Tensor("deep/.ATTRIBUTES/VARIABLE_VALUE", 1, [1], b"\0\0\0\0"),
                             fz.graph_tensor(fz.graph_proto(nodes))])
    assert_error(run(capsys, "inspect", str(prefix)), "nested more than 4096 characters of path deep")


def _state_dir(tmp_path: Path, text: str | bytes) -> Path:
    tf_checkpoint(tmp_path / "ckpt-1")
    state = tmp_path / "checkpoint"
    state.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return tmp_path


@pytest.mark.parametrize("text, message", [
    ('model_checkpoint_path: "ckpt\\x"\n', "bad model_checkpoint_path string (\\x escape without hex digits)"),
    ('model_checkpoint_path: "\\q"\n', "unknown escape \\q"),
    ('model_checkpoint_path: "\\777"\n', "octal escape \\777 is out of range"),
    ('model_checkpoint_path: "\\303"\n', "bad model_checkpoint_path string ('utf-8' codec can't decode"),
    ('model_checkpoint_path: "ckpt\\000-1"\n', "the path contains a NUL byte"),
    ('model_checkpoint_path: "' + "a" * (5 * MiB // 10) + '"\n', "characters long (limit 4,096)"),
    ('model_checkpoint_path: ckpt-1\n', "model_checkpoint_path is not a quoted string"),
    (b"\n" * (900 * 1024) + b'model_checkpoint_path: "x"', "stale checkpoint state file: it names 'x'"),
    (b'model_checkpoint_path: "ckpt-1"\n' + b" " * (2 * MiB), "is over the 1.0 MiB limit for this file"),
])
def test_checkpoint_state_files(tmp_path, capsys, text, message):
    directory = _state_dir(tmp_path, text)
    assert_error(run(capsys, "inspect", str(directory)), message)


@pytest.mark.parametrize("escaped", ["\\x63kpt-1", "\\143kpt-1", "c\\kpt-1".replace("\\k", "k")])
def test_state_file_escapes_are_decoded_like_protobuf(tmp_path, capsys, escaped):
    directory = _state_dir(tmp_path, f'model_checkpoint_path: "{escaped}"\n')
    code, out, err = run(capsys, "inspect", str(directory))
    assert (code, err) == (0, "")
    assert f"read:     {directory / 'ckpt-1'}" in out


def test_data_shard_that_is_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    prefix = tf_checkpoint(tmp_path / "ckpt")
    shard = Path(f"{prefix}.data-00000-of-00001")
    shard.unlink()
    os.mkfifo(shard)
    assert_error(run(capsys, "inspect", str(prefix)), "not a regular file")


@pytest.mark.parametrize("config", [
    '{"config": {"layers": [{"class_name": NaN}]}, "compile_config": {"optimizer": NaN}}',
    '[1, 2, 3]',
    '{"config": [1, 2], "compile_config": [3]}',
    '{"config": {"layers": {"a": 1}}, "compile_config": {"optimizer": [1]}}',
    '{"compile_config": {"optimizer": {"class_name": null, "config": [1]}}}',
    '{"config": {"layers": [1, null, {"class_name": ["Dense"]}, {"config": [1]}]}}',
    '{"config": {"layers": [' + '{"class_name": "Sequential", "config": {"layers": [' * 150 + "]}}" * 150 + "]}}",
])
def test_odd_but_valid_config_json_still_gives_an_inventory(tmp_path, capsys, config):
    path = keras_archive(tmp_path / "odd.keras", {"config.json": config.encode(),
                                                   "model.weights.h5": weights_bytes(tmp_path)})
    code, out, err = run(capsys, "inspect", "--format", "json", str(path))
    assert (code, err) == (0, "")
    assert json.loads(out)["optimizers"][0]["iterations"] == 4


@pytest.mark.parametrize("config, message", [
    ("[" * 100_000 + "]" * 100_000, "config.json is nested too deeply to parse"),
    ("{'single': 'quotes'}", "config.json is not valid JSON"),
    (b'{"x": "\xff"}', "config.json is not valid JSON ('utf-8' codec can't decode byte 0xff"),
])
def test_broken_config_json_is_one_line(tmp_path, capsys, config, message):
    data = config if isinstance(config, bytes) else config.encode()
    path = keras_archive(tmp_path / "bad.keras", {"config.json": data, "model.weights.h5": weights_bytes(tmp_path)})
    assert_error(run(capsys, "inspect", str(path)), message)


def test_bit_flipped_hdf5_keeps_the_contract(tmp_path):
    """Damaged HDF5 used to escape as RuntimeError/TypeError/KeyError tracebacks."""
    seed = weights_h5(tmp_path / "seed.weights.h5")
    original = seed.read_bytes()
    rng = fz.random.Random(5)
    cases = []
    for i in range(12):
        data = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(96, len(data))] ^= 1 << rng.randrange(8)
        path = tmp_path / f"flip{i}.weights.h5"
        path.write_bytes(bytes(data))
        cases.append(fz.Case(f"flip{i}", "h5", [["inspect", str(path)], ["diff", str(path), str(seed)]]))
    outcomes = [fz.run_one(case, argv, timeout=30) for case in cases for argv in case.commands]
    assert [(o.case, fz.problems(o)) for o in outcomes if fz.problems(o)] == []


# -- data outside the file, forged output ----------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda g: g.create_dataset("0", shape=(4,), dtype="f4", external=[("/etc/hostname", 0, 16)]),
     "keeps its data outside this file (external storage)"),
    (lambda g: g.__setitem__("0", h5py.ExternalLink("/etc/passwd", "/x")), "ExternalLink to another file"),
])
def test_data_in_other_files_is_never_read(tmp_path, capsys, make, message):
    def replace(f):
        group = f["layers/dense/vars"]
        del group["0"]
        make(group)

    if "ExternalLink" in message:  # visiting does not follow external links; reading by name would
        path = tmp_path / "legacy.h5"
        with h5py.File(path, "w") as f:
            weights = f.create_group("model_weights")
            weights.attrs["layer_names"] = [b"dense"]
            weights.create_group("dense").attrs["weight_names"] = [b"dense/kernel"]
            weights["dense"].create_group("dense")["kernel"] = h5py.ExternalLink("/etc/passwd", "/x")
    else:
        path = weights_h5(tmp_path / "ext.weights.h5", replace)
    assert_error(run(capsys, "inspect", str(path)), message)


def test_names_cannot_forge_report_lines_or_terminal_escapes(tmp_path, capsys):
    def evil(f):
        f.create_group("layers/\x1b[2Jred\nfake line/vars")["0"] = np.ones(2, "f4")

    path = weights_h5(tmp_path / "names.weights.h5", evil)
    code, out, err = run(capsys, "inspect", str(path))
    assert (code, err) == (0, "")
    assert "\x1b" not in out and "\nfake line" not in out
    assert "layers/\\x1b[2Jred\\nfake line/vars/0" in out


def test_json_report_stays_strict_json_with_non_finite_values(tmp_path, capsys):
    def nan(f):
        f["layers/dense/vars"]["2"] = np.float32("nan")

    path = weights_h5(tmp_path / "nan.weights.h5", nan)
    code, out, _ = run(capsys, "inspect", "--format", "json", str(path))
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert code == 0 and [v["value"] for v in data["variables"] if v["path"] == "layers/dense/vars/2"] == ["NaN"]


def test_equal_infinities_are_equal_and_nan_on_one_side_is_a_change(tmp_path, capsys):
    def values(x):
        return lambda f: f["layers/dense/vars"].__setitem__("2", np.array(x, "f4"))

    a = weights_h5(tmp_path / "a.weights.h5", values([np.inf, -np.inf, np.nan, 1.0]))
    b = weights_h5(tmp_path / "b.weights.h5", values([np.inf, -np.inf, np.nan, 1.0]))
    c = weights_h5(tmp_path / "c.weights.h5", values([np.inf, -np.inf, 0.0, 1.0]))
    assert run(capsys, "diff", str(a), str(b))[0] == 0
    code, out, _ = run(capsys, "diff", "--format", "json", str(a), str(c))
    [entry] = [v for v in json.loads(out)["variables"] if v["status"] == "changed"]
    assert (code, entry["path"], entry["note"]) == (1, "layers/dense/vars/2", "NaN on one side only")


def test_unexpected_failures_are_one_line_naming_the_file_and_exit_2(tmp_path, capsys, monkeypatch):
    path = weights_h5(tmp_path / "w.weights.h5")
    import ckptlint.inspect.keras_v3 as keras_v3

    def broken(*_args, **_kwargs):
        raise KeyError("something nobody anticipated")

    monkeypatch.setattr(keras_v3, "read_store", broken)
    assert_error(run(capsys, "inspect", str(path)),
                 f"{path}: internal error while reading the artifact (KeyError: 'something nobody anticipated')")
    monkeypatch.undo()
    import ckptlint.inspect.diff as diff_module

    monkeypatch.setattr(diff_module, "compare_values", broken)
    assert_error(run(capsys, "diff", str(path), str(path)),
                 f"{path} vs {path}: internal error while comparing the artifacts (KeyError")


def test_error_messages_are_one_bounded_line(tmp_path, capsys):
    directory = tmp_path
    for _ in range(6):  # a 1,000+ character path whose names hold newlines
        directory = directory / ("a\nforged line " * 12)
    directory.mkdir(parents=True)
    (directory / "x.index").write_bytes(b"")
    (directory / "y.index").write_bytes(b"")
    err = assert_error(run(capsys, "inspect", str(directory)))
    assert "a\\nforged line" in err and err.endswith("…\n")
    assert len(err) == len("ckptlint: error: ") + 1000 + 1


# -- hangs and crashes inside C libraries --------------------------------------------------------------

# A legacy .h5 that benchmarks/fuzz_inspect.py --seed 1 produced by flipping bits of a Keras file,
# minimized (186 non-zero bytes): reading one attribute never returns, inside HDF5, holding the GIL.
_HDF5_ATTRIBUTE_LOOP = (
    "H4sIAGOADGsC/+3YsUrDQBzH8f/V1IZSIYJD6+To2FeQtppBbFEHF9GCwQQaG7Qg+gT6Bo6OPoqjb1ST3F1IHCKCQ9HvB8qfX3PJ"
    "lfTyD9yzP9zfaG+3JeO64ognZUsjOa9me/xS6ilZTz8iXZM9c/2dNZ0nStfT49EoG738orhQt1Lwz/ijvUlWz0zum/reqI6L51fB"
    "7OI+iK7DxV2a58kiiqPH4Lb0nV6X2u43826a9fpk8puZryM+f8oPOTX9oN/S+YPbhBVm16vf0zkU2w9C01c6spWu7tn0Ie05N9M4"
    "0B2npyQ/0yt6j5u/BpXSybYxW5vFEEmfGJFWKTfz+X7HwWB8qMT8sFJfBAAAAAAAf8fJ0XiopGG3FiRx6sfbfbvXga7sF2h2n/jF"
    "4V4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAq+oTDdNGVnBdAAA="
)


def _cli(*argv: str, stall: str = "2") -> subprocess.CompletedProcess:
    env = {**os.environ, "CKPTLINT_INSPECT_STALL_SECONDS": stall}
    return subprocess.run([sys.executable, "-m", "ckptlint", *argv], capture_output=True, text=True, env=env,
                          timeout=120)


def test_a_loop_inside_the_hdf5_library_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "loop.h5"
    path.write_bytes(gzip.decompress(base64.b64decode(_HDF5_ATTRIBUTE_LOOP)))
    for argv in (["inspect", str(path)], ["diff", str(path), str(path)]):
        proc = _cli(*argv)
        label = str(path) if argv[0] == "inspect" else f"{path} vs {path}"
        assert (proc.returncode, proc.stdout) == (2, "")
        assert proc.stderr == (f"ckptlint: error: {label}: no progress for 2 s, stopped (a damaged file can make "
                               "the HDF5 library loop forever; CKPTLINT_INSPECT_STALL_SECONDS sets the limit)\n")


_SUPERVISED = """
import os, re, signal, sys
from ckptlint.errors import CkptlintError
from ckptlint.inspect.supervise import supervised
work = {
    "ok": lambda: (print("report"), 1)[1],
    "error": lambda: (_ for _ in ()).throw(CkptlintError("a.h5: damaged")),
    "segfault": lambda: os.kill(os.getpid(), signal.SIGSEGV),
    "gil_loop": lambda: re.match(r"(a+)+$", "a" * 64 + "b") and 0,  # holds the GIL, never returns
}[sys.argv[1]]
try:
    sys.exit(supervised(work, "a.h5"))
except CkptlintError as exc:
    print(f"ckptlint: error: {exc}", file=sys.stderr)
    sys.exit(2)
"""


@pytest.mark.parametrize("work, code, stdout, stderr", [
    ("ok", 1, "report\n", ""),
    ("error", 2, "", "ckptlint: error: a.h5: damaged\n"),
    ("segfault", 2, "", "ckptlint: error: a.h5: the reader was killed by SIGSEGV (a crash in a library on a "
                        "damaged file, or out of memory)\n"),
    ("gil_loop", 2, "", "ckptlint: error: a.h5: no progress for 2 s, stopped"),
])
def test_supervised_child_outcomes(work, code, stdout, stderr):
    env = {**os.environ, "CKPTLINT_INSPECT_STALL_SECONDS": "2"}
    proc = subprocess.run([sys.executable, "-c", _SUPERVISED, work], capture_output=True, text=True, env=env,
                          timeout=120)
    assert (proc.returncode, proc.stdout) == (code, stdout)
    assert proc.stderr.startswith(stderr) and proc.stderr.count("\n") == (1 if stderr else 0)
