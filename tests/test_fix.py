"""Autofix (`ckptlint check --fix / --unsafe-fixes / --diff`): the fixes themselves, the passes, and the
guarantees on the files written: they parse, a second run changes nothing, fixed findings are gone and no
new one appears, writes are atomic and keep mode, encoding, BOM and line endings, notebooks are fixed
cell by cell, a file changed on disk is left alone, and --diff writes nothing."""

from __future__ import annotations

import codecs
import json
import os
import stat
import textwrap
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest

from ckptlint.cli import main
from ckptlint.lint.engine import lint_text
from ckptlint.lint.sources import Source, read_source
from ckptlint.lint.fix.apply import MAX_PASSES, fix_text, plan_file, select_non_overlapping
from ckptlint.lint.fix.edits import add_keyword_arg, insert_before, replace_keyword, statement_of
from ckptlint.lint.fix.write import NotebookFile, read_for_fix, write_plan
from ckptlint.lint.registry import all_rules
from ckptlint.lint.rule import Fix
from cli_helpers import run_ckptlint

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fix"
ALL_CODES = tuple(sorted(rule.code for rule in all_rules()))
FIXABLE_RULES = [rule for rule in all_rules() if rule.fix_safety]

MISSING_OPTIMIZER = """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam()
# the checkpoint
ckpt = tf.train.Checkpoint(model=model)  # written every step
for step in range(100):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    ckpt.save("/tmp/ckpt/ckpt")
"""
FIXED_MISSING_OPTIMIZER = MISSING_OPTIMIZER.replace(
    "Checkpoint(model=model)", "Checkpoint(model=model, optimizer=optimizer)")

UNNAMED = """\
import tensorflow as tf
generator_optimizer = tf.keras.optimizers.Adam(1e-4)
discriminator_optimizer = tf.keras.optimizers.Adam(
    1e-4,
    beta_1=0.5,
)
by_name = {opt.name: opt for opt in (generator_optimizer, discriminator_optimizer)}
"""


def lint(text: str, codes=ALL_CODES):
    return lint_text("t.py", Source(text), codes, with_fixes=True)


def fix(text: str, *, unsafe: bool = False, codes=ALL_CODES):
    return fix_text("t.py", text, codes, unsafe=unsafe)


def identities(findings) -> Counter:
    return Counter((f.code, f.message) for f in findings)


# ---- the editing helpers keep layout and comments ------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("f()", "f(k=v)"),
        ("f(a, b=1)", "f(a, b=1, k=v)"),
        ("f(\n    a,\n    b=1,\n)", "f(\n    a,\n    b=1,\n    k=v,\n)"),
        ("f(\n    a,\n)", "f(\n    a,\n    k=v,\n)"),
        ("f(a,\n  b)", "f(a,\n  b,\n  k=v)"),
        ("f(a,  # why a\n  b)", "f(a,  # why a\n  b,\n  k=v)"),
        ("f(  # args\n    a,\n)", "f(  # args\n    a,\n    k=v,\n)"),
    ],
)
def test_add_keyword_arg_follows_the_call_layout(source, expected):
    call = cst.parse_expression(source)
    new = add_keyword_arg(call, "k", cst.Name("v"))
    assert cst.Module([]).code_for_node(new) == expected


def test_replace_keyword_keeps_value_and_comments():
    call = cst.parse_expression("ckpt.save(checkpoint_prefix=prefix  # where\n)")
    assert cst.Module([]).code_for_node(replace_keyword(call, "checkpoint_prefix", "file_prefix")) == \
        "ckpt.save(file_prefix=prefix  # where\n)"


def test_insert_before_moves_the_comment_above_the_inserted_statement():
    module = cst.parse_module("def f():\n    x = 1\n\n    # load\n    model.load_weights(p)\n")
    call = module.body[0].body.body[1].body[0].value
    statement = statement_of(module, call)
    assert isinstance(statement, cst.SimpleStatementLine)
    new = cst.parse_statement("model.optimizer.build(model.trainable_variables)\n")

    class _Put(cst.CSTTransformer):
        def on_leave(self, original, updated):
            return insert_before(original, [new]) if original is statement else updated

    assert module.visit(_Put()).code == (
        "def f():\n    x = 1\n\n    # load\n    model.optimizer.build(model.trainable_variables)\n"
        "    model.load_weights(p)\n")


