"""Exit codes that cannot lie: a fault of ckptlint itself, injected in every phase of a run, is exit code 2
with one line naming the file (or the paths) and the phase, never a traceback, never 0 or 1. Driven
through the real entry point (`ckptlint.cli.main`), in one process and through the worker pool (whose
forked workers inherit the injected fault)."""

from __future__ import annotations

import json
import os

import libcst
import pytest

import ckptlint.atomic_write
import ckptlint.report
from ckptlint.cli import main
from ckptlint.lint import engine, guard, suppressions
from ckptlint.lint.cache import Cache
from ckptlint.lint.positions import Locator
from ckptlint.lint.registry import all_rules, rule_by_code
from ckptlint.model import ModuleModel

# A module every rule reads: the prefilter keeps it, the model has checkpoints, optimizers and training.
SOURCE = """\
import tensorflow as tf
model = tf.keras.Sequential()
opt = tf.keras.optimizers.Adam()
other = tf.keras.optimizers.Adam()
slots = {o.name: o for o in (opt, other)}  # keyed by name: CKPT301 (fixable)
model.compile(optimizer=opt)
ckpt = tf.train.Checkpoint(model=model)
manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3)
ckpt.restore(manager.latest_checkpoint)
step = tf.Variable(0)
for epoch in range(3):
    model.fit(x, y)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    ckpt.save("/tmp/run/ckpt")
    model.save_weights("w.h5")
    model.save("m.h5")
model.load_weights("w.h5")
tf.keras.callbacks.BackupAndRestore("/tmp/backup")
tf.train.Checkpoint(model=model).write(prefix)
"""
MARK = "# the file with the fault"
FAULT = RuntimeError("injected fault")


def _raise(*_args, **_kwargs):
    raise FAULT


def _fail_on_marked(real):
    """A stand-in for `real` that fails on the marked file's text only (libcst's guard parses a probe)."""

    def stand_in(text, *args, **kwargs):
        if MARK in text:
            raise FAULT
        return real(text, *args, **kwargs)

    return stand_in


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for index in range(9):  # enough files for the pool with --jobs 2
        (tmp_path / f"m{index}.py").write_text(SOURCE)
    (tmp_path / "target.py").write_text(MARK + "\n" + SOURCE)
    return tmp_path


