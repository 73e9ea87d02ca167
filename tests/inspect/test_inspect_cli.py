"""`ckptlint inspect` / `ckptlint diff` through the real command line entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from inspect_helpers import run

from ckptlint.cli import main

pytestmark = pytest.mark.tf


def test_inspect_text_groups_and_verdicts(art, capsys):
    code, out, err = run(capsys, "inspect", str(art["ckpt_dir"]))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"artifact: {art['ckpt_dir']} (tf-checkpoint)"
    assert lines[1] == f"read:     {art['ckpt_dir'] / 'ckpt-2'}"
    headers = [line for line in lines if line.endswith("):") and not line.startswith(" ")]
    assert headers == ["model variables (4):", "optimizer state (10):", "step counters (1):", "save counter (1):"]
    assert "  [optimizer] optimizer: momentum × 4, velocity × 4" in lines
    assert any(line.startswith("  optimizer/iterations") and line.endswith("= 5") for line in lines)
    assert lines[lines.index("verdicts:") + 1:] == [
        "  ok       optimizer state: present (optimizer, 2 slots (momentum, velocity) × 4 variables, iterations=5)",
        "  info     step counter step = 7",
        "  info     save counter = 2",
    ]


def test_inspect_text_for_an_artifact_without_optimizer(art, capsys):
    code, out, _ = run(capsys, "inspect", str(art["plain_keras"]))
    assert code == 0
    assert ("  missing  optimizer state: MISSING — resuming from this resets the optimizer's moments and the "
            "learning-rate schedule") in out.splitlines()


def test_inspect_json(art, capsys):
    code, out, _ = run(capsys, "inspect", "--format", "json", str(art["keras"]))
    assert code == 0
    data = json.loads(out)
    assert data["format"] == "keras"
    assert data["components"] == ["iterations", "model", "optimizer"]
    assert data["optimizers"] == [{"path": "optimizer", "name": "adam", "slot_kinds": {"momentum": 4, "velocity": 4},
                                   "n_variables": 4, "iterations": 5}]
    assert data["variables"][0] == {"path": "layers/dense/vars/0", "key": "layers/dense/vars/0", "component": "model",
                                    "shape": [3, 4], "dtype": "float32", "slot_kind": None, "slot_for": None,
                                    "optimizer": None, "value": None}
    assert [v["level"] for v in data["verdicts"]] == ["ok"]
    assert data["missing_required"] == []


@pytest.mark.parametrize("name, require, expected_code, missing", [
    ("keras", "model,optimizer,iterations", 0, []),
    ("plain_keras", "optimizer,iterations", 1, ["optimizer", "iterations"]),
    ("ckpt_dir", "step-counters,save_counter,optimizer", 0, []),
    ("keras", "model, step counters", 1, ["step counters"]),
])
def test_require_gates_ci(art, capsys, name, require, expected_code, missing):
    code, out, _ = run(capsys, "inspect", "--format", "json", "--require", require, str(art[name]))
    assert code == expected_code
    assert json.loads(out)["missing_required"] == missing


def test_require_text_names_the_missing_components(art, capsys):
    code, out, _ = run(capsys, "inspect", "--require", "optimizer", str(art["plain_ckpt"]))
    assert code == 1
    assert out.splitlines()[-1] == "required component(s) missing: optimizer"


def test_require_unknown_component_is_a_usage_error(art, capsys):
    code, out, err = run(capsys, "inspect", "--require", "optimiser", str(art["keras"]))
    assert (code, out) == (2, "")
    assert err.startswith("ckptlint: error: --require: unknown component 'optimiser'")


def test_diff_exit_codes_and_summary_first(art, capsys):
    code, out, _ = run(capsys, "diff", str(art["keras"]), str(art["weights"]))
    assert code == 0
    assert out.splitlines()[0] == "same: 14 equal (atol=0, rtol=0)"
    code, out, _ = run(capsys, "diff", str(art["ckpt_dir"] / "ckpt-1"), str(art["ckpt_dir"] / "ckpt-2"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "DIFFERENT: 15 equal, 1 changed (atol=0, rtol=0)"
    assert "  changed      save_counter                             max abs 1, max rel 0.5" in lines


def test_diff_tolerance_flags_and_json(art, capsys):
    code, out, _ = run(capsys, "diff", "--format", "json", str(art["keras"]), str(art["keras_later"]))
    data = json.loads(out)
    assert (code, data["same"]) == (1, False)
    worst = max(v["max_abs"] for v in data["variables"] if v["status"] == "changed")
    code, out, _ = run(capsys, "diff", "--atol", repr(worst), "--format", "json", str(art["keras"]),
                       str(art["keras_later"]))
    assert (code, json.loads(out)["same"]) == (0, True)


def test_diff_cross_format_text_says_what_matched_by_position(art, capsys):
    code, out, _ = run(capsys, "diff", str(art["ckpt_dir"]), str(art["keras"]))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "DIFFERENT: 14 equal, 2 only in A (atol=0, rtol=0)"
    assert any(line.startswith("  only in A    step") for line in lines)
    assert lines[lines.index("notes:") + 1].startswith("  model: 4 variable(s) matched by position and shape")


def _bad_inputs(art, root):
    """(label, path) for every kind of bad input the issue lists, built from real artifacts."""
    (root / "empty").mkdir()
    (root / "stale").mkdir()
    (root / "stale" / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-9"\nall_model_checkpoint_paths: "ckpt-9"\n')
    (root / "trunc.keras").write_bytes(art["keras"].read_bytes()[:300])
    (root / "trunc.h5").write_bytes(art["legacy"].read_bytes()[:2000])
    (root / "notes.txt").write_text("not a checkpoint\n")
    (root / "empty.h5").write_bytes(b"")
    sgd = art["sgd_ckpt"]
    (root / "short.index").write_bytes(sgd.with_name(sgd.name + ".index").read_bytes()[:10])
    (root / "short.data-00000-of-00001").write_bytes(b"")
    (root / "cut.index").write_bytes(sgd.with_name(sgd.name + ".index").read_bytes())
    (root / "cut.data-00000-of-00001").write_bytes(
        sgd.with_name(sgd.name + ".data-00000-of-00001").read_bytes()[:100])
    import h5py

    with h5py.File(root / "data.h5", "w") as fh:
        fh["table"] = [1, 2, 3]
    with zipfile.ZipFile(root / "other.keras", "w") as zf:
        zf.writestr("readme.txt", "a zip, not a model")
    return [
        ("missing path", root / "nope", "no such file, directory or checkpoint prefix"),
        ("empty directory", root / "empty", "empty directory"),
        ("stale state file", root / "stale", "stale checkpoint state file: it names 'ckpt-9'"),
        ("truncated .keras", root / "trunc.keras", "corrupt or truncated .keras archive"),
        ("truncated .h5", root / "trunc.h5", "unreadable HDF5 file (Unable to synchronously open file (truncated"),
        ("not a checkpoint", root / "notes.txt", "not a checkpoint artifact"),
        ("empty file", root / "empty.h5", "empty file"),
        ("corrupt index", root / "short", "unreadable TF checkpoint"),
        ("truncated data shard", root / "cut", "truncated or corrupt checkpoint data"),
        ("HDF5 file that is not Keras", root / "data.h5", "HDF5 file holds no Keras weights (no `vars` datasets; "
                                                          "it holds table)"),
        ("zip that is not .keras", root / "other.keras", "not a Keras 3 .keras archive (no model.weights.h5"),
    ]


def test_bad_input_is_one_line_and_exit_2(art, capsys, tmp_path):
    for label, path, message in _bad_inputs(art, tmp_path):
        for argv in (["inspect", str(path)], ["diff", str(art["keras"]), str(path)]):
            code, out, err = run(capsys, *argv)
            assert (code, out) == (2, ""), label
            assert err.count("\n") == 1 and err.startswith(f"ckptlint: error: {path}"), (label, err)
            assert message in err, (label, err)


def test_bad_tf_checkpoint_in_a_fresh_process_has_no_traceback_or_tf_log_spam(art, tmp_path):
    (tmp_path / "cut.index").write_bytes(art["sgd_ckpt"].with_name("sgd_ckpt.index").read_bytes())
    (tmp_path / "cut.data-00000-of-00001").write_bytes(b"\0" * 64)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-m", "ckptlint", "inspect", str(tmp_path / "cut")], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith(f"ckptlint: error: {tmp_path / 'cut'}: truncated or corrupt checkpoint data")


def test_bad_tolerance_is_a_usage_error(art, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["diff", "--atol", "-1", str(art["keras"]), str(art["keras"])])
    assert exc.value.code == 2
    assert "must be a non-negative number" in capsys.readouterr().err


def test_importing_the_cli_module_does_not_import_tf_or_h5py():
    code = ("import sys, ckptlint.inspect.cli, ckptlint.inspect\n"
            "print(any(m in sys.modules for m in ('tensorflow', 'h5py', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