# ---- CKPT101: add the optimizer to the checkpoint -----------------------------------------------------
def test_ckpt101_fix_adds_the_optimizer_keeping_the_comments():
    result = fix(MISSING_OPTIMIZER, unsafe=True)
    assert result.text == FIXED_MISSING_OPTIMIZER
    assert result.applied == 1 and result.findings == []


def test_ckpt101_fix_in_a_class_uses_self_attribute_from_init():
    source = textwrap.dedent("""\
        import tensorflow as tf
        class Trainer:
            def __init__(self, model):
                self.model = model
                self.opt = tf.keras.optimizers.Adam()
            def step(self, grads):
                self.opt.apply_gradients(zip(grads, self.model.trainable_variables))
            def save(self, directory):
                ckpt = tf.train.Checkpoint(net=self.model)
                ckpt.write(directory)
        """)
    result = fix(source, unsafe=True)
    assert "tf.train.Checkpoint(net=self.model, optimizer=self.opt)" in result.text
    assert [f.code for f in result.findings] == []


@pytest.mark.parametrize(
    "source",
    [
        # The optimizer is bound after the checkpoint is built: naming it there would raise NameError.
        """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
ckpt = tf.train.Checkpoint(model=model)
optimizer = tf.keras.optimizers.Adam()
optimizer.apply_gradients(zip(grads, model.trainable_variables))
ckpt.save("/tmp/c")
""",
        # In __init__ before self.opt is assigned: AttributeError at construction.
        """\
import tensorflow as tf
class T:
    def __init__(self, model):
        self.model = model
        self.ckpt = tf.train.Checkpoint(model=self.model)
        self.opt = tf.keras.optimizers.Adam()
    def step(self, grads):
        self.opt.apply_gradients(zip(grads, self.model.trainable_variables))
        self.ckpt.save("/tmp/c")
""",
    ],
)
def test_ckpt101_no_fix_when_the_optimizer_is_not_bound_yet(source):
    outcome = lint(source)
    assert [f.code for f in outcome.findings] == ["CKPT101"]
    assert not outcome.findings[0].fixable and outcome.fixes == []


def test_ckpt101_two_optimizers_one_checkpoint_are_fixed_in_two_passes_with_distinct_keywords():
    source = textwrap.dedent("""\
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        opt_a = tf.keras.optimizers.Adam(name="a")
        opt_b = tf.keras.optimizers.SGD(name="b")
        ckpt = tf.train.Checkpoint(model=model)
        def step(grads):
            opt_a.apply_gradients(zip(grads, model.trainable_variables))
            opt_b.apply_gradients(zip(grads, model.trainable_variables))
        ckpt.save("/tmp/c")
        """)
    before = lint(source)
    assert [f.code for f in before.findings] == ["CKPT101", "CKPT101"]
    taken, deferred = select_non_overlapping([fix for _f, fix in before.fixes])
    assert len(taken) == 1 and len(deferred) == 1  # same target: the second waits for the next pass
    result = fix(source, unsafe=True)
    assert "tf.train.Checkpoint(model=model, optimizer=opt_a, opt_b=opt_b)" in result.text
    assert result.applied == 2 and result.findings == []


def test_suppressed_findings_are_not_fixed():
    source = MISSING_OPTIMIZER.replace("# written every step", "# noqa: CKPT101")
    result = fix(source, unsafe=True)
    assert result.text == source and result.applied == 0


# ---- CKPT301: name each optimizer after its binding -----------------------------------------------------
def test_ckpt301_fix_names_each_optimizer_after_its_binding():
    result = fix(UNNAMED)
    assert result.text == UNNAMED.replace("Adam(1e-4)", 'Adam(1e-4, name="generator_optimizer")').replace(
        "    beta_1=0.5,\n)", '    beta_1=0.5,\n    name="discriminator_optimizer",\n)')
    assert result.findings == []


