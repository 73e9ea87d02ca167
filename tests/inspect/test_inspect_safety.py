"""Untrusted artifacts are safe to inspect: nothing stored in them is ever executed.

The artifact holds a Lambda layer whose marshalled bytecode touches a marker file when it runs. The
positive control proves that deserializing the model runs it; the inspector must not.
"""

from __future__ import annotations

import pickle

import pytest

from inspect_artifacts import MARKER_ENV
from ckptlint.cli import main

pytestmark = pytest.mark.tf


def test_loading_the_artifact_would_run_its_code(art, tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")
    marker = tmp_path / "ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    keras.saving.load_model(art["evil_keras"], safe_mode=False)
    assert marker.exists()


def _forbid(*_args, **_kwargs):
    raise AssertionError("the inspector must not deserialize objects from an artifact")


@pytest.mark.parametrize("name", ["evil_keras", "evil_legacy"])
def test_inspect_and_diff_never_execute_it(art, tmp_path, monkeypatch, capsys, name):
    keras = pytest.importorskip("keras")
    marker = tmp_path / "ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    for target, attr in ((keras.saving, "load_model"), (keras.models, "load_model"), (pickle, "loads"),
                         (pickle, "load")):
        monkeypatch.setattr(target, attr, _forbid)
    assert main(["inspect", str(art[name])]) == 0
    assert main(["inspect", "--format", "json", str(art[name])]) == 0
    assert main(["diff", str(art["evil_keras"]), str(art["evil_legacy"])]) == 0
    out = capsys.readouterr().out
    assert "optimizer state: present (adam" in out
    assert not marker.exists()
