"""Project-wide rules through the real engine: per-file summaries, the join after the pool, suppressions.

`tests/test_rule_examples.py` runs each example as one module (`check()` only); these tests lint small
multi-module projects with `engine.run`, which is what `ckptlint check` does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ckptlint.lint.config import ConfigResolver
from ckptlint.lint.engine import Options, run

TRAIN = """
import tensorflow as tf
from ckptlint_demo_model import build_model

CHECKPOINT_DIR = "checkpoints/run1"

def train(steps):
    model = build_model()
    optimizer = tf.keras.optimizers.Adam(1e-3)
    ckpt = tf.train.Checkpoint({keys})
    manager = tf.train.CheckpointManager(ckpt, CHECKPOINT_DIR, max_to_keep=3)
    for step in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        manager.save()
"""

EVALUATE = """
import tensorflow as tf
from train import CHECKPOINT_DIR
from ckptlint_demo_model import build_model

def evaluate():
    model = build_model()
    ckpt = tf.train.Checkpoint({keys})
    ckpt.restore(tf.train.latest_checkpoint(CHECKPOINT_DIR)){suffix}{comment}
    return model
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def _check(root: Path, select=("CKPT203",)):
    resolver = ConfigResolver(default_root=root)
    result = run([str(root)], resolver, Options(select=list(select), use_cache=False, jobs=1))
    return [f for f in result.findings if any(f.code.startswith(s) for s in select)]


def _project(root: Path, train_keys: str, eval_keys: str, suffix: str = "", comment: str = "",
             subdir: str = "") -> None:
    _write(root, {
        f"{subdir}train.py": TRAIN.format(keys=train_keys),
        f"{subdir}evaluate.py": EVALUATE.format(keys=eval_keys, suffix=suffix, comment=comment),
    })


def test_mismatch_across_modules_reports_both_places(tmp_path):
    _project(tmp_path, "net=model, optimizer=optimizer", "model=model")
    findings = _check(tmp_path)
    assert len(findings) == 1
    finding = findings[0]
    assert Path(finding.location.path).name == "evaluate.py"
    assert finding.location.line == 8
    assert "`model`" in finding.message and "rename `model=` to `net=`" not in finding.message  # 2 extra keys
    (related,) = finding.related
    assert Path(related.location.path).name == "train.py"
    assert related.location.line == 16  # manager.save()
    assert "`net`, `optimizer`" in related.message


def test_single_rename_gets_a_hint(tmp_path):
    _project(tmp_path, "net=model", "model=model")
    (finding,) = _check(tmp_path)
    assert "rename `model=` to `net=`" in finding.message


def test_matching_or_subset_keys_are_silent(tmp_path):
    _project(tmp_path, "model=model, optimizer=optimizer", "model=model", suffix=".expect_partial()")
    assert _check(tmp_path) == []
    _project(tmp_path, "model=model, optimizer=optimizer", "model=model")
    assert _check(tmp_path) == []


def test_suppression_comment_on_the_restore_line_is_honoured(tmp_path):
    _project(tmp_path, "net=model", "model=model", comment="  # ckptlint: disable=CKPT203")
    assert _check(tmp_path) == []


def test_different_directory_is_not_compared(tmp_path):
    _project(tmp_path, "net=model", "model=model")
    evaluate = tmp_path / "evaluate.py"
    evaluate.write_text(evaluate.read_text().replace("from train import CHECKPOINT_DIR\n",
                                                     'CHECKPOINT_DIR = "pretrained"\n'))
    assert _check(tmp_path) == []


def test_twin_projects_in_one_run_match_their_own_writes(tmp_path):
    """buggy/ and fixed/ both write `checkpoints/run1`; each restore is compared with its sibling."""
    _project(tmp_path, "net=model", "model=model", subdir="buggy/")
    _project(tmp_path, "net=model", "net=model", subdir="fixed/")
    findings = _check(tmp_path)
    assert [Path(f.location.path).parent.name for f in findings] == ["buggy"]
    assert Path(findings[0].related[0].location.path).parent.name == "buggy"


def test_same_module_pairs_are_reported_once(tmp_path):
    _write(tmp_path, {"solo.py": """
        import tensorflow as tf
        def train(model):
            tf.train.Checkpoint(net=model).save("/tmp/solo/ckpt")
        def evaluate(model):
            tf.train.Checkpoint(model=model).restore("/tmp/solo/ckpt-1")
    """})
    findings = _check(tmp_path)
    assert [(Path(f.location.path).name, f.location.line) for f in findings] == [("solo.py", 5)]


@pytest.mark.parametrize("select", [("CKPT203",), ("CKPT",)])
def test_key_mismatch_sample_project(select):
    """The two-module sample: linted alone or with every rule, only the buggy resume.py is flagged."""
    root = Path(__file__).resolve().parents[1] / "sample_projects" / "key_mismatch"
    if not root.exists():
        pytest.skip("sample project not present")
    findings = [f for f in _check(root, select=select) if f.code == "CKPT203"]
    assert [(Path(f.location.path).parent.name, Path(f.location.path).name) for f in findings] == [("buggy", "resume.py")]


def test_suppressions_are_read_only_where_a_project_finding_may_land():
    """CKPT203 puts findings at restores, and at writes when a file is named with its project as context
    (a pre-commit hook given the save side alone): a module with neither cannot hold one, and its
    comments are not tokenized for the summary's sake (a finding of its own still reads them)."""
    from ckptlint.lint.engine import lint_text
    from ckptlint.lint.sources import Source

    plain = lint_text("m.py", Source("import tensorflow as tf\nckpt = tf.train.Checkpoint(model=model)\n"), ("CKPT203",))
    assert plain.findings == [] and plain.summaries["CKPT203"][1] is None
    writing = lint_text("train.py", Source(TRAIN.format(keys="model=model")), ("CKPT203",))
    assert writing.summaries["CKPT203"][1] is not None
    restoring = lint_text("evaluate.py", Source(EVALUATE.format(keys="model=model", suffix="", comment="")), ("CKPT203",))
    assert restoring.summaries["CKPT203"][1] is not None
