"""The precision benchmark's own machinery (benchmarks/precision/): its pins, the unpacking of archives it
does not trust, the finding ids that labels hang on, and the precision arithmetic. No download, no TF."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path, PurePosixPath

import pytest

# benchmarks/precision is a directory of scripts, not a package: on pytest's pythonpath (pyproject.toml)
import fetch
import report
import run

REPO = Path(__file__).resolve().parent.parent
PRECISION = REPO / "benchmarks" / "precision"


def _pins(name: str) -> list[dict]:
    return json.loads((PRECISION / name).read_text())["packages"]


def test_the_corpus_is_pinned_and_shares_no_project_with_the_speed_benchmark():
    pins = _pins("corpus.json")
    names = [p["name"] for p in pins]
    assert len(names) == len(set(names))
    for pin in pins:
        assert re.fullmatch(r"[0-9a-f]{64}", pin["sha256"]), pin["name"]
        assert pin["url"].startswith("https://files.pythonhosted.org/packages/") and pin["url"].endswith(pin["file"])
        assert pin["version"] in pin["file"]
    speed = {p["name"] for p in json.loads((REPO / "benchmarks" / "corpus.json").read_text())["packages"]}
    assert not speed & set(names)


def test_the_dense_spec_adds_its_packages_to_the_corpus_and_selects_files():
    spec = fetch.load_spec(PRECISION / "dense.json")
    corpus = fetch.load_spec(PRECISION / "corpus.json")
    assert spec.packages[: len(corpus.packages)] == corpus.packages
    assert {"keras", "tensorflow-cpu"} <= {p.name for p in spec.packages}
    assert spec.select is not None and spec.select.search(b"tf.train.Checkpoint(model=m)")
    assert spec.stamp != corpus.stamp


@pytest.mark.parametrize(
    ("name", "strip_top", "expected"),
    [
        ("pkg-1.0/pkg/train.py", True, "pkg/train.py"),
        ("pkg/train.py", False, "pkg/train.py"),
        ("./pkg-1.0/examples/nb.ipynb", True, "examples/nb.ipynb"),
        ("pkg-1.0/../../etc/evil.py", True, None),
        ("/abs/evil.py", False, None),
        ("pkg-1.0/build/lib/pkg/train.py", True, None),
        ("pkg-1.0", True, None),
    ],
)
def test_members_land_inside_the_package_directory_or_nowhere(name, strip_top, expected):
    relative = fetch._relative(name, strip_top)
    assert relative == (PurePosixPath(expected) if expected else None)


def _sdist(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            archive.addfile(info)
    return path


def test_unpack_writes_only_code_files_under_the_destination(tmp_path):
    archive = _sdist(tmp_path / "demo-1.0.tar.gz", {
        "demo-1.0/demo/train.py": b"ckpt = tf.train.Checkpoint(model=m)\n",
        "demo-1.0/demo/util.py": b"x = 1\n",
        "demo-1.0/README.md": b"# not code\n",
        "demo-1.0/../escape.py": b"Checkpoint\n",
    }, link="demo-1.0/demo/link.py")
    package = fetch.Package("demo", "1.0", "demo-1.0.tar.gz", "0" * 64, "https://files.pythonhosted.org/packages/x/demo-1.0.tar.gz")
    destination = tmp_path / "out" / "demo"

    assert fetch.unpack(archive, package, destination, select=None) == 2
    written = sorted(str(p.relative_to(destination)) for p in destination.rglob("*") if p.is_file())
    assert written == ["demo/train.py", "demo/util.py"]
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "out" / "escape.py").exists()

    selected = tmp_path / "selected" / "demo"
    assert fetch.unpack(archive, package, selected, select=re.compile(rb"Checkpoint")) == 1
    assert [p.name for p in selected.rglob("*.py")] == ["train.py"]


def _raw(filename: str, row: int, code: str = "CKPT201", cell: int | None = None) -> dict:
    return {"code": code, "filename": filename, "cell": cell, "location": {"row": row, "column": 1},
            "message": "m", "related": []}


def test_ids_survive_line_moves_and_tell_identical_lines_apart(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\nckpt.restore(path)\n\n    ckpt.restore(path)\n")
    first = run.with_ids([_raw("pkg/a.py", 2), _raw("pkg/a.py", 4)], tmp_path)
    assert first[0]["id"] == first[1]["id"].removesuffix("~2") and first[1]["id"].endswith("~2")
    assert first[0]["package"] == "pkg" and first[0]["path"] == "a.py" and first[0]["line"] == "ckpt.restore(path)"

    (package / "a.py").write_text("import os\nx = 1\n\nckpt.restore(path)\n")
    moved = run.with_ids([_raw("pkg/a.py", 4)], tmp_path)
    assert moved[0]["id"] == first[0]["id"]


def test_a_notebook_finding_is_identified_by_its_cell_line(tmp_path):
    (tmp_path / "pkg").mkdir()
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# title"]},
                          {"cell_type": "code", "source": ["import tensorflow as tf\n", "ckpt.restore(p)\n"]}]}
    (tmp_path / "pkg" / "nb.ipynb").write_text(json.dumps(notebook))
    [finding] = run.with_ids([_raw("pkg/nb.ipynb", 2, cell=2)], tmp_path)
    assert finding["line"] == "ckpt.restore(p)" and finding["cell"] == 2


def test_precision_counts_true_and_false_and_leaves_unclear_and_untriaged_out():
    findings = [{"id": str(i), "code": code} for i, code in enumerate(["CKPT201"] * 4 + ["CKPT402"] * 2)]
    labels = {"0": {"label": "true"}, "1": {"label": "false"}, "2": {"label": "unclear"},
              "4": {"label": "false"}, "5": {"label": "false"}}
    rows = report.table(findings, labels)
    assert "| CKPT201 | 4 | 1 | 1 | 1 | 1 | 0.50 |" in rows
    assert "| CKPT402 | 2 | 0 | 2 | 0 | 0 | 0.00 |" in rows
    assert rows[-1] == "| **all** | 6 | 1 | 3 | 1 | 1 | **0.25** |"


def test_every_recorded_label_is_well_formed():
    labels = json.loads((PRECISION / "triage.json").read_text())["labels"]
    assert labels
    for key, entry in labels.items():
        assert re.fullmatch(r"[^:]+:[^:]+:CKPT\d{3}:[0-9a-f]{10}(~\d+)?", key), key
        assert entry["label"] in report.LABELS
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry["pattern"]), key
        assert entry["reason"].strip() and entry["code"] == key.split(":")[2]
