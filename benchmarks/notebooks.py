"""Notebook figures: how linting and autofix scale with the number of cells, and how closely the
notebook reader agrees with IPython on which cells are valid.

    python benchmarks/notebooks.py scale [--cells 100 300 1000]
    python benchmarks/notebooks.py parity --ipython /path/to/venv-with-ipython/bin/python [--ipython ...]

`scale` writes notebooks of N training cells (each with one fixable finding) to a temporary directory
and times `ckptlint check --no-cache` and `check --no-cache --diff` on each (wall clock of the process).
Time per cell should stay flat as N grows.

`parity` needs IPython (and ipykernel, for the kernel's own magics) in another interpreter: IPython is
not a dependency of ckptlint. For a fixed set of cells (the shapes IPython's input transformation
handles, then seeded random mixtures of them) it asks that interpreter whether IPython's kernel
transformation followed by CPython's parser accepts each cell alone (and the body of a `%%time`,
`%%timeit` or `%%capture` cell, which the magic compiles the same way when it runs), and compares with
the CKPT000s ckptlint's reader gives. A cell valid under any of the given IPython versions should get
no CKPT000, and a cell valid under none should get one.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TRAIN_CELL = """\
ckpt{i} = tf.train.Checkpoint(model=model)
for step in range(3):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    ckpt{i}.save('/tmp/c{i}/ckpt')
"""
SETUP_CELL = ("import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n"
              "optimizer = tf.keras.optimizers.Adam()\n")


def _notebook(sources: list[str]) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": source.splitlines(keepends=True)} for source in sources]
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1)


def _timed(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ckptlint", *args], cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - start


def scale(counts: list[int]) -> None:
    print(f"{'cells':>6} {'check s':>9} {'ms/cell':>8} {'--diff s':>9} {'ms/cell':>8}")
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for count in counts:
            cells = [SETUP_CELL] + [f"!echo {i}\n" + TRAIN_CELL.format(i=i) for i in range(count)]
            (root / f"nb{count}.ipynb").write_text(_notebook(cells), encoding="utf-8")
            check = _timed("check", "--no-cache", f"nb{count}.ipynb", cwd=root)
            diff = _timed("check", "--no-cache", "--diff", f"nb{count}.ipynb", cwd=root)
            print(f"{count:>6} {check:>9.2f} {1000 * check / count:>8.1f} {diff:>9.2f} {1000 * diff / count:>8.1f}")


# ---- parity with IPython --------------------------------------------------------------------------------
SHAPES = [
    "!ls", "!!ls", "!pip install -q \\\n    tensorflow \\\n    keras", "files = !ls -l", "x = %time f()", "x =!ls",
    "ls data", "pip install x", "cd /content", "    a = 1\n    b = a + 1", "x = 1  # what?", "foo?", "foo??",
    "?foo", "??foo", "a = 1?", "x = foo?", "foo? ", "foo.bar?", "%matplotlib inline", "%%time\nx = 1",
    "%%writefile a.py\nimport os", "if x:\n    !ls\nelse:\n    pass", "print('%(a)s'\n      %({'a': 1}))",
    ">>> x = 1\n... y = 2", "In [1]: x = 1", "def f(:\n  pass", "x = (1,\n!ls)", "!echo it's",
    "x = !echo it's\ny = 1", "cd", "ls = 1", "ls", "pip install x\n\n", "\npip install x", "  pip install x",
    "cd data # go", "%%bash\necho hi", "%%capture\n!ls", "x = 1 \\\n  + 2", "!ls \\", "x = %ls \\\n -l\ny = 2",
    "f(x)?", "x?y", "%%time?", "/f 1 2", ",f a b", ";f a b", "//x", "!=x", "  !ls\n  x = 1",
    "if a:\n        !ls\n    x = 1", "x = '''\n!ls\n'''", "# !ls\n!ls", "await x", "a=b=%ls", "x: int = %ls",
    "for i in range(3):\n    %time f(i)", "x = \\\n  %ls", "lambda: %ls", "x = f'{a!r}'", "print(1)\n%%time\nx=1",
    "  %%time\n  x = 1", "x = 1\n    y = 2", "   \nx = 1", "x = [1,\n 2]?", "obj.*attr*?", "ls *.py",
    "if True: !ls", "y = 3\nls",
]
FRAGMENTS = [
    "!ls -l", "x = !ls", "y = %time f()", "foo?", "    z = 1", "print('%d'\n      %(1))", "a = [\n1,\n2]", "# c?",
    "%pwd", "if x:\n    !ls", "def f():\n    return 1", "s = '''\n?\n'''", "q = 1 \\\n  + 2", "!cmd \\\n  arg",
    "x = f(\n%s)", "ls", "cd x", "t = (1,\n!= 2)", "w = {'a': '?'}", "  %%time", "u = x if y else\\\n  z",
]
_IPYTHON_ORACLE = r"""
import ast, contextlib, io, json, sys, warnings
try:
    from ipykernel.inprocess.manager import InProcessKernelManager
    manager = InProcessKernelManager(); manager.start_kernel(); shell = manager.kernel.shell