def test_ckpt301_names_are_unique_in_the_scope_and_a_repeated_explicit_name_is_left_to_the_author():
    source = textwrap.dedent("""\
        from keras.optimizers import Adam, RMSprop, SGD
        class GAN:
            def __init__(self):
                self.g_opt = Adam(name="d_opt")
                self.d_opt = RMSprop()
                self.e_opt = SGD(name="d_opt")
            def slots(self):
                return {o.name: o.variables for o in (self.g_opt, self.d_opt, self.e_opt)}
        """)
    outcome = lint(source)
    fixable = {f.source_line.strip(): f.fixable for f in outcome.findings}
    assert fixable == {"self.d_opt = RMSprop()": True, 'self.e_opt = SGD(name="d_opt")': False}
    result = fix(source)
    assert 'self.d_opt = RMSprop(name="d_opt_2")' in result.text
    assert [f.code for f in result.findings] == ["CKPT301"]  # the repeated explicit name remains


# ---- every rule with a fix: the fixed examples parse, the finding goes, nothing new appears, idempotent --
@pytest.mark.parametrize("rule", FIXABLE_RULES, ids=lambda r: r.code)
def test_every_fix_on_the_rule_examples_parses_clears_its_finding_and_is_idempotent(rule):
    from ckptlint.lint.fix.apply import parses

    fixed_any = 0
    for example in rule.INVALID:
        source = textwrap.dedent(example.code).lstrip("\n")
        before = lint(source)
        for finding, fix_ in before.fixes:
            assert fix_.safe == (rule.fix_safety == "safe") or finding.code != rule.code, \
                f"{rule.code}: a Fix's `safe` must match the rule's fix_safety"
        result = fix(source, unsafe=True)
        if not result.applied:
            continue
        fixed_any += 1
        assert parses(result.text), result.text
        after = identities(lint(result.text).findings)
        assert not after - identities(before.findings), f"new finding after fixing:\n{result.text}"
        assert sum(after.values()) == sum(identities(before.findings).values()) - result.applied, result.text
        again = fix(result.text, unsafe=True)
        assert again.applied == 0 and again.text == result.text, "a second --fix changed the file"
    assert fixed_any, f"{rule.code} declares a fix but fixes none of its INVALID examples"


def test_rules_without_fix_safety_attach_no_fix():
    for rule in all_rules():
        if rule.fix_safety:
            continue
        for example in rule.INVALID:
            outcome = lint(textwrap.dedent(example.code).lstrip("\n"), codes=(rule.code,))
            assert outcome.fixes == [], f"{rule.code} attaches a fix but declares fix_safety=None"


# ---- passes, overlap, rejected fixes -------------------------------------------------------------------
def test_a_fix_that_would_add_a_finding_is_dropped_and_reported(monkeypatch):
    import ckptlint.rules.unnamed_multiple_optimizers as rule_module

    def same_name(call, taken):
        return Fix(call.node, add_keyword_arg(call.node, "name", cst.SimpleString('"dup"')))

    monkeypatch.setattr(rule_module, "_name_fix", same_name)
    result = fix(UNNAMED)
    # Together the two fixes create "same name" findings; alone, the first is fine and is kept.
    assert result.text.count('name="dup"') == 1
    assert result.applied == 1
    assert any("CKPT301" in notice for notice in result.notices)


def test_a_fix_that_produces_invalid_code_is_never_applied(monkeypatch):
    import ckptlint.rules.checkpoint_missing_optimizer as rule_module

    def broken(module, fact, key, keyword):  # `ckpt = class`: libcst prints it, no parser accepts it
        return Fix(fact.call.node, cst.Name("class"))

    monkeypatch.setattr(rule_module, "_add_optimizer_fix", broken)
    result = fix(MISSING_OPTIMIZER, unsafe=True)
    assert result.text == MISSING_OPTIMIZER and result.applied == 0
    assert result.notices


