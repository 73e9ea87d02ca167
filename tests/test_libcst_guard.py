"""The libcst guard (ckptlint/lint/libcst_guard.py): the fast walk and fast positions are trusted only
after they matched libcst's public traversal and positions on a probe module; when a libcst release
breaks either, ckptlint says so once and reports the same findings through the public path."""

from __future__ import annotations

import json

import libcst as cst
import pytest
from libcst.metadata import PositionProvider

from ckptlint.lint import engine, libcst_guard, positions
from ckptlint.lint.registry import all_rules
from ckptlint.lint.sources import Source
from ckptlint.model import walk
from cli_helpers import REPO, run_ckptlint

ALL_CODES = tuple(sorted({rule.code for rule in all_rules()} | {"CKPT000", "CKPT001"}))
SAMPLES = sorted((REPO / "sample_projects").rglob("buggy/*.py"))


@pytest.fixture
def fresh_guard(monkeypatch):
    """A process state in which the guard has not run yet, restored afterwards."""
    monkeypatch.setattr(libcst_guard, "_checked", False)
    monkeypatch.setattr(libcst_guard, "_notice", None)
    monkeypatch.setattr(walk, "_PUBLIC_TRAVERSAL", False)
    monkeypatch.setattr(walk, "_HANDLERS", {})
    monkeypatch.setattr(walk, "_CHILD_FIELDS", {})
    monkeypatch.setattr(positions, "_PUBLIC_POSITIONS", False)
    return monkeypatch


def _findings() -> dict[str, list]:
    found = {}
    for path in SAMPLES:
        outcome = engine.lint_text(str(path), Source(path.read_text(encoding="utf-8")), ALL_CODES)
        found[str(path)] = [(f.code, f.location, f.message) for f in outcome.findings]
    return found


def test_the_installed_libcst_keeps_the_fast_paths(fresh_guard):
    assert libcst_guard.check() is None
    assert not walk._PUBLIC_TRAVERSAL and not positions._PUBLIC_POSITIONS


def test_a_changed_child_order_switches_to_the_public_traversal_with_the_same_findings(fresh_guard):
    expected = _findings()
    assert any(expected.values())
    fresh_guard.setattr(libcst_guard, "_checked", False)
    fresh_guard.setattr(walk, "_HANDLERS", {})
    real = walk._child_fields

    def reordered(cls):  # what a libcst that renamed or reordered its visit calls would look like
        fields = real(cls)
        return tuple(reversed(fields)) if cls in (cst.Call, cst.Assign, cst.Attribute) else fields

    fresh_guard.setattr(walk, "_child_fields", reordered)
    notice = libcst_guard.check()
    assert notice is not None and "tree walk" in notice and "positions" not in notice
    assert walk._PUBLIC_TRAVERSAL
    assert _findings() == expected


def test_changed_private_positions_switch_to_the_public_ones_with_the_same_findings(fresh_guard):
    expected = _findings()
    fresh_guard.setattr(libcst_guard, "_checked", False)

    class Shifted(PositionProvider):  # a private step that now means something else
        def _gen_impl(self, module):
            super()._gen_impl(module)
            self._computed = {node: type(span)(span.end, span.start) for node, span in self._computed.items()}

    fresh_guard.setattr(positions, "_FAST_PROVIDER", Shifted)
    notice = libcst_guard.check()
    assert notice is not None and "positions" in notice and "tree walk" not in notice
    assert positions._PUBLIC_POSITIONS
    assert _findings() == expected


def test_the_guard_runs_once_per_process(fresh_guard):
    calls = []
    real = walk.agrees_with_libcst
    fresh_guard.setattr(walk, "agrees_with_libcst", lambda module: calls.append(1) or real(module))
    for _ in range(3):
        libcst_guard.check()
    assert calls == [1]


def test_the_notice_reaches_the_report_once(tmp_path):
    """Through the real CLI and the pool: a libcst whose visit methods the fast walk cannot read."""
    for index in range(12):
        (tmp_path / f"m{index}.py").write_text("import tensorflow as tf\na = tf.keras.optimizers.Adam()\n"
                                               "b = tf.keras.optimizers.Adam()\nslots = {o.name: o for o in (a, b)}\n")
    (tmp_path / "sitecustomize.py").write_text(
        "import ckptlint.model.walk as walk\n"
        "def _broken(cls):\n    raise OSError('no source for libcst')\n"
        "walk._child_fields = _broken\n")
    result = run_ckptlint("check", "--no-cache", "--jobs", "2", "--format", "json", ".", cwd=tmp_path,
                          env={"PYTHONPATH": f"{tmp_path}:{REPO}"})
    assert result.returncode == 1, result.stderr
    assert len(json.loads(result.stdout)) == 24
    text = run_ckptlint("check", "--no-cache", "--jobs", "2", ".", cwd=tmp_path,
                        env={"PYTHONPATH": f"{tmp_path}:{REPO}"}).stdout
    assert text.count("using libcst's public (slower) path") == 1, text
