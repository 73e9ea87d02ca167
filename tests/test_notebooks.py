"""Notebooks: IPython's syntax read as IPython reads it (no false CKPT000 on valid IPython), one CKPT000
per cell that really does not parse (the other cells are still linted), `%%writefile` scripts linted as
modules of their own, every broken notebook shape a one-line CKPT001, and autofix cell by cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ckptlint.lint.engine import FileTask, lint_file
from ckptlint.lint.fix.apply import plan_file
from ckptlint.lint.fix.write import write_plan
from ckptlint.lint.ipython_syntax import split_lines, transform_cell
from ckptlint.lint.notebooks import read_notebook
from ckptlint.lint.catalogue import ENGINE_CODES
from ckptlint.lint.registry import all_rules
from cli_helpers import run_ckptlint

CODES = tuple(sorted({rule.code for rule in all_rules()} | set(ENGINE_CODES)))

# A training cell with one known finding: CKPT101 at line 4, column 8 (the Checkpoint call).
TRAIN = """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam()
ckpt = tf.train.Checkpoint(model=model)
for step in range(3):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    ckpt.save("/tmp/c/ckpt")
"""
FIXED_TRAIN = TRAIN.replace("Checkpoint(model=model)", "Checkpoint(model=model, optimizer=optimizer)")


def code(source, **extra) -> dict:
    if isinstance(source, str):
        source = source.splitlines(keepends=True)
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source, **extra}


def markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def notebook(*cells, metadata=None) -> str:
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return json.dumps({"cells": list(cells), "metadata": meta if metadata is None else metadata,
                       "nbformat": 4, "nbformat_minor": 5}, indent=1)


def lint(tmp_path: Path, text: str, name: str = "nb.ipynb", codes=CODES):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    outcome = lint_file(FileTask(str(path), codes, 10**7, "test"), None)
    assert outcome.internal_error is None, outcome.internal_error
    return sorted(outcome.findings, key=lambda finding: finding.sort_key)


def where(findings) -> list[tuple]:
    return sorted((f.code, f.location.cell, f.location.line, f.location.col) for f in findings)


def python_parses(text: str) -> bool:
    try:
        compile(text, "<cell>", "exec", 0x400, dont_inherit=True)
    except SyntaxError:
        return False
    return True


# ---- IPython's syntax, line for line ------------------------------------------------------------------
VALID_IPYTHON = {
    "shell escape": "!nvidia-smi",
    "captured shell": "!!ls",
    "line magic": "%matplotlib inline",
    "backslash-continued shell command": "!pip install -q \\\n    tensorflow \\\n    keras\nimport os",
    "backslash-continued magic": "%pip install \\\n    tensorflow",
    "shell output assigned": "files = !ls -l\nprint(files)",
    "shell output assigned, no space": "files =!ls",
    "magic output assigned": "result = %timeit -o sum(range(10))\nprint(result)",
    "uniformly indented cell": "    a = 1\n    if a:\n        b = 2",
    "tab-indented cell": "\tx = 1\n\ty = x",
    "comment ending in a question mark": "x = 1  # is this right?",
    "string ending in a question mark": "q = 'ready?'",
    "continuation line starting with %(": "msg = ('%(name)s'\n       %({'name': 'a'}))",
    "continuation line starting with !": "ok = (1\n      != 2)",
    "help suffix": "tf.train.Checkpoint?",
    "detailed help suffix": "tf.train.Checkpoint??",
    "help prefix": "?tf.train.Checkpoint",
    "magic help": "%timeit?",
    "shell escape inside a block": "if True:\n    !ls\nelse:\n    %pwd",
    "shell escape at the end of a block": "for i in range(2):\n    !echo $i",
    "quote in a shell command": "!echo it's fine\nx = 1",
    "unbalanced bracket in a shell command": "!echo (\nx = 1",
    "magic inside a triple-quoted string stays text": "doc = '''\n!ls\n%pwd\nfoo?\n'''",
    "line magic named after a cell magic": "x = 1\n%%time",
    "autoquote escapes": ",print a b\n;print a b\n/print 1",
    "interpreter prompts": ">>> x = 1\n>>> y = x",
    "IPython prompts": "In [1]: x = 1",
    "top-level await": "await asyncio.sleep(0)",
    "line separator inside a string": "x = 'a\u2028b'",
    "blank lines before a cell magic": "\n%%time\nx = 1",
}


@pytest.mark.parametrize("source", VALID_IPYTHON.values(), ids=VALID_IPYTHON.keys())
def test_valid_ipython_becomes_python_line_for_line(source):
    cell = transform_cell(source)
    assert len(cell.lines) == len(split_lines(source)) == source.count("\n") + 1
    if cell.magic is None:
        assert python_parses(cell.text), cell.lines
    else:  # a cell magic's body is the magic's: see the cell magic tests
        assert cell.magic.name == "time"


def test_assigned_commands_keep_their_target_and_columns():
    cell = transform_cell("files = !ls -l\nt = %time f()\nresult.x[0] = !!cat a")
    assert cell.lines == ("files = None", "t = None", "result.x[0] = None")
    assert cell.rewritten == frozenset({0, 1, 2})


def test_a_command_runs_on_over_backslash_lines_only():
    cell = transform_cell("!pip install \\\n  a \\\n  b\nc = 1\n!echo (\nd = 2")
    assert cell.lines == ("pass", "", "", "c = 1", "pass", "d = 2")
    assert cell.ipython_lines == 4  # IPython joins the continued lines into one


def test_python_inside_brackets_strings_and_comments_is_never_ipython():
    source = "s = ('%(a)s'\n     %(d))\nt = '''\n!ls\n'''\nu = 1  # why?\nv = (2\n     != 3)"
    cell = transform_cell(source)
    assert cell.lines == tuple(source.split("\n")) and not cell.rewritten


def test_operators_at_a_line_start_are_not_commands():
    cell = transform_cell("x = (1\n// 2)\n!=3")
    assert cell.lines[2] == "!=3" and not python_parses(cell.text)


def test_help_needs_a_name_before_the_question_mark():
    assert transform_cell("model.fit?").lines == ("pass",)
    assert transform_cell("x = 1?").lines == ("x = 1?",)  # IPython cannot read it either: Python rejects it


def test_dedent_records_the_columns_it_removes():
    cell = transform_cell("  a = 1\n  if a:\n      b = 2\n")
    assert cell.lines == ("a = 1", "if a:", "    b = 2") and cell.shifts == (2, 2, 2)
    assert cell.indent == "  "


def test_cell_magic_only_on_the_first_line():
    assert transform_cell("%%writefile a.py\nx = 1").magic.name == "writefile"
    assert transform_cell("x = 1\n%%writefile a.py").magic is None


# ---- notebooks: no false CKPT000 ----------------------------------------------------------------------
@pytest.mark.parametrize("source", VALID_IPYTHON.values(), ids=VALID_IPYTHON.keys())
def test_valid_ipython_cells_give_no_syntax_error_and_the_notebook_is_linted(tmp_path, source):
    findings = lint(tmp_path, notebook(markdown("# Train"), code(TRAIN), code(source)))
    assert where(findings) == [("CKPT101", 2, 4, 8)]


@pytest.mark.parametrize("line", ["pip install tensorflow-datasets", "ls data", "cd /content", "pwd",
                                  "load_ext tensorboard", "matplotlib inline", "   pip install x", "pip install x\n"])
def test_one_line_automagic_cells_are_magics(tmp_path, line):
    findings = lint(tmp_path, notebook(code(TRAIN), code(line), code("\n" + line)))
    assert where(findings) == [("CKPT101", 1, 4, 8)]


def test_automagic_of_an_extension_the_notebook_loads(tmp_path):
    loaded = lint(tmp_path, notebook(code(TRAIN), code("%load_ext tensorboard"), code("tensorboard --logdir logs")))
    assert where(loaded) == [("CKPT101", 1, 4, 8)]
    not_loaded = lint(tmp_path, notebook(code(TRAIN), code("tensorboard --logdir logs")), name="other.ipynb")
    assert where(not_loaded) == [("CKPT000", 2, 1, 22), ("CKPT101", 1, 4, 8)]


def test_a_name_the_notebook_binds_is_not_an_automagic(tmp_path):
    findings = lint(tmp_path, notebook(code(TRAIN), code("cd = 'data'"), code("cd data")))
    assert where(findings) == [("CKPT000", 3, 1, 4), ("CKPT101", 1, 4, 8)]


def test_automagic_needs_a_one_line_cell_as_in_ipython(tmp_path):
    findings = lint(tmp_path, notebook(code(TRAIN), code("pip install x\nimport x")))
    assert where(findings) == [("CKPT000", 2, 1, 5), ("CKPT101", 1, 4, 8)]


def test_assigned_shell_output_stays_bound_in_the_module():
    source = read_notebook(notebook(code("files = !ls\nn = len(files)")).encode())
    assert source.text.startswith("files = None\nn = len(files)\n")
    assert not source.problems


# ---- notebooks: a cell that does not parse ------------------------------------------------------------
def test_a_broken_cell_is_one_syntax_error_and_the_other_cells_are_linted(tmp_path):
    findings = lint(tmp_path, notebook(code("x = 1\ndef f(:\n    pass"), code(TRAIN), code("y = (")))
    assert where(findings) == [("CKPT000", 1, 2, 7), ("CKPT000", 3, 1, 5), ("CKPT101", 2, 4, 8)]
    broken = next(f for f in findings if f.location.cell == 1)
    assert broken.message == "syntax error: invalid syntax" and broken.source_line == "def f(:"


def test_a_broken_cell_is_left_out_of_the_joined_module():
    source = read_notebook(notebook(code("a = 1"), code("def f(:\n  pass"), code("b = 2")).encode())
    assert source.text == "a = 1\n\n\n\n\nb = 2\n\n"
    assert [c.included for c in source.cells] == [True, False, True]


def test_a_cell_only_libcst_rejects_is_one_syntax_error_and_the_rest_is_linted(tmp_path):
    assert python_parses("(x): int = 1")  # valid Python that libcst's grammar does not take
    findings = lint(tmp_path, notebook(code(TRAIN), code("y = 1\n(x): int = 1")))
    assert where(findings) == [("CKPT000", 2, 2, 1), ("CKPT101", 1, 4, 8)]
    syntax_error = next(f for f in findings if f.code == "CKPT000")
    assert syntax_error.message.endswith("(valid Python that the parser ckptlint uses does not support)")
    assert syntax_error.source_line == "(x): int = 1"


def test_columns_and_text_of_an_indented_cell_are_as_written(tmp_path):
    indented = "".join("   " + line if line.strip() else line for line in TRAIN.splitlines(keepends=True))
    findings = lint(tmp_path, notebook(code(indented)))
    assert where(findings) == [("CKPT101", 1, 4, 11)]
    assert findings[0].source_line == "   ckpt = tf.train.Checkpoint(model=model)"


def test_a_cell_indented_only_on_its_first_line_parses_as_in_ipython_8(tmp_path):
    findings = lint(tmp_path, notebook(code(TRAIN), code("    x = 1\ny = 2")))
    assert where(findings) == [("CKPT101", 1, 4, 8)]


# ---- cell magics ----------------------------------------------------------------------------------------
def test_time_and_capture_bodies_are_part_of_the_module(tmp_path):
    findings = lint(tmp_path, notebook(code("%%time\n" + TRAIN), code("%%capture\n!ls")))
    assert where(findings) == [("CKPT101", 1, 5, 8)]


def test_a_written_script_is_linted_as_its_own_module_at_the_cell_lines(tmp_path):
    findings = lint(tmp_path, notebook(code("%%writefile train.py\n" + TRAIN), code("!python train.py")))
    assert where(findings) == [("CKPT101", 1, 5, 8)]
    assert findings[0].source_line == "ckpt = tf.train.Checkpoint(model=model)"
    assert not findings[0].fixable  # --fix rewrites the notebook's module, not the scripts it writes


def test_a_written_script_is_not_part_of_the_notebook_module(tmp_path):
    training, checkpoint = TRAIN.replace("ckpt = tf.train.Checkpoint(model=model)\n", "").split("for step", 1)
    training = training + "for step" + checkpoint.replace('    ckpt.save("/tmp/c/ckpt")\n', "")
    script = "%%writefile save.py\nckpt = tf.train.Checkpoint(model=model)\nckpt.save('/tmp/c/ckpt')\n"
    assert where(lint(tmp_path, notebook(code(training), code(script)))) == []
    joined = lint(tmp_path, notebook(code(training), code(script.split("\n", 1)[1])), name="joined.ipynb")
    assert where(joined) == [("CKPT101", 2, 1, 8)]  # the same code in a code cell: one module


def test_a_written_script_with_a_syntax_error_is_one_syntax_error(tmp_path):
    findings = lint(tmp_path, notebook(code(TRAIN), code("%%writefile -a 'src/train.py'\nimport os\nos.(")))
    assert where(findings) == [("CKPT000", 2, 3, 4), ("CKPT101", 1, 4, 8)]


def test_a_written_file_that_is_not_python_is_not_linted(tmp_path):
    findings = lint(tmp_path, notebook(code(TRAIN), code("%%writefile config.yaml\nlr: 0.1 ("), code("%%bash\nls (")))
    assert where(findings) == [("CKPT101", 1, 4, 8)]


def test_suppressions_belong_to_the_module_they_are_in(tmp_path):
    script = "%%writefile train.py\n" + TRAIN.replace("model=model)", "model=model)  # noqa: CKPT101")
    quiet = lint(tmp_path, notebook(code(TRAIN), code(script)))
    assert where(quiet) == [("CKPT101", 1, 4, 8)]
    file_wide = lint(tmp_path, notebook(code("# ckptlint: disable-file\n" + TRAIN), code("%%writefile t.py\n" + TRAIN)),
                     name="other.ipynb")
    assert where(file_wide) == [("CKPT101", 2, 5, 8)]


# ---- notebooks that cannot be read as a whole or in part -------------------------------------------------
def test_text_no_parser_can_take_is_one_unreadable_cell(tmp_path):
    surrogate = notebook(code("x = 'PLACEHOLDER'"), code(TRAIN)).replace("PLACEHOLDER", "\\ud800")
    findings = lint(tmp_path, surrogate)
    assert where(findings) == [("CKPT001", 1, 1, 6), ("CKPT101", 2, 4, 8)]
    assert "lone surrogate (U+D800)" in findings[0].message
    nul = lint(tmp_path, notebook(code("a = 1\nx = '\x00'"), code(TRAIN)), name="nul.ipynb")
    assert where(nul) == [("CKPT001", 1, 2, 6), ("CKPT101", 2, 4, 8)]


@pytest.mark.parametrize("cell, reason", [
    ("not a cell", "cell 1 is not an object"),
    (code(5), "the `source` of cell 1 is not text"),
    (code(["x = 1\n", 3]), "the `source` of cell 1 is not text"),
])
def test_a_malformed_cell_is_one_unreadable_cell(tmp_path, cell, reason):
    findings = lint(tmp_path, notebook(cell, code(TRAIN)))
    assert where(findings) == [("CKPT001", 1, 1, 1), ("CKPT101", 2, 4, 8)]
    assert findings[0].message == f"invalid notebook: {reason}"


@pytest.mark.parametrize("metadata, reason", [
    ([], "`metadata` is not an object; read as Python"),
    ({"kernelspec": "python3"}, "`metadata.kernelspec` is not an object"),
    ({"language_info": 3}, "`metadata.language_info` is not an object"),
])
def test_malformed_metadata_is_reported_and_the_cells_are_linted(tmp_path, metadata, reason):
    findings = lint(tmp_path, notebook(code(TRAIN), metadata=metadata))
    assert where(findings) == [("CKPT001", None, 1, 1), ("CKPT101", 1, 4, 8)]
    assert findings[0].message == f"invalid notebook: {reason}"


@pytest.mark.parametrize("text, reason", [
    ('{"cells": [], "metadata": ' + "[" * 1000 + "]" * 1000 + "}", "invalid notebook: JSON nested too deeply"),
    ('{"cells": [], "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}", "invalid notebook: JSON nested too deeply"),
    ('{"cells": {"a": 1}}', "invalid notebook: no `cells` list"),
    ('[1, 2]', "invalid notebook: no `cells` list"),
    ('{"cells": [], "n": ' + "1" * 5000 + "}", "invalid notebook JSON: Exceeds the limit"),
    ('{"cells": [', "invalid notebook JSON: Expecting value"),
])
def test_a_notebook_that_cannot_be_read_is_one_unreadable_file(tmp_path, text, reason):
    findings = lint(tmp_path, text)
    assert where(findings) == [("CKPT001", None, 1, 1)]
    assert findings[0].message.startswith(reason) and "\n" not in findings[0].message


def test_deep_nesting_inside_a_cell_is_a_syntax_error_of_that_cell(tmp_path):
    findings = lint(tmp_path, notebook(code("x = " + "-" * 100_000 + "1"), code("y = " + "(" * 300 + ")" * 300), code(TRAIN)))
    assert where(findings) == [("CKPT000", 1, 1, 1), ("CKPT000", 2, 1, 205), ("CKPT101", 3, 4, 8)]
    assert findings[0].message == "syntax error: nested too deeply for Python's parser"


def test_a_notebook_of_another_language_is_skipped(tmp_path):
    r_notebook = notebook(code("x <- c(1, 2"), metadata={"kernelspec": {"language": "R", "name": "ir"}})
    assert lint(tmp_path, r_notebook) == []


def test_a_run_over_broken_notebooks_goes_on_and_says_why_in_one_line(tmp_path):
    (tmp_path / "deep.ipynb").write_text('{"cells": [], "metadata": ' + "[" * 5000 + "]" * 5000 + "}")
    (tmp_path / "meta.ipynb").write_text(notebook(code("x = 1"), metadata=[]))
    (tmp_path / "surrogate.ipynb").write_text(notebook(code("'PLACEHOLDER'"), code(TRAIN)).replace("PLACEHOLDER", "\\udfff"))
    (tmp_path / "train.py").write_text(TRAIN)
    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == ""
    found = sorted((f["filename"].rsplit("/", 1)[-1], f["code"], f.get("cell")) for f in json.loads(result.stdout))
    assert found == [("deep.ipynb", "CKPT001", None), ("meta.ipynb", "CKPT001", None),
                     ("surrogate.ipynb", "CKPT001", 1), ("surrogate.ipynb", "CKPT101", 2), ("train.py", "CKPT101", None)]


def test_findings_name_cell_and_line_on_the_command_line(tmp_path):
    (tmp_path / "nb.ipynb").write_text(notebook(
        markdown("# Training"),
        code(["%pip install tensorflow\n", "import tensorflow as tf\n", "!nvidia-smi"]),
        code(["opt_a = tf.keras.optimizers.Adam()\n", "\n", "opt_b = tf.keras.optimizers.Adam()"]),
        code(["slots = {o.name: o for o in (opt_a, opt_b)}"]),
    ))
    result = run_ckptlint("check", "--no-cache", "nb.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert "nb.ipynb:cell_3:1:9: CKPT301" in result.stdout and "nb.ipynb:cell_3:3:9: CKPT301" in result.stdout


# ---- autofix, cell by cell -------------------------------------------------------------------------------
def fix(tmp_path: Path, text: str):
    path = tmp_path / "fix.ipynb"
    path.write_text(text, encoding="utf-8")
    plan = plan_file(str(path), CODES, unsafe=True, max_size=10**7)  # CKPT101's fix is unsafe
    if plan.changed:
        assert write_plan(plan) is None
    return plan, json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_a_notebook_with_a_broken_cell_is_fixed_in_its_other_cells(tmp_path):
    broken = code("def f(:\n    pass")
    plan, cells = fix(tmp_path, notebook(broken, code("!pip install x\nfiles = !ls\n" + TRAIN)))
    assert plan.applied == 1
    assert cells[0] == broken
    assert "".join(cells[1]["source"]) == "!pip install x\nfiles = !ls\n" + FIXED_TRAIN


def test_an_indented_cell_is_fixed_with_its_indent(tmp_path):
    indented = "".join("  " + line for line in TRAIN.splitlines(keepends=True))
    plan, cells = fix(tmp_path, notebook(code(indented)))
    assert plan.applied == 1
    assert "".join(cells[0]["source"]) == "".join("  " + line for line in FIXED_TRAIN.splitlines(keepends=True))


def test_a_cell_written_with_prompts_is_left_alone(tmp_path):
    prompted = "".join(">>> " + line for line in TRAIN.splitlines(keepends=True)[:4])
    original = notebook(code(prompted), code(TRAIN.split("\n", 4)[4]))
    plan, cells = fix(tmp_path, original)
    assert not plan.changed and any("interpreter prompts" in notice for notice in plan.notices)
    assert cells == json.loads(original)["cells"]


def test_a_finding_in_a_written_script_leaves_the_notebook_unchanged(tmp_path):
    original = notebook(code("%%writefile train.py\n" + TRAIN))
    plan, cells = fix(tmp_path, original)
    assert not plan.changed and cells == json.loads(original)["cells"]