def test_a_fix_that_does_not_clear_its_finding_is_dropped_instead_of_repeated(monkeypatch):
    import ckptlint.rules.unnamed_multiple_optimizers as rule_module

    def useless(call, taken):  # changes the code but leaves the optimizer unnamed
        return Fix(call.node, add_keyword_arg(call.node, "epsilon", cst.Float("1e-7")))

    monkeypatch.setattr(rule_module, "_name_fix", useless)
    result = fix(UNNAMED)
    assert result.text == UNNAMED and result.applied == 0
    assert result.notices == ["t.py: CKPT301 fix skipped: it would break the code, add a finding, or not clear "
                              "its own (please report this)"]


def test_unsafe_fixes_apply_only_when_asked(monkeypatch):
    import ckptlint.rules.unnamed_multiple_optimizers as rule_module

    original = rule_module._name_fix

    def unsafe(call, taken):
        made = original(call, taken)
        made.safe = False
        return made

    monkeypatch.setattr(rule_module, "_name_fix", unsafe)
    assert fix(UNNAMED, unsafe=False).applied == 0
    assert fix(UNNAMED, unsafe=True).applied == 2


def test_passes_are_bounded_for_fixes_that_keep_overlapping():
    # Seven optimizers train one model: seven fixes on the same Checkpoint call, one per pass.
    names = [f"opt{i}" for i in range(1, 8)]
    source = "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n" + "".join(
        f'{n} = tf.keras.optimizers.SGD(name="{n}")\n' for n in names) + \
        "ckpt = tf.train.Checkpoint(model=model)\ndef step(grads):\n" + "".join(
        f"    {n}.apply_gradients(zip(grads, model.trainable_variables))\n" for n in names) + \
        'ckpt.save("/tmp/c")\n'
    first = fix(source, unsafe=True)
    assert first.applied == MAX_PASSES
    assert [f.code for f in first.findings] == ["CKPT101"] * (len(names) - MAX_PASSES)
    second = fix(first.text, unsafe=True)
    assert second.applied == len(names) - MAX_PASSES and second.findings == []
    assert "tf.train.Checkpoint(model=model, optimizer=opt1, opt2=opt2, opt3=opt3" in second.text


# ---- files: encoding, BOM, line endings, mode, atomicity, changes on disk --------------------------------
def _plan_and_write(path: Path):
    plan = plan_file(str(path), ALL_CODES, unsafe=True, max_size=10**7)
    assert plan.changed, plan.notices
    assert write_plan(plan) is None
    return plan


def test_pep263_encoding_is_kept(tmp_path):
    text = "# -*- coding: latin-1 -*-\n# Modèle entraîné\n" + MISSING_OPTIMIZER
    path = tmp_path / "train.py"
    path.write_bytes(text.encode("latin-1"))
    _plan_and_write(path)
    data = path.read_bytes()
    assert data == ("# -*- coding: latin-1 -*-\n# Modèle entraîné\n" + FIXED_MISSING_OPTIMIZER).encode("latin-1")


def test_bom_and_crlf_are_kept(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(codecs.BOM_UTF8 + MISSING_OPTIMIZER.replace("\n", "\r\n").encode("utf-8"))
    _plan_and_write(path)
    data = path.read_bytes()
    assert data == codecs.BOM_UTF8 + FIXED_MISSING_OPTIMIZER.replace("\n", "\r\n").encode("utf-8")


def test_crlf_is_used_for_inserted_lines(tmp_path):
    # add_keyword_arg on a one-argument-per-line call adds a line: it must end in CRLF too.
    path = tmp_path / "opt.py"
    path.write_bytes(UNNAMED.replace("\n", "\r\n").encode())
    _plan_and_write(path)
    data = path.read_bytes()
    assert b'    name="discriminator_optimizer",\r\n' in data
    assert data.count(b"\n") == data.count(b"\r\n")


def test_write_is_atomic_keeps_mode_and_symlinks_and_leaves_no_temp_file(tmp_path):
    real = tmp_path / "real.py"
    real.write_text(MISSING_OPTIMIZER)
    os.chmod(real, 0o640)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    _plan_and_write(link)
    assert link.is_symlink() and real.read_text() == FIXED_MISSING_OPTIMIZER
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "real.py"]


