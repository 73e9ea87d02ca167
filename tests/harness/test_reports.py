"""Report formats: the JSON schema, the text table, the plot; and the mirrored strategy from the CLI."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ckptlint.harness.compare import classify, compare_runs, diff_restore
from ckptlint.harness.verdict import JSON_SCHEMA, Report
from ckptlint.harness.snapshot import Snapshot
from tests.harness.conftest import run_verify_cli

import numpy as np


def _snap(values: dict[str, list[float]]) -> Snapshot:
    return Snapshot(values={"model weights": {f"{i:03d} w{i}": np.array(v) for i, v in enumerate(values)}},
                    kinds={"model weights": "model"})


def test_classify_each_status():
    s, i = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    assert classify(s, i, s.copy(), "k").status == "restored"
    assert classify(s, i, i.copy(), "k").status == "NOT restored"
    diff = classify(s, i, np.array([1.0, 2.5]), "k")
    assert diff.status == "differs" and diff.max_abs_diff == 0.5
    assert classify(s, i, None, "k").status == "missing"
    assert classify(None, None, s, "k").status == "unexpected"
    assert classify(i, i, i.copy(), "k").unchanged


def test_offline_report_round_trips_through_json_and_schema():
    saved = Snapshot({"model weights": {"000 a": np.array([1.0]), "001 b": np.array([2.0])}},
                     {"model weights": "model"})
    initial = Snapshot({"model weights": {"000 a": np.array([0.0]), "001 b": np.array([0.0])}},
                       {"model weights": "model"})
    restored = Snapshot({"model weights": {"000 a": np.array([1.0]), "001 b": np.array([0.0])}},
                        {"model weights": "model"})
    components = diff_restore(saved, initial, restored, lambda kind: True, {})
    eq = compare_runs(saved, restored, [[1.0], [0.5]], [[1.0], [0.7]], [0.0, 0.2], 0.0, 0.0)
    report = Report("t.py:make_setup", "user", 1, None, components, eq, None)
    assert report.verdict == "fail" and report.lost_components() == {"model weights"}
    assert eq.first_divergent_step == 2 and eq.first_weight_divergent_step == 2
    data = json.loads(report.to_json())
    jsonschema.validate(data, JSON_SCHEMA)
    again = Report.from_dict(data)
    assert again.to_dict() == data
    text = report.to_text()
    assert text.startswith("FAIL: 1 component(s) not restored: model weights")
    assert "model weights: 001 b: NOT restored" in text


@pytest.fixture(scope="module")
def cli_json_and_plot(tmp_path_factory):
    png = tmp_path_factory.mktemp("plot") / "resume.png"
    proc = run_verify_cli("tests.harness.setups.tape:make_checkpoint_model_only", "--steps", "2",
                          "--format", "json", "--plot", str(png))
    return proc, png


def test_cli_json_matches_schema(cli_json_and_plot):
    proc, _ = cli_json_and_plot
    assert proc.returncode == 1, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    jsonschema.validate(data, JSON_SCHEMA)
    assert data["verdict"] == "fail" and data["exit_code"] == 1
    assert {c["name"] for c in data["components"] if c["status"] == "lost"} == {
        "optimizer slots[optimizer]", "optimizer iterations[optimizer]"}
    assert data["equivalence"]["first_divergent_step"] == 4
    assert data["equivalence"]["first_weight_divergent_step"] == 3
    assert len(data["equivalence"]["weight_diff_per_step"]) == 4
    assert {"start-up", "run A", "control", "run B part 2 (fresh process)", "worker import"} <= set(data["timings"])


def test_cli_plot_is_a_png(cli_json_and_plot):
    _, png = cli_json_and_plot
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_mirrored_strategy_cli():
    """From the command line, two logical CPUs are configured before TensorFlow initializes."""
    proc = run_verify_cli("tests.harness.setups.mirrored:make_setup", "--steps", "2", "--strategy", "mirrored",
                          "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    jsonschema.validate(data, JSON_SCHEMA)
    assert data["strategy"] == "mirrored" and data["verdict"] == "pass"


def test_mirrored_strategy_in_process_moves_to_a_fresh_process(workdir):
    """Here TF is already initialized with one CPU, so verify() runs the whole check in a fresh process."""
    import tensorflow as tf

    from ckptlint.harness import verify

    one_cpu = len(tf.config.list_logical_devices("CPU")) < 2  # also initializes TF if nothing did yet
    said: list[str] = []
    report = verify("tests.harness.setups.mirrored:make_setup", steps=2, strategy="mirrored", workdir=workdir,
                    progress=said.append)
    assert report.verdict == "pass", report.to_text()
    assert report.strategy == "mirrored"
    assert any("fresh process" in line for line in said) == one_cpu