def _run(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(["check", "--no-cache", "--format", "json", *args, "."])
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


def _assert_one_line(code: int, err: list[str], *words: str) -> None:
    assert code == 2, err
    errors = [line for line in err if line.startswith("ckptlint: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    for word in words:
        assert word in errors[0], (word, errors[0])


PER_FILE_PHASES = {
    "read": (lambda mp: mp.setattr(engine, "read_regular_file",
                                   lambda path, size: _raise() if str(path).endswith("target.py") else _real_read(path, size)),
             "while reading"),
    "decode": (lambda mp: mp.setattr(engine, "decode",
                                     lambda path, data: _raise() if path.name == "target.py" else _real_decode(path, data)),
               "while decoding"),
    "guard": (lambda mp: mp.setattr(guard, "check", _fail_on_marked(guard.check)), "while checking the nesting"),
    "parse": (lambda mp: mp.setattr(libcst, "parse_module", _fail_on_marked(libcst.parse_module)), "while parsing"),
    "model": (lambda mp: mp.setattr(ModuleModel, "build", classmethod(
        lambda cls, module, imports=None: _raise() if MARK in module.code else _real_build(module, imports))), "while building the semantic model"),
    "positions": (lambda mp: mp.setattr(Locator, "location", lambda self, node: _raise() if self.path.endswith("target.py")
                                        else _real_location(self, node)), "in CKPT"),
    "suppressions": (lambda mp: mp.setattr(suppressions, "parse", _fail_on_marked(suppressions.parse)),
                     "while reading suppressions"),
}
_real_read = engine.read_regular_file
_real_decode = engine.decode
_real_build = ModuleModel.build
_real_location = Locator.location


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("phase_name", sorted(PER_FILE_PHASES))
def test_a_fault_in_a_per_file_phase(project, monkeypatch, capsys, phase_name, jobs):
    inject, words = PER_FILE_PHASES[phase_name]
    inject(monkeypatch)
    code, err, out = _run(capsys, "--jobs", jobs)
    _assert_one_line(code, err, "target.py", words)
    findings = json.loads(out)
    assert {f["filename"] for f in findings} >= {f"m{i}.py" for i in range(9)}  # the run went on


@pytest.mark.parametrize("code_of_rule", sorted(rule.code for rule in all_rules()))
def test_a_fault_in_each_rule(project, monkeypatch, capsys, code_of_rule):
    rule = rule_by_code(code_of_rule)
    real = rule.check

    def check(self, module):
        if MARK in module.module.code:
            raise FAULT
        return real(self, module)

    monkeypatch.setattr(rule, "check", check)
    code, err, out = _run(capsys, "--jobs", "1", "--select", "ALL")
    _assert_one_line(code, err, "target.py", f"in {code_of_rule}", "injected fault")
    assert json.loads(out)  # the other rules and files still report


def test_a_fault_in_the_project_pass(project, monkeypatch, capsys):
    monkeypatch.setattr(rule_by_code("CKPT203"), "check_project", _raise)
    code, err, _ = _run(capsys, "--jobs", "2")
    _assert_one_line(code, err, "CKPT203", "project pass")


def test_a_fault_in_discovery(project, monkeypatch, capsys):
    monkeypatch.setattr(engine, "discover", _raise)
    code, err, _ = _run(capsys)
    _assert_one_line(code, err, "while finding the files to lint in .", "injected fault")


def test_a_fault_in_the_report(project, monkeypatch, capsys):
    monkeypatch.setattr(ckptlint.report, "render", _raise)
    code, err, _ = _run(capsys)
    _assert_one_line(code, err, "while rendering the json report")


def test_a_fault_while_writing_the_report(project, monkeypatch, capsys):
    monkeypatch.setattr(ckptlint.atomic_write, "write_atomically", _raise)
    code, err, _ = _run(capsys, "-o", "report.json")
    _assert_one_line(code, err, "while writing --output-file report.json")


def test_a_fault_in_the_cache(project, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(Cache, "put", _raise)
    code = main(["check", "--format", "json", "--jobs", "1", "--cache-dir", str(tmp_path / "c"), "target.py"])
    err = capsys.readouterr().err.splitlines()
    _assert_one_line(code, err, "target.py", "while writing the cache")


def test_a_fault_while_fixing_and_while_writing_the_fix(project, monkeypatch, capsys):
    from ckptlint.lint.fix import apply, write

    monkeypatch.setattr(apply, "plan_file", lambda path, *a, **k: _raise() if path.endswith("target.py")
                        else _real_plan(path, *a, **k))
    code = main(["check", "--no-cache", "--jobs", "1", "--diff", "."])
    _assert_one_line(code, capsys.readouterr().err.splitlines(), "target.py", "while fixing it")
    monkeypatch.undo()
    monkeypatch.chdir(project)
    monkeypatch.setattr(write, "write_plan", lambda plan: _raise() if plan.path.endswith("target.py") else _real_write(plan))
    code = main(["check", "--no-cache", "--jobs", "1", "--fix", "."])
    _assert_one_line(code, capsys.readouterr().err.splitlines(), "target.py", "while writing the fixed file")


from ckptlint.lint.fix.apply import plan_file as _real_plan  # noqa: E402  (the real ones, before any patch)
from ckptlint.lint.fix.write import write_plan as _real_write  # noqa: E402


def test_verbose_adds_the_traceback(project, monkeypatch, capsys):
    monkeypatch.setattr(libcst, "parse_module", _fail_on_marked(libcst.parse_module))
    code = main(["check", "--no-cache", "--jobs", "1", "--verbose", "target.py"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" in err and "RuntimeError: injected fault" in err


def test_an_unexpected_failure_outside_the_engine_is_still_one_line(monkeypatch, capsys, tmp_path):
    from ckptlint.lint import command

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(command, "_exit_code", _raise)
    (tmp_path / "a.py").write_text("x = 1\n")
    code = main(["check", "--no-cache", "a.py"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err == ["ckptlint: error: internal error: RuntimeError('injected fault') (please report it; "
                                 "--verbose prints the traceback)"]


def test_findings_and_a_failure_together_exit_two_even_with_exit_zero(project, monkeypatch, capsys):
    monkeypatch.setattr(libcst, "parse_module", _fail_on_marked(libcst.parse_module))
    code, err, out = _run(capsys, "--jobs", "1", "--exit-zero")
    assert json.loads(out) and code == 2


def test_no_fault_no_error(project, capsys):
    code, err, out = _run(capsys, "--jobs", "2")
    assert code == 1 and err == [] and json.loads(out)
    assert os.path.exists("target.py")


@pytest.mark.parametrize("argv", [
    ["verify", "--kill-in-save", "inf", "--", "python", "train.py"],
    ["check", "--jobs", "x", "."],
    ["check", "--no-such-option"],
    ["inspect"],
    ["chek", "."],
], ids=["bad-int", "bad-jobs", "unknown-option", "missing-path", "unknown-command"])
def test_a_usage_error_is_one_line_and_exit_two(capsys, argv):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    captured = capsys.readouterr()
    assert stopped.value.code == 2 and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ckptlint: error: ") and "--help" in lines[0], captured.err