def test_file_changed_on_disk_after_reading_is_not_overwritten(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(MISSING_OPTIMIZER)
    plan = plan_file(str(path), ALL_CODES, unsafe=True, max_size=10**7)
    assert plan.changed
    edited = MISSING_OPTIMIZER + "print('edited meanwhile')\n"
    path.write_text(edited)
    notice = write_plan(plan)
    assert notice == f"{path}: changed on disk since it was read; not overwritten"
    assert path.read_text() == edited
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]


# ---- notebooks: cell by cell --------------------------------------------------------------------------
def _cells(data: bytes) -> list[dict]:
    return json.loads(data.decode("utf-8"))["cells"]


def test_notebook_fix_changes_only_the_fixed_cell_source(tmp_path):
    path = tmp_path / "train.ipynb"
    original = (FIXTURES / "train_notebook.ipynb").read_bytes()
    path.write_bytes(original)
    plan = _plan_and_write(path)
    new = path.read_bytes()
    before, after = _cells(original), _cells(new)
    assert len(before) == len(after)
    for index, (old_cell, new_cell) in enumerate(zip(before, after)):
        if index == 3:
            assert {k: v for k, v in old_cell.items() if k != "source"} == \
                   {k: v for k, v in new_cell.items() if k != "source"}  # outputs, metadata, count
            assert "".join(new_cell["source"]) == "".join(old_cell["source"]).replace(
                "Checkpoint(model=model)", "Checkpoint(model=model, optimizer=optimizer)")
            assert "%time ckpt\n" in new_cell["source"]  # the blanked magic came back
        else:
            assert old_cell == new_cell
    # Byte level: everything outside the one changed line is identical.
    old_lines, new_lines = original.split(b"\n"), new.split(b"\n")
    assert len(old_lines) == len(new_lines)
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b] == \
           [i for i, line in enumerate(old_lines) if b"Checkpoint(model=model)" in line]
    assert "train.ipynb:cell_4" in plan.diff
    assert fix_text(str(path), read_for_fix(path, 10**7).fix_text, ALL_CODES, unsafe=True).applied == 0


