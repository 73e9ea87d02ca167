"""ckptlint's tensor-bundle reader against TensorFlow's own reader, on checkpoints TensorFlow wrote.

The inspector reads TF checkpoints without TensorFlow (ckptlint/inspect/tf_bundle.py); these tests hold
it to TF's answer for every key, dtype, shape and value, including multi-shard checkpoints, rare dtypes,
TF1 name-based checkpoints, a tensor large enough to be streamed in chunks, and checksums.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("numpy", reason="the inspector's array readers need numpy (installed with the tf extra)")
import numpy as np  # noqa: E402

from ckptlint.errors import CkptlintError
from ckptlint.inspect.tf_bundle import TensorBundle
from ckptlint.inspect.tf_graph import decode_object_graph

pytestmark = pytest.mark.tf


import fuzz_artifacts as fz  # noqa: E402

TF_PREFIXES = ["sgd_ckpt", "gan_ckpt", "optimizer_only", "plain_ckpt", "model_only_compiled"]


def tf_reader(prefix):
    from tensorflow.python.training import py_checkpoint_reader

    return py_checkpoint_reader.NewCheckpointReader(str(prefix))


def assert_same_as_tf(prefix) -> TensorBundle:
    bundle = TensorBundle(str(prefix))
    reader = tf_reader(prefix)
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    assert set(bundle.entries) == set(shapes)
    for key, entry in bundle.entries.items():
        assert (entry.shape, entry.dtype.name) == (tuple(shapes[key]), dtypes[key].name), key
        if not bundle.can_read(key):
            continue
        ours, theirs = bundle.read(key), reader.get_tensor(key)
        if entry.dtype.name == "string":
            assert np.asarray(ours).reshape(-1).tolist() == np.asarray(theirs, dtype=object).reshape(-1).tolist()
        else:
            np.testing.assert_array_equal(ours, np.asarray(theirs).astype(ours.dtype), err_msg=key)
        bundle.verify(key)
    return bundle


@pytest.mark.parametrize("name", TF_PREFIXES + ["ckpt_dir", "savedmodel"])
def test_every_tensor_of_real_checkpoints_matches_tf(art, name):
    path = art[name]
    prefix = {"ckpt_dir": path / "ckpt-2", "savedmodel": path / "variables" / "variables"}.get(name, path)
    bundle = assert_same_as_tf(prefix)
    graph = decode_object_graph(bundle.read("_CHECKPOINTABLE_OBJECT_GRAPH").item())
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    reference = TrackableObjectGraph.FromString(tf_reader(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    assert [[(c.node_id, c.local_name) for c in n.children] for n in graph.nodes] == [
        [(c.node_id, c.local_name) for c in n.children] for n in reference.nodes]
    assert [[(a.name, a.checkpoint_key) for a in n.attributes] for n in graph.nodes] == [
        [(a.name, a.checkpoint_key) for a in n.attributes] for n in reference.nodes]


def test_rare_dtypes_and_strings(tmp_path):
    import tensorflow as tf

    values = {
        "f16": tf.constant([1.5, -2], tf.float16), "bf16": tf.constant([1.5, -2.25], tf.bfloat16),
        "f64": tf.constant([np.pi], tf.float64), "i8": tf.constant([-3, 4], tf.int8),
        "u8": tf.constant([3, 250], tf.uint8), "i16": tf.constant([-7], tf.int16),
        "u16": tf.constant([7], tf.uint16), "b": tf.constant([True, False]),
        "c64": tf.constant([1 + 2j], tf.complex64), "c128": tf.constant([1 - 2j], tf.complex128),
        "s": tf.constant([b"abc", b"", b"\xff" * 300]), "s0": tf.constant(b"scalar"),
    }
    tf.train.Checkpoint(**{k: tf.Variable(v) for k, v in values.items()}).write(str(tmp_path / "ckpt"))
    bundle = assert_same_as_tf(tmp_path / "ckpt")
    assert bundle.read("bf16/.ATTRIBUTES/VARIABLE_VALUE").tolist() == [1.5, -2.25]  # widened to float32 exactly


def test_multi_shard_checkpoint_and_sliced_tensors(tmp_path):
    import tensorflow as tf

    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=1 << 20)
    tf.train.Checkpoint(big=tf.Variable(tf.random.normal((600, 1000))), small=tf.Variable(1.0),
                        other=tf.Variable(tf.ones((100, 100)))).write(
        str(tmp_path / "ckpt"), options=tf.train.CheckpointOptions(experimental_sharding_callback=policy))
    assert len(list(tmp_path.glob("ckpt.data-*"))) > 1
    bundle = assert_same_as_tf(tmp_path / "ckpt")
    big = bundle.entries["big/.ATTRIBUTES/VARIABLE_VALUE"]
    assert (big.shape, big.sliced, bundle.can_read(big.key)) == ((600, 1000), True, False)


def test_tf1_checkpoint_with_a_partitioned_variable(tmp_path):
    import tensorflow as tf

    prefix = str(tmp_path / "tf1")
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("emb", [8, 3], partitioner=tf.compat.v1.fixed_size_partitioner(2))
        tf.compat.v1.get_variable("w", [2])
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(sess, prefix, write_meta_graph=False)
    bundle = assert_same_as_tf(prefix)
    assert bundle.entries["emb"].sliced and not bundle.can_read("emb") and bundle.can_read("w")


def test_a_large_tensor_streams_in_chunks_and_its_checksum_is_verified(tmp_path):
    import tensorflow as tf

    value = tf.random.uniform((3000, 1000), seed=3)  # 12 MB
    tf.train.Checkpoint(w=tf.Variable(value)).write(str(tmp_path / "ckpt"))
    key = "w/.ATTRIBUTES/VARIABLE_VALUE"
    bundle = TensorBundle(str(tmp_path / "ckpt"))
    chunks = list(bundle.chunks(key, 1 << 20))
    assert len(chunks) == 12 and max(c.nbytes for c in chunks) <= 1 << 20
    np.testing.assert_array_equal(np.concatenate(chunks).reshape(3000, 1000), tf_reader(tmp_path / "ckpt").get_tensor(key))
    shard = tmp_path / "ckpt.data-00000-of-00001"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(CkptlintError, match="cannot read w/.ATTRIBUTES/VARIABLE_VALUE \\(checksum mismatch\\)"):
        TensorBundle(str(tmp_path / "ckpt")).verify(key)


def test_the_fuzzers_bundle_writer_writes_what_tf_reads(tmp_path):
    """tests/fuzz_artifacts.py crafts TF checkpoints by hand; TF must accept its valid ones."""
    nodes, tensors = fz.model_graph(fz.random.Random(4), 2)
    strings, crc = fz.string_tensor([b"a", b"", b"xyz" * 50])
    fz.write_bundle(tmp_path / "ckpt", tensors + [fz.graph_tensor(fz.graph_proto(nodes)),
                                                   fz.Tensor("names", 7, [3], strings, crc)])
    assert_same_as_tf(tmp_path / "ckpt")


def test_inspecting_a_tf_checkpoint_never_imports_tensorflow(art):
    code = ("import sys\nfrom ckptlint.cli import main\n"
            f"code = main(['inspect', {str(art['ckpt_dir'])!r}])\n"
            f"code2 = main(['diff', {str(art['sgd_ckpt'])!r}, {str(art['savedmodel'])!r}])\n"
            "print(code, code2, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[-1] == "0 1 False False"
    assert proc.stderr == ""