except ImportError:
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
import IPython

def valid(cell):
    # The cell as the kernel compiles it; the body of %%time, %%timeit and %%capture is compiled the
    # same way when the magic runs, so it must be valid too.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        tree = compile(shell.transform_cell(cell), "<cell>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    call = tree.body[0].value if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) else None
    if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "run_cell_magic":
        name, _line, body = (argument.value for argument in call.args)
        if name in ("time", "timeit", "capture"):
            return valid(body)
    return True

verdicts = []
for cell in json.load(sys.stdin):
    try:
        verdicts.append(valid(cell))
    except BaseException:
        verdicts.append(False)
print(json.dumps({"version": IPython.__version__, "valid": verdicts}))
"""


def parity_cells(count: int, seed: int = 7) -> list[str]:
    chooser = random.Random(seed)
    mixed = []
    for _ in range(count):
        text = "\n".join(chooser.sample(FRAGMENTS, chooser.randint(1, 4)))
        if chooser.random() < 0.2:
            text = "  " + text.replace("\n", "\n  ")
        mixed.append(text)
    return SHAPES + mixed


def ckptlint_verdicts(cells: list[str]) -> list[bool]:
    sys.path.insert(0, str(REPO))
    from ckptlint.lint.notebooks import read_notebook

    return [not any(p.code == "CKPT000" for p in read_notebook(_notebook([cell]).encode()).problems)
            for cell in cells]


def parity(interpreters: list[str], count: int) -> None:
    cells = parity_cells(count)
    ours = ckptlint_verdicts(cells)
    valid_somewhere = [False] * len(cells)
    for python in interpreters:
        done = subprocess.run([python, "-c", _IPYTHON_ORACLE], input=json.dumps(cells), capture_output=True,
                              text=True, check=True)
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        theirs = answer["valid"]
        disagree = [cell for cell, a, b in zip(cells, theirs, ours) if a != b]
        print(f"IPython {answer['version']}: {sum(theirs)}/{len(cells)} cells valid; ckptlint {sum(ours)}; "
              f"{len(disagree)} disagree")
        for cell in disagree[:10]:
            print(f"    {cell!r}")
        valid_somewhere = [a or b for a, b in zip(valid_somewhere, theirs)]
    false_alarms = [cell for cell, valid, mine in zip(cells, valid_somewhere, ours) if valid and not mine]
    missed = [cell for cell, valid, mine in zip(cells, valid_somewhere, ours) if mine and not valid]
    print(f"valid in some IPython but CKPT000 from ckptlint: {len(false_alarms)}; "
          f"invalid in every IPython but accepted: {len(missed)}")
    for cell in false_alarms + missed:
        print(f"    {cell!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scale_parser = commands.add_parser("scale")
    scale_parser.add_argument("--cells", type=int, nargs="+", default=[100, 300, 1000])
    parity_parser = commands.add_parser("parity")
    parity_parser.add_argument("--ipython", action="append", required=True, help="an interpreter with IPython")
    parity_parser.add_argument("--random", type=int, default=1000, help="random cells after the fixed shapes")
    args = parser.parse_args()
    if args.command == "scale":
        scale(args.cells)
    else:
        parity(args.ipython, args.random)


if __name__ == "__main__":
    main()