def test_notebook_with_string_sources_and_compact_json_keeps_its_style(tmp_path):
    notebook = {"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n"
                   "optimizer = tf.keras.optimizers.Adam()"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": MISSING_OPTIMIZER.split("# the checkpoint\n", 1)[1]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "compact.ipynb"
    original = json.dumps(notebook)
    path.write_text(original, encoding="utf-8")
    _plan_and_write(path)
    text = path.read_text(encoding="utf-8")
    old_source = json.dumps(notebook["cells"][1]["source"])
    new_source = old_source.replace("Checkpoint(model=model)", "Checkpoint(model=model, optimizer=optimizer)")
    assert text == original.replace(old_source, new_source)


def test_notebook_lines_added_by_a_fix_stay_in_their_cell_and_magics_come_back(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_bytes((FIXTURES / "train_notebook.ipynb").read_bytes())
    handle = read_for_fix(path, 10**7)
    assert isinstance(handle, NotebookFile)
    # What a statement-inserting fix does to the joined module: two lines more in cell 4.
    new_text = handle.fix_text.replace("ckpt = tf.train.Checkpoint(model=model)  # keep\n",
                                       "opt_built = True\nckpt = tf.train.Checkpoint(model=model)  # keep\nz = 2\n")
    assert handle.cell_starts_of(new_text)[-1][1] == handle.cell_starts_of(handle.fix_text)[-1][1] + 2
    data, diff = handle.render(new_text)
    cells = _cells(data)
    original = _cells(path.read_bytes())
    assert cells[:3] == original[:3] and cells[4] == original[4]
    assert cells[3]["source"][:5] == [
        "# the checkpoint, written every step\n", "opt_built = True\n",
        "ckpt = tf.train.Checkpoint(model=model)  # keep\n", "z = 2\n", "%time ckpt\n"]
    assert cells[3]["outputs"] == original[3]["outputs"]
    assert "+opt_built = True" in diff


def test_notebook_fix_that_touches_a_magic_line_is_refused(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_bytes((FIXTURES / "train_notebook.ipynb").read_bytes())
    handle = read_for_fix(path, 10**7)
    # `%time ckpt` is read as a statement that does nothing; a fix rewriting that line is refused.
    assert "# keep\npass\n" in handle.fix_text
    new_text = handle.fix_text.replace("ckpt = tf.train.Checkpoint(model=model)  # keep\npass\n",
                                       "ckpt = tf.train.Checkpoint(model=model)  # keep\nq = 1\n")
    from ckptlint.lint.fix.write import UnfixableFile

    with pytest.raises(UnfixableFile, match="magic"):
        handle.render(new_text)


def test_notebook_joined_text_lints_like_the_engine(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_bytes((FIXTURES / "train_notebook.ipynb").read_bytes())
    handle = read_for_fix(path, 10**7)
    plain = read_source(path, 10**7)
    ours = lint_text(str(path), Source(handle.fix_text, handle.cell_starts_of(handle.fix_text)), ALL_CODES)
    theirs = lint_text(str(path), plain, ALL_CODES)
    assert [(f.code, f.location) for f in ours.findings] == [(f.code, f.location) for f in theirs.findings]


# ---- the command line ------------------------------------------------------------------------------------
def _check(monkeypatch, capsys, cwd: Path, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(["check", "--no-cache", "--jobs", "1", *args])
    out, err = capsys.readouterr()
    return code, out, err


UNFIXABLE = """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
ckpt = tf.train.Checkpoint(model=model)
optimizer = tf.keras.optimizers.Adam()
optimizer.apply_gradients(zip(grads, model.trainable_variables))
ckpt.save("/tmp/c")
"""


def test_check_marks_fixable_findings_and_hints_at_fix(monkeypatch, capsys, tmp_path):
    (tmp_path / "a.py").write_text(MISSING_OPTIMIZER)
    (tmp_path / "b.py").write_text(UNFIXABLE)
    code, out, _ = _check(monkeypatch, capsys, tmp_path, "--unsafe-fixes", ".")
    assert code == 1
    assert "a.py:5:8: CKPT101 [*] [error]" in out
    assert "b.py:3:8: CKPT101 [error]" in out
    assert out.rstrip().endswith("[*] 1 fixable with the `--fix` option.")


def test_unsafe_fixes_are_hidden_without_the_flag(monkeypatch, capsys, tmp_path):
    from ckptlint.rules.unnamed_multiple_optimizers import UnnamedMultipleOptimizers

    from ckptlint.lint import catalogue

    monkeypatch.setattr(UnnamedMultipleOptimizers, "fix_safety", "unsafe")
    monkeypatch.setattr(catalogue, "records", catalogue.live_records)  # the report reads the catalogue
    (tmp_path / "a.py").write_text(UNNAMED)
    code, out, _ = _check(monkeypatch, capsys, tmp_path, ".")
    assert "[*]" not in out.split("Found")[0]
    assert "No fixes available (2 hidden fixes can be enabled with the `--unsafe-fixes` option)." in out
    code, out, _ = _check(monkeypatch, capsys, tmp_path, "--fix", ".")
    assert code == 1 and (tmp_path / "a.py").read_text() == UNNAMED
    code, out, _ = _check(monkeypatch, capsys, tmp_path, "--fix", "--unsafe-fixes", ".")
    assert code == 0 and 'name="generator_optimizer"' in (tmp_path / "a.py").read_text()
    assert "Fixed 2 findings (0 remaining)." in out


def test_fix_reports_what_remains_and_exits_one_until_nothing_remains(monkeypatch, capsys, tmp_path):
    (tmp_path / "a.py").write_text(MISSING_OPTIMIZER)
    (tmp_path / "b.py").write_text(UNFIXABLE)
    code, out, _ = _check(monkeypatch, capsys, tmp_path, "--fix", "--unsafe-fixes", ".")
    assert code == 1
    assert (tmp_path / "a.py").read_text() == FIXED_MISSING_OPTIMIZER
    assert (tmp_path / "b.py").read_text() == UNFIXABLE
    assert "b.py:3:8: CKPT101 [error]" in out and "a.py" not in out
    assert "Found 1 finding" in out and "Fixed 1 finding (1 remaining)." in out
    (tmp_path / "b.py").unlink()
    code, out, _ = _check(monkeypatch, capsys, tmp_path, "--fix", "--unsafe-fixes", ".")
    assert code == 0 and "All checks passed" in out and "Fixed 0 findings (0 remaining)." in out


def test_diff_prints_a_unified_diff_writes_nothing_and_exits_one(monkeypatch, capsys, tmp_path):
    path = tmp_path / "a.py"
    path.write_text(MISSING_OPTIMIZER)
    before = os.stat(path)
    code, out, err = _check(monkeypatch, capsys, tmp_path, "--diff", "--unsafe-fixes", ".")
    assert code == 1
    assert out.splitlines()[:2] == ["--- a.py", "+++ a.py"]
    assert "-ckpt = tf.train.Checkpoint(model=model)  # written every step" in out
    assert "+ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)  # written every step" in out
    assert "Would fix 1 finding (0 remaining)." in err
    assert path.read_text() == MISSING_OPTIMIZER and os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]
    path.write_text(UNFIXABLE)
    code, out, err = _check(monkeypatch, capsys, tmp_path, "--diff", "--unsafe-fixes", ".")
    assert code == 0 and out == "" and "Would fix 0 findings (1 remaining)." in err


def test_fix_with_json_output_keeps_the_report_valid(monkeypatch, capsys, tmp_path):
    (tmp_path / "a.py").write_text(MISSING_OPTIMIZER)
    (tmp_path / "b.py").write_text(UNFIXABLE)
    code, out, err = _check(monkeypatch, capsys, tmp_path, "--fix", "--unsafe-fixes", "--format", "json", ".")
    assert code == 1
    assert [f["filename"] for f in json.loads(out)] == ["b.py"]
    assert "Fixed 1 finding (1 remaining)." in err


def test_fix_from_the_real_command_line(tmp_path):
    (tmp_path / "nb.ipynb").write_bytes((FIXTURES / "train_notebook.ipynb").read_bytes())
    (tmp_path / "opt.py").write_text(UNNAMED)
    result = run_ckptlint("check", "--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 3 findings (0 remaining)." in result.stdout
    again = run_ckptlint("check", "--diff", "--unsafe-fixes", ".", cwd=tmp_path)  # with the cache this time
    assert again.returncode == 0 and again.stdout == ""
    assert run_ckptlint("check", "--fix", "--unsafe-fixes", ".", cwd=tmp_path).stdout.endswith("Fixed 0 findings (0 remaining).\n")


# ---- CKPT201 / 202 / 205 / 302 / 402 ---------------------------------------------------------------------
TRAINS = """\
for x, y in data:
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) - y)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
"""


@pytest.mark.parametrize(
    ("restore", "expected"),
    [
        # A name that may be None on a fresh start: guarded, comments kept above.
        ("# resume\nckpt.restore(path)\n",
         "# resume\nif path:\n    ckpt.restore(path).assert_existing_objects_matched()\n"),
        # Already guarded: chained only.
        ("if path is not None:\n    ckpt.restore(path)\n",
         "if path is not None:\n    ckpt.restore(path).assert_existing_objects_matched()\n"),
        # The else branch of `if path:` is not guarded by it.
        ("if path:\n    pass\nelse:\n    ckpt.restore(path)\n",
         "if path:\n    pass\nelse:\n    if path:\n        ckpt.restore(path).assert_existing_objects_matched()\n"),
        # A literal path cannot be None.
        ('ckpt.restore("/run/ckpt-3")\n', 'ckpt.restore("/run/ckpt-3").assert_existing_objects_matched()\n'),
        # An inline lookup is bound once to a new name.
        ('ckpt.restore(tf.train.latest_checkpoint("/run"))\n',
         'checkpoint_path = tf.train.latest_checkpoint("/run")\nif checkpoint_path:\n'
         '    ckpt.restore(checkpoint_path).assert_existing_objects_matched()\n'),
    ],
)
def test_ckpt201_fix_is_unsafe_and_guards_the_fresh_start(restore, expected):
    head = "import tensorflow as tf\nckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)\n" \
           "path = tf.train.latest_checkpoint('/run')\n"
    source = head + restore + TRAINS
    assert fix(source, unsafe=False).applied == 0
    result = fix(source, unsafe=True)
    assert result.text == head + expected + TRAINS
    assert result.findings == []


def test_ckpt202_fix_drops_the_file_name_from_the_join():
    source = textwrap.dedent("""\
        import os
        import tensorflow as tf
        def run(model, root, name):
            ckpt = tf.train.Checkpoint(model=model)
            latest = tf.train.latest_checkpoint(os.path.join(root, name, "ckpt"))
            if latest:
                ckpt.restore(latest).expect_partial()
            ckpt.write(os.path.join(root, name, "ckpt"))
        """)
    result = fix(source)
    assert "tf.train.latest_checkpoint(os.path.join(root, name))" in result.text
    assert result.findings == []


def test_ckpt205_fix_builds_the_optimizer_of_the_loading_model_in_its_block():
    source = textwrap.dedent("""\
        import keras
        WEIGHTS = "runs/last.weights.h5"
        class Trainer:
            def __init__(self):
                self.model = build_model()
                self.model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
            def save(self):
                self.model.save_weights(WEIGHTS)
            def restore(self, directory):
                if directory:
                    # weights and optimizer state
                    self.model.load_weights(WEIGHTS)
            def train(self, x, y):
                self.model.fit(x, y, epochs=1)
        """)
    assert [f.code for f in lint(source).findings] == ["CKPT205"]
    result = fix(source)
    assert ("        if directory:\n            # weights and optimizer state\n"
            "            self.model.optimizer.build(self.model.trainable_variables)\n"
            "            self.model.load_weights(") in result.text
    assert result.findings == []


def test_ckpt302_fix_only_for_the_inline_inner_save():
    source = textwrap.dedent("""\
        import tensorflow as tf
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
        manager = tf.train.CheckpointManager(ckpt, "/tmp/run", max_to_keep=3)
        for step in range(10):
            train_step()
            path = (ckpt.save(manager.save()))
        """)
    result = fix(source)
    assert "path = (manager.save())" in result.text and result.findings == []


def test_ckpt402_renames_only_an_unambiguous_keyword():
    source = textwrap.dedent("""\
        import tensorflow as tf
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
        ckpt.save(checkpoint_prefix="/tmp/run/ckpt")
        ckpt.save("/tmp/run/ckpt", file_prefix="/tmp/x")
        """)
    outcome = lint(source)
    fixable = [(f.location.line, f.fixable) for f in outcome.findings if f.code == "CKPT402"]
    assert (3, True) in fixable and all(not ok for line, ok in fixable if line != 3)
    result = fix(source)
    assert 'ckpt.save(file_prefix="/tmp/run/ckpt")' in result.text


def test_hiding_unsafe_fixes_keeps_the_internal_errors():
    from ckptlint.lint.findings import Finding, LintResult, Location, Severity
    from ckptlint.lint.fix.hints import mark_fixable

    finding = Finding("CKPT201", "m", Severity.ERROR, Location("a.py", 1, 1, 1, 1), fixable=True)
    result = LintResult([finding], 1, ["a notice"], ["a.py: internal error in CKPT999"])
    marked, hidden = mark_fixable(result, unsafe=False)
    assert hidden == 1 and not marked.findings[0].fixable
    assert marked.internal_errors == result.internal_errors and marked.notices == result.notices
