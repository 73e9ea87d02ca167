"""Configuration files as a hostile tree can ship them, in the linted directory or any parent: each one
is either no configuration of ours (the lint goes on) or a one-line error with exit code 2. Never a
traceback, a hang or a crash."""

from __future__ import annotations

import os

import pytest

from cli_helpers import run_ckptlint

BAD = "import tensorflow as tf\na = tf.keras.optimizers.Adam()\nb = tf.keras.optimizers.Adam()\nslots = {o.name: o for o in (a, b)}\n"

NOT_OURS = {
    "tool is a number": "tool = 5\n",
    "tool is an array of tables": "[[tool]]\nname = 'x'\n",
    "tool is a string": "tool = 'ckptlint'\n",
    "no tool": "[project]\nname = 'x'\n",
    "another tool": "[tool.ruff]\nline-length = 100\n",
    "deep but legal": "x = " + "[" * 50 + "]" * 50 + "\n",
}
ERRORS = {
    "nested a thousand deep": ("x = " + "[" * 1000 + "]" * 1000 + "\n", "invalid TOML"),
    "nested inline tables": ("x = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n", "invalid TOML"),
    "not TOML": ("[tool.ckptlint\n", "invalid TOML"),
    "not UTF-8": (b"[tool.ckptlint]\nselect = ['\xff']\n", "not UTF-8"),
    "table is a number": ("[tool]\nckptlint = 5\n", "[tool.ckptlint] must be a table"),
    "unknown key": ("[tool.ckptlint]\nselct = ['CKPT1']\n", "unknown key(s)"),
    "wrong type": ("[tool.ckptlint]\nselect = 'CKPT1'\n", "must be a list of strings"),
    "nested list": ("[tool.ckptlint]\nselect = [['CKPT1']]\n", "must be a list of strings"),
    "float size": ("[tool.ckptlint]\nmax-file-size = 1e309\n", "positive integer"),
    "boolean size": ("[tool.ckptlint]\nmax-file-size = true\n", "positive integer"),
    "negative size": ("[tool.ckptlint]\nmax-file-size = -1\n", "positive integer"),
    "bad per-file-ignores": ("[tool.ckptlint]\nper-file-ignores = 5\n", "per-file-ignores"),
    "unknown code": ("[tool.ckptlint]\nignore = ['NOPE9']\n", "unknown rule code"),
    "huge": ("# " + "x" * 5_000_000 + "\n", "too large"),
}


def _project(tmp_path, content, where: str) -> tuple:
    parent = tmp_path / "parent"
    project = parent / "project" if where == "parent" else parent
    project.mkdir(parents=True)
    (project / "bad.py").write_text(BAD)
    target = parent / "pyproject.toml"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    return project, target


@pytest.mark.parametrize("where", ["here", "parent"])
@pytest.mark.parametrize("name", sorted(NOT_OURS))
def test_a_pyproject_without_our_table_is_not_our_business(tmp_path, name, where):
    project, _ = _project(tmp_path, NOT_OURS[name], where)
    result = run_ckptlint("check", "--no-cache", "bad.py", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "CKPT301" in result.stdout and result.stderr == ""


@pytest.mark.parametrize("where", ["here", "parent"])
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_a_broken_configuration_is_one_line_and_exit_two(tmp_path, name, where):
    content, words = ERRORS[name]
    project, _ = _project(tmp_path, content, where)
    result = run_ckptlint("check", "--no-cache", "bad.py", cwd=project)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("ckptlint: error: ") and words in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="FIFOs")
def test_special_files_named_pyproject_are_not_read(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    os.mkfifo(tmp_path / "pyproject.toml")
    result = run_ckptlint("check", "--no-cache", "bad.py", cwd=tmp_path)
    assert result.returncode == 1 and "CKPT301" in result.stdout
    result = run_ckptlint("check", "--no-cache", "--config", "pyproject.toml", "bad.py", cwd=tmp_path)
    assert result.returncode == 2 and "not a regular file" in result.stderr
    os.unlink(tmp_path / "pyproject.toml")
    (tmp_path / "pyproject.toml").mkdir()
    assert run_ckptlint("check", "--no-cache", "bad.py", cwd=tmp_path).returncode == 1


def test_a_tree_deeper_than_the_recursion_limit(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ckptlint]\nignore = ['CKPT3']\n")
    levels = [tmp_path]
    for _ in range(1100):
        levels.append(levels[-1] / "d")
        levels[-1].mkdir()
    (levels[-1] / "bad.py").write_text(BAD)
    try:
        result = run_ckptlint("check", "--no-cache", ".", cwd=tmp_path)
    finally:  # bottom-up: pytest's own clean-up of old temporary directories recurses and would fail on it
        (levels[-1] / "bad.py").unlink()
        for level in reversed(levels[1:]):
            level.rmdir()
    assert result.returncode == 0 and "1 file" in result.stdout, result.stderr[-500:]
