"""Fixtures for the linter tests (the harness and inspector suites have their own conftest)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path):
    """write("a/b.py", source) -> Path, dedenting the source."""

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory):
    """Runs that use the default cache location write to a directory of this test session, never to the
    user's own ~/.cache/ckptlint (subprocesses inherit the variable)."""
    import os

    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ.pop("CKPTLINT_CACHE_DIR", None)
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`-m "not tf"` does not even import tests/harness (all of it is marked `tf`, and its modules import
    TensorFlow and Keras at the top: a minute of collection in each xdist worker on a loaded machine)."""
    if config.getoption("markexpr", "").replace(" ", "") == "nottf":
        harness = Path(__file__).resolve().parent / "harness"
        if collection_path.resolve() == harness or harness in collection_path.resolve().parents:
            return True
    return None
