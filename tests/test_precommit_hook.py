"""The pre-commit hook, run by the real `pre-commit` tool the way a user's repository runs it.

The current working tree is committed into a temporary repository and tagged `v<version>`, as a release
is (tests/release_repo.py). A temporary user repository gets the README's own `.pre-commit-config.yaml`
snippet, with its `<URL>` pointed at that repository and its `rev:` as the README has it. pre-commit then
clones it at that tag and pip-installs ckptlint into its own virtualenv (`language: python`), fetching
libcst and the build backend from the package index, exactly as for a user. PRE_COMMIT_HOME is a
temporary directory, so the test never touches the developer's pre-commit cache. The install runs once
per module (about a minute).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from release_repo import ROOT, git, readme_block, tagged_release, version

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
# One side of a save/restore pair each: staged alone, the other side is still read.
TRAIN = textwrap.dedent(
    """\
    import tensorflow as tf

    CHECKPOINT_DIR = "checkpoints/run1"

    def train(model, optimizer, steps):
        ckpt = tf.train.Checkpoint(net=model, optimizer=optimizer)
        manager = tf.train.CheckpointManager(ckpt, CHECKPOINT_DIR, max_to_keep=3)
        for step in range(steps):
            manager.save()
    """
)
EVALUATE = textwrap.dedent(
    """\
    import tensorflow as tf
    from train import CHECKPOINT_DIR

    def evaluate(model):
        ckpt = tf.train.Checkpoint(model=model)
        ckpt.restore(tf.train.latest_checkpoint(CHECKPOINT_DIR))
    """
)


def _hook_on(repo: Path, env: dict, *files: str) -> tuple[subprocess.CompletedProcess, str]:
    """`pre-commit run --files FILES` in the user's repository: the process, and its whole output."""
    proc = _run(["run", "--files", *files], cwd=repo, env=env)
    return proc, proc.stdout + proc.stderr


def _run(args: list[str], cwd: Path, env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(PRE_COMMIT + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _readme_config(url: str) -> str:
    """The README's .pre-commit-config.yaml, with `<URL>` (where the user got ckptlint) filled in."""
    snippet = readme_block("### pre-commit", "yaml")
    assert snippet.count("<URL>") == 1, snippet
    return snippet.replace("<URL>", url)


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory):
    """A user repository whose .pre-commit-config.yaml is the README's, at the release tag of this tree."""
    base = tmp_path_factory.mktemp("precommit")
    hook_repo, tag = tagged_release(base / "ckptlint")
    assert (hook_repo / ".pre-commit-hooks.yaml").is_file(), "the hook definition must be in the working tree"

    repo = base / "user-repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    config = _readme_config(hook_repo.as_posix())
    assert f"rev: {tag}" in config
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    (repo / "bad.py").write_text(BAD, encoding="utf-8")
    (repo / "clean.py").write_text(CLEAN, encoding="utf-8")
    (repo / "train.py").write_text(TRAIN, encoding="utf-8")
    (repo / "evaluate.py").write_text(EVALUATE, encoding="utf-8")
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
    git("add", "-A", cwd=repo)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(PRE_COMMIT_HOME=str(base / "pre-commit-home"), PIP_DISABLE_PIP_VERSION_CHECK="1", PRE_COMMIT_COLOR="never")
    proc = _run(["install-hooks"], cwd=repo, env=env)
    if proc.returncode != 0:
        log = Path(env["PRE_COMMIT_HOME"]) / "pre-commit.log"
        pytest.fail(
            "pre-commit could not install the ckptlint hook from the tagged release of the working tree "
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
    proc, out = _hook_on(repo, env, "bad.py")
    assert proc.returncode == 1, out
    assert "Failed" in out and "- exit code: 1" in out
    assert "bad.py:3:9: CKPT301" in out


def test_clean_file_passes(user_repo):
    repo, env = user_repo
    proc, out = _hook_on(repo, env, "clean.py")
    assert proc.returncode == 0, out
    assert "ckptlint" in out and "Passed" in out
    assert "CKPT" not in out


def test_notebooks_are_checked_too(user_repo):
    repo, env = user_repo
    proc, out = _hook_on(repo, env, "bad.ipynb")
    assert proc.returncode == 1, out
    assert "bad.ipynb:cell_2:3:9: CKPT301" in out


def test_other_file_types_are_not_passed_to_the_hook(user_repo):
    repo, env = user_repo
    proc, out = _hook_on(repo, env, "notes.txt", "clean.py")
    assert proc.returncode == 0, out
    assert "notes.txt" not in out and "CKPT" not in out
    proc, out = _hook_on(repo, env, "notes.txt")
    assert proc.returncode == 0 and "(no files to check)Skipped" in out, out


def test_the_hook_runs_the_tagged_version(user_repo):
    repo, env = user_repo
    environments = list(Path(env["PRE_COMMIT_HOME"]).glob("repo*/py_env-*/bin/ckptlint"))
    assert len(environments) == 1, environments
    proc = subprocess.run([str(environments[0]), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == f"ckptlint {version()}", proc.stdout + proc.stderr


def test_one_side_of_a_pair_staged_alone_is_checked_against_the_other(user_repo):
    repo, env = user_repo
    proc, out = _hook_on(repo, env, "train.py")
    assert proc.returncode == 1, out
    assert "train.py:9:9: CKPT203" in out and "note: evaluate.py:6:5: restored here with `model`" in out
    assert "evaluate.py:6:5: CKPT203" not in out
    proc, out = _hook_on(repo, env, "evaluate.py")
    assert proc.returncode == 1, out
    assert "evaluate.py:6:5: CKPT203" in out and "train.py:9:9: CKPT203" not in out
