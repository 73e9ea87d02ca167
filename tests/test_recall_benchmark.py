"""The recall benchmark's own machinery (benchmarks/recall/): the strict patch applier, the manifests and
that every committed case is a patch only (no third-party file). No download, no TF."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RECALL = REPO / "benchmarks" / "recall"


def _load_recall_runner():
    """benchmarks/recall/run.py under a name of its own: the precision tests import a `run` too."""
    spec = importlib.util.spec_from_file_location("recall_run", RECALL / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["recall_run"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


recall_run = _load_recall_runner()

ORIGINAL = "a = 1\nb = 2\nc = 3\nd = 4\n"


def _patch(body: str) -> str:
    return "--- a/x.py\n+++ b/x.py\n" + body


def test_a_patch_replaces_and_inserts_lines_where_its_context_matches():
    patch = _patch("@@ -1,3 +1,4 @@\n a = 1\n-b = 2\n+b = 20\n+b2 = 21\n c = 3\n")
    assert recall_run.apply_patch(ORIGINAL, patch) == "a = 1\nb = 20\nb2 = 21\nc = 3\nd = 4\n"


def test_a_patch_made_against_another_version_is_refused_not_fuzzed():
    patch = _patch("@@ -1,3 +1,3 @@\n a = 1\n-b = 3\n+b = 20\n c = 3\n")
    with pytest.raises(ValueError, match="context does not match at line 2"):
        recall_run.apply_patch(ORIGINAL, patch)


def test_two_hunks_and_a_missing_final_newline():
    patch = _patch("@@ -1,1 +1,1 @@\n-a = 1\n+a = 10\n@@ -4,1 +4,1 @@\n-d = 4\n+d = 40\n\\ No newline at end of file\n")
    assert recall_run.apply_patch(ORIGINAL, patch) == "a = 10\nb = 2\nc = 3\nd = 40"


def test_hunks_out_of_order_are_an_error():
    patch = _patch("@@ -3,1 +3,1 @@\n-c = 3\n+c = 30\n@@ -1,1 +1,1 @@\n-a = 1\n+a = 10\n")
    with pytest.raises(ValueError, match="out of order"):
        recall_run.apply_patch(ORIGINAL, patch)


CASES = sorted(d for d in (RECALL / "cases").iterdir() if d.is_dir())


def test_there_are_thirty_cases_covering_every_checkpoint_rule_band():
    assert len(CASES) == 30
    rules = {recall_run.Case.load(d).rule for d in CASES}
    assert {"CKPT101", "CKPT201", "CKPT202", "CKPT301", "CKPT303", "CKPT401", "CKPT402"} <= rules


@pytest.mark.parametrize("directory", CASES, ids=[d.name for d in CASES])
def test_each_case_is_a_manifest_and_a_patch_of_the_file_it_names(directory):
    assert sorted(p.name for p in directory.iterdir()) == ["case.patch", "manifest.json"]
    case = recall_run.Case.load(directory)
    assert re.fullmatch(r"r\d\d-[a-z0-9-]+", case.id)
    assert re.fullmatch(r"[0-9a-f]{64}", case.sha256)
    assert re.fullmatch(r"CKPT\d{3}", case.rule) and case.line > 0
    assert case.flow and case.bug
    pins = {p["name"] for p in json.loads((REPO / "benchmarks" / "precision" / "corpus.json").read_text())["packages"]}
    assert case.package in pins
    patch = (directory / "case.patch").read_text()
    assert patch.startswith(f"--- a/{case.path}\n+++ b/{case.path}\n")
    added = sum(1 for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in patch.splitlines() if line.startswith("-") and not line.startswith("---"))
    assert added + removed < 60, "a case seeds one bug: a patch, not a copy of the file"
