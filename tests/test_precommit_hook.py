"""The pre-commit hook, run by the real `pre-commit` tool the way a user's repository runs it.

The current working tree (tracked and untracked, not ignored files) is committed into a temporary hook
repository; a temporary user repository points `repo:` at it with `rev:` = that commit. pre-commit then
clones it and pip-installs ckptlint into its own virtualenv (`language: python`), fetching libcst and the
build backend from PyPI, exactly as for a user. PRE_COMMIT_HOME is a temporary directory, so the test
never touches the developer's pre-commit cache. The install runs once per module (about a minute).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]

BAD = textwrap.dedent(
    """\
    import tensorflow as tf
    opt_a = tf.keras.optimizers.Adam()
    opt_b = tf.keras.optimizers.Adam()
    slots = {o.name: o for o in (opt_a, opt_b)}
    """
)
CLEAN = 'print("hello")\n'


def _git(*args: str, cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=ckptlint tests", "-c", "user.email=tests@ckptlint.invalid", "-c", "commit.gpgsign=false",
         "-c", "init.defaultBranch=main", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed in {cwd}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def _working_tree_files() -> list[str]:
    if shutil.which("git") is None:
        pytest.fail("git is required to build the temporary hook repository")
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git checkout: the hook test copies the working tree from git")
    listing = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def _run(args: list[str], cwd: Path, env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(PRE_COMMIT + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory):
    """A user repository whose .pre-commit-config.yaml uses the ckptlint hook at a commit of this tree."""
    base = tmp_path_factory.mktemp("precommit")
    hook_repo = base / "ckptlint-hook-repo"
    for name in _working_tree_files():
        target = hook_repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    assert (hook_repo / ".pre-commit-hooks.yaml").is_file(), "the hook definition must be in the working tree"
    _git("init", "-q", cwd=hook_repo)
    _git("add", "-A", cwd=hook_repo)
    _git("commit", "-q", "-m", "snapshot of the working tree", cwd=hook_repo)
    rev = _git("rev-parse", "HEAD", cwd=hook_repo).strip()

    repo = base / "user-repo"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text(
        textwrap.dedent(
            f"""\
            repos:
              - repo: {hook_repo.as_posix()}
                rev: {rev}
                hooks:
                  - id: ckptlint
            """
        ),
        encoding="utf-8",
    )
    (repo / "bad.py").write_text(BAD, encoding="utf-8")
    (repo / "clean.py").write_text(CLEAN, encoding="utf-8")
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Two optimizers\n"]},
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": BAD.splitlines(keepends=True)},
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (repo / "bad.ipynb").write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    (repo / "notes.txt").write_text(BAD, encoding="utf-8")
    _git("add", "-A", cwd=repo)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(PRE_COMMIT_HOME=str(base / "pre-commit-home"), PIP_DISABLE_PIP_VERSION_CHECK="1", PRE_COMMIT_COLOR="never")
    proc = _run(["install-hooks"], cwd=repo, env=env)
    if proc.returncode != 0:
        log = Path(env["PRE_COMMIT_HOME"]) / "pre-commit.log"
        pytest.fail(
            "pre-commit could not install the ckptlint hook from a clean clone of the working tree "
            f"(exit {proc.returncode}):\n{proc.stdout}{proc.stderr}\n"
            + (log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.is_file() else "")
        )
    return repo, env


def test_hook_manifest_is_valid_for_pre_commit():
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(HOOKS_FILE))
    assert hook["id"] == "ckptlint"
    assert hook["entry"] == "ckptlint check"
    assert hook["language"] == "python"
    # `types` is AND in pre-commit: a file would have to be python AND jupyter; `types_or` is OR.
    assert hook["types_or"] == ["python", "jupyter"] and hook["types"] == ["file"]
    assert hook["require_serial"] is False and hook["pass_filenames"] is True


def test_bad_file_fails_the_hook_with_the_finding(user_repo):
    repo, env = user_repo
    proc = _run(["run", "--files", "bad.py"], cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Failed" in out and "- exit code: 1" in out
    assert "bad.py:3:9: CKPT301" in out


def test_clean_file_passes(user_repo):
    repo, env = user_repo
    proc = _run(["run", "--files", "clean.py"], cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "ckptlint" in out and "Passed" in out
    assert "CKPT" not in out


def test_notebooks_are_checked_too(user_repo):
    repo, env = user_repo
    proc = _run(["run", "--files", "bad.ipynb"], cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "bad.ipynb:cell_2:3:9: CKPT301" in out


def test_other_file_types_are_not_passed_to_the_hook(user_repo):
    repo, env = user_repo
    proc = _run(["run", "--files", "notes.txt", "clean.py"], cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "notes.txt" not in out and "CKPT" not in out
    proc = _run(["run", "--files", "notes.txt"], cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "(no files to check)Skipped" in out, out
