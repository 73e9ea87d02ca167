"""Files checked on their own are checked in their project's context (ckptlint.lint.context).

A pre-commit hook passes only the staged files: with one side of a save/restore pair staged, CKPT203
must still compare it with the other side, and report only in the staged files. These tests run the
real engine from inside a small git project, as the hook does.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from cli_helpers import run_ckptlint
from ckptlint.lint.config import ConfigResolver
from ckptlint.lint.engine import Options, run

TRAIN = """
import tensorflow as tf

CHECKPOINT_DIR = "checkpoints/run1"

def train(model, optimizer, steps):
    ckpt = tf.train.Checkpoint({keys})
    manager = tf.train.CheckpointManager(ckpt, CHECKPOINT_DIR, max_to_keep=3)
    for step in range(steps):
        manager.save(){comment}
"""

EVALUATE = """
import tensorflow as tf
from train import CHECKPOINT_DIR

def evaluate(model):
    ckpt = tf.train.Checkpoint({keys})
    ckpt.restore(tf.train.latest_checkpoint(CHECKPOINT_DIR))
    return model
"""

# A second mismatched pair and a file with a per-file finding: never staged, never reported.
OTHER_TRAIN = TRAIN.replace("checkpoints/run1", "checkpoints/other").format(keys="net=model, optimizer=optimizer",
                                                                             comment="")
OTHER_EVALUATE = EVALUATE.replace("from train", "from other_train").format(keys="model=model")
TWO_OPTIMIZERS = """
import tensorflow as tf
opt_a = tf.keras.optimizers.Adam()
opt_b = tf.keras.optimizers.Adam()
slots = {o.name: o for o in (opt_a, opt_b)}
"""


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def _project(root: Path, train_keys="net=model, optimizer=optimizer", eval_keys="model=model", comment="",
             extra: dict[str, str] | None = None) -> Path:
    files = {
        "train.py": TRAIN.format(keys=train_keys, comment=comment),
        "evaluate.py": EVALUATE.format(keys=eval_keys),
        "other_train.py": OTHER_TRAIN,
        "other_evaluate.py": OTHER_EVALUATE,
        "two_optimizers.py": TWO_OPTIMIZERS,
        **(extra or {}),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    _git("init", "-q", cwd=root)
    return root


def _check(root: Path, *paths: str, use_cache: bool = False, cache_dir: Path | None = None, select=None):
    """engine.run from the project's directory, as `ckptlint check PATHS` run by the hook."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        options = Options(select=select, use_cache=use_cache, cache_dir=cache_dir, jobs=1)
        return run(list(paths), ConfigResolver(default_root=root), options)
    finally:
        os.chdir(cwd)


def _shown(result) -> list[tuple[str, int, str]]:
    return [(f.location.path, f.location.line, f.code) for f in result.findings]


def test_save_side_alone_reports_the_mismatch_at_the_write(tmp_path):
    root = _project(tmp_path)
    result = _check(root, "train.py")
    assert _shown(result) == [("train.py", 9, "CKPT203")]
    (finding,) = result.findings
    assert "writes `net`, `optimizer`" in finding.message and "evaluate.py:6:5 restores `model`" in finding.message
    assert [(r.location.path, r.location.line) for r in finding.related] == [("evaluate.py", 6)]
    assert finding.source_line.strip() == "manager.save()"
    assert result.files_checked == 1


def test_restore_side_alone_reports_the_mismatch_at_the_restore(tmp_path):
    root = _project(tmp_path)
    result = _check(root, "evaluate.py")
    assert _shown(result) == [("evaluate.py", 6, "CKPT203")]
    assert [(r.location.path, r.location.line) for r in result.findings[0].related] == [("train.py", 9)]


def test_both_sides_given_report_once_at_the_restore(tmp_path):
    root = _project(tmp_path)
    assert _shown(_check(root, "train.py", "evaluate.py")) == [("evaluate.py", 6, "CKPT203")]


def test_findings_in_files_not_given_are_never_reported(tmp_path):
    root = _project(tmp_path)
    whole = _shown(_check(root, "."))
    assert ("other_evaluate.py", 6, "CKPT203") in whole and ("two_optimizers.py", 3, "CKPT301") in whole
    for given in ("train.py", "evaluate.py", "other_train.py", "two_optimizers.py"):
        shown = _shown(_check(root, given))
        assert {path for path, _, _ in shown} <= {given}, (given, shown)
    assert _shown(_check(root, "two_optimizers.py")) == [("two_optimizers.py", 2, "CKPT301"), ("two_optimizers.py", 3, "CKPT301")]


def test_a_matching_pair_stays_quiet(tmp_path):
    root = _project(tmp_path, eval_keys="net=model")
    assert _shown(_check(root, "train.py")) == []
    assert _shown(_check(root, "evaluate.py")) == []


def test_a_suppression_at_the_write_is_honoured(tmp_path):
    root = _project(tmp_path, comment="  # ckptlint: disable=CKPT203")
    assert _shown(_check(root, "train.py")) == []


def test_ignored_files_are_not_context(tmp_path):
    root = _project(tmp_path, extra={".gitignore": "evaluate.py\n"})
    assert _shown(_check(root, "train.py")) == []


def test_only_project_rules_read_the_context(tmp_path):
    root = _project(tmp_path)
    assert _shown(_check(root, "train.py", select=["CKPT301"])) == []


def test_a_directory_is_linted_on_its_own(tmp_path):
    root = _project(tmp_path, extra={"sub/__init__.py": "", "sub/keep.py": "print(1)\n"})
    (root / "sub" / "evaluate.py").write_text(textwrap.dedent(EVALUATE.format(keys="model=model")).lstrip()
                                              .replace("from train import CHECKPOINT_DIR", "CHECKPOINT_DIR = 'checkpoints/run1'"))
    assert _shown(_check(root, "sub")) == []  # its pair is outside the directory, as before
    assert _shown(_check(root, "sub/evaluate.py")) == [("sub/evaluate.py", 6, "CKPT203")]


def test_a_file_outside_any_project_has_no_context(tmp_path):
    from ckptlint.lint.imports import marked_project_root

    loose = tmp_path / "loose"
    loose.mkdir()
    if marked_project_root(str(loose)) is not None:
        pytest.skip(f"{tmp_path} is inside a project directory")
    (loose / "train.py").write_text(textwrap.dedent(TRAIN.format(keys="net=model", comment="")).lstrip())
    (loose / "evaluate.py").write_text(textwrap.dedent(EVALUATE.format(keys="model=model")).lstrip())
    assert _shown(_check(loose, "train.py")) == []
    assert _shown(_check(loose, ".")) == [("evaluate.py", 6, "CKPT203")]


def test_the_cache_sees_a_changed_context_file(tmp_path):
    root = _project(tmp_path / "project")
    cache = tmp_path / "cache"
    for _ in range(2):  # cold, then warm: the same answer
        assert _shown(_check(root, "train.py", use_cache=True, cache_dir=cache)) == [("train.py", 9, "CKPT203")]
    (root / "evaluate.py").write_text(textwrap.dedent(EVALUATE.format(keys="net=model")).lstrip())
    assert _shown(_check(root, "train.py", use_cache=True, cache_dir=cache)) == []
    # The restore side alone, warm, through the same cache: the scope is part of the project pass's key.
    assert _shown(_check(root, "evaluate.py", use_cache=True, cache_dir=cache)) == []
    (root / "evaluate.py").write_text(textwrap.dedent(EVALUATE.format(keys="model=model")).lstrip())
    assert _shown(_check(root, "evaluate.py", use_cache=True, cache_dir=cache)) == [("evaluate.py", 6, "CKPT203")]
    assert _shown(_check(root, "train.py", use_cache=True, cache_dir=cache)) == [("train.py", 9, "CKPT203")]


def test_command_line_exit_codes(tmp_path):
    root = _project(tmp_path / "project")
    env = {"CKPTLINT_CACHE_DIR": str(tmp_path / "cache")}
    proc = run_ckptlint("check", "train.py", cwd=root, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("train.py:9:9: CKPT203 [error] this checkpoint writes")
    assert "note: evaluate.py:6:5: restored here with `model`" in proc.stdout
    assert "in 1 file." in proc.stdout
    proc = run_ckptlint("check", "other_train.py", cwd=root, env=env)
    assert proc.returncode == 1 and "other_train.py:9:9: CKPT203" in proc.stdout, proc.stdout + proc.stderr
    (root / "clean.py").write_text("print('hello')\n")
    proc = run_ckptlint("check", "clean.py", cwd=root, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr


def test_per_file_ignores_of_the_other_side_apply_as_in_a_whole_run(tmp_path):
    root = _project(tmp_path, extra={"pyproject.toml": '[tool.ckptlint.per-file-ignores]\n"evaluate.py" = ["CKPT203"]\n'})
    assert ("evaluate.py", 6, "CKPT203") not in _shown(_check(root, "."))
    assert _shown(_check(root, "train.py")) == []


def test_a_failure_in_a_context_file_is_a_notice_not_an_error(tmp_path, monkeypatch):
    from ckptlint.lint.registry import rule_by_code

    rule = rule_by_code("CKPT203")
    summarize = rule.summarize

    def failing(self, module, locator):
        if locator.path == "evaluate.py":
            raise RuntimeError("injected")
        return summarize(self, module, locator)

    monkeypatch.setattr(rule, "summarize", failing)
    root = _project(tmp_path)
    result = _check(root, "train.py")
    assert result.internal_errors == [] and _shown(result) == []
    assert any(n.startswith("project context: evaluate.py: internal error in CKPT203") for n in result.notices), \
        result.notices
    # The same failure in a file the user named is an internal error (exit code 2), as before.
    assert _check(root, "evaluate.py").internal_errors


def test_a_keras2_weights_write_given_alone_says_what_it_writes(tmp_path):
    root = _project(tmp_path, extra={
        "requirements.txt": "tf_keras==2.15.0\n",
        "fit.py": """
            import tf_keras

            def train(model):
                callback = tf_keras.callbacks.ModelCheckpoint("checkpoints/run1/cp-{epoch:04d}.ckpt", save_weights_only=True)
                model.fit(x, y, epochs=10, callbacks=[callback])
            """,
    })
    result = _check(root, "fit.py")
    assert _shown(result) == [("fit.py", 4, "CKPT203")]
    assert result.findings[0].message.startswith("Keras 2 writes these weights to `checkpoints/run1/` with the model")
    assert "evaluate.py:6:5 restores `model`" in result.findings[0].message
