"""Notebooks as the linter reads them.

The code cells are joined into one module, as the kernel runs them into one namespace, after IPython's
syntax has been turned into Python line for line (ckptlint.lint.ipython_syntax): a finding keeps its
cell, line and column. Every cell is first compiled on its own with CPython's parser, so that

- a cell that does not parse is one CKPT000 at its own line, and is left out of the joined module: the
  other cells are still linted (the kernel would still run them);
- a cell holding text no parser can take (a lone UTF-16 surrogate, a NUL) is one CKPT001;
- a one-line cell such as `pip install x` or `cd data` runs a line magic without its `%` (IPython's
  automagic) when the name is a line magic that no cell of the notebook binds.

Cell magics: `%%time`, `%%timeit` and `%%capture` run their body as a cell in the kernel, so the body is
part of the joined module. `%%writefile path.py` (or `%%file`) writes a script that the kernel does not
run: its body is linted as a module of its own, at the cell's lines (`nb.ipynb:cell_4:12:5`), whether or
not a later cell runs it (`%run path.py`, `!python path.py`). A written module is keyed like the
notebook it is in: the notebook's cache entry holds its findings, and its `per-file-ignores` apply to it;
its inline suppressions are the comments in its own body (a `# ckptlint: disable-file` in the notebook's
other cells does not reach it, nor one in it the notebook's cells). Its findings are not fixed by `--fix`
(only the joined module is), and project-wide rules (CKPT203) do not see it. Other cell magics
(`%%bash`, `%%html`, ...) are not Python and are skipped.

A broken notebook shape (no `cells` list, invalid or too deeply nested JSON) is one CKPT001 for the
whole file; a wrong shape in one place (`metadata` that is not an object, a cell whose `source` is not
text) is one CKPT001 there, and the rest is read.
"""

from __future__ import annotations

import ast
import builtins
import json
import keyword
import re
import shlex
import warnings
from dataclasses import dataclass, field

from ckptlint.lint.ipython_syntax import (
    DEDENT_RULES, PythonCell, as_magic_line, as_written, automagic_name, first_line_indented, split_lines, transform_cell,
)
from ckptlint.lint.findings import Finding, Location, Severity
from ckptlint.lint.sources import Source, UnreadableFile

# IPython's line magics in a Jupyter kernel (IPython 9, ipykernel 7: `%lsmagic`), aliases included.
LINE_MAGICS = frozenset("""
alias alias_magic autoawait autocall automagic autosave bookmark cat cd clear code_wrap colors conda config
connect_info cp debug dhist dirs doctest_mode ed edit env gui hist history killbgscripts ldir less lf lk ll
load load_ext loadpy logoff logon logstart logstate logstop ls lsmagic lx macro magic mamba man matplotlib
micromamba mkdir more mv notebook page pastebin pdb pdef pdoc pfile pinfo pinfo2 pip popd pprint precision
prun psearch psource pushd pwd pycat pylab qtconsole quickref recall rehashx reload_ext rep rerun reset
reset_selective rm rmdir run save sc set_env subshell sx system tb time timeit unalias unload_ext uv who
who_ls whos xdel xmode
""".split())
# Line magics that common extensions add once `%load_ext NAME` ran.
EXTENSION_MAGICS = {"tensorboard": frozenset({"tensorboard"}), "autoreload": frozenset({"autoreload", "aimport"})}
_LOAD_EXT = re.compile(r"^\s*%?(?:re)?load_ext\s+([\w.]+)", re.MULTILINE)
# Names that shadow a magic without being bound by the notebook.
_PREDEFINED = frozenset(dir(builtins)) | frozenset(keyword.kwlist)

PYTHON_BODY_MAGICS = frozenset({"time", "timeit", "capture"})  # the body runs as a cell in the kernel
WRITE_FILE_MAGICS = frozenset({"writefile", "file"})
_PYTHON_LANGUAGES = frozenset({"python", "python3", "python2", "ipython", "ipython3", "pyspark", ""})
_UNREADABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_ONLY_AST = ast.PyCF_ONLY_AST


@dataclass(frozen=True)
class CellProblem:
    """A CKPT000 or CKPT001 found while reading: `cell` is None for the notebook as a whole; `code`
    is the cell's text, for the prefilter (CKPT000 is reported only where the rules would look)."""

    code: str
    message: str
    cell: int | None
    line: int = 1
    col: int = 1
    line_text: str = ""
    text: str = ""

    def finding(self, path: str) -> Finding:
        location = Location(path, self.line, self.col, self.line, self.col, self.cell)
        return Finding(self.code, self.message, Severity.ERROR, location, self.line_text)


@dataclass(frozen=True)
class NotebookCell:
    """A code cell as the fixer needs it: its source as written, and its lines in the joined module."""

    number: int
    raw: str
    as_list: bool  # `source` was a list of lines (else one string)
    lines: tuple[str, ...]  # as in the joined module: all blank when the cell is left out of it
    rewritten: frozenset[int] = frozenset()  # lines that are not the cell's own text (IPython syntax)
    indent: str = ""  # the indent IPython removes from every line, when the first line has one
    prompts: bool = False  # the cell is written with interpreter prompts
    included: bool = True  # part of the joined module


@dataclass(frozen=True)
class NotebookSource(Source):
    """A module read out of a notebook: the joined code cells, or the body of one `%%writefile` cell.
    `shifts[i]` characters were removed at the start of line i + 1 (IPython's dedent, prompts) and
    `originals[i]` is that line as written, so findings show the cell's own columns and text."""

    shifts: tuple[int, ...] = ()
    originals: tuple[str, ...] = ()
    cells: tuple[NotebookCell, ...] = ()
    problems: tuple[CellProblem, ...] = ()
    written: tuple[WrittenModule, ...] = ()

    def column_shift(self, line: int) -> int:
        return self.shifts[line - 1] if 0 < line <= len(self.shifts) else 0

    def original_line(self, line: int) -> str:
        return self.originals[line - 1] if 0 < line <= len(self.originals) else ""

    def without_part_at(self, path: str, line: int, col: int, message: str) -> tuple[NotebookSource, Finding] | None:
        """The cell that holds `line` left out (its lines blank), with its CKPT000: a cell CPython parsed
        but libcst rejects (valid syntax libcst's grammar lacks)."""
        number, cell_line = self.cell_of(line)
        cell = next((c for c in self.cells if c.number == number and c.included), None)
        if cell is None:
            return None
        col += self.column_shift(line)
        if cell_line > len(cell.lines):  # libcst gave up on the blank line after the cell
            cell_line, col, line = len(cell.lines), 1, self.joined_line(number, len(cell.lines))
        problem = CellProblem("CKPT000", f"syntax error: {_one_line(message)} (valid Python that the parser ckptlint "
                              "uses does not support)", number, cell_line, col, self.original_line(line))
        first = self.starts_by_cell[cell.number]
        lines = self.text.split("\n")
        lines[first - 1:first - 1 + len(cell.lines)] = [""] * len(cell.lines)
        cells = tuple(c if c.number != number else _left_out(c) for c in self.cells)
        narrowed = NotebookSource("\n".join(lines), self.cell_starts, self.shifts, self.originals, cells,
                                  (*self.problems, problem), self.written)
        return narrowed, problem.finding(path)

    def problem_findings(self, path: str, codes: tuple[str, ...], might_matter) -> list[Finding]:
        """The selected problems found while reading, as findings. CKPT000 only where the rules would
        look (`might_matter`, the prefilter), as for a file with a syntax error."""
        return [problem.finding(path) for problem in self.problems if problem.code in codes
                and (problem.code != "CKPT000" or might_matter(problem.text, codes) or might_matter(self.text, codes))]


@dataclass(frozen=True)
class WrittenModule:
    """The body of a `%%writefile path.py` cell: the module it writes, mapped to the cell's lines."""

    cell: int
    target: str
    source: NotebookSource


def _left_out(cell: NotebookCell) -> NotebookCell:
    return NotebookCell(cell.number, cell.raw, cell.as_list, ("",) * len(cell.lines), cell.rewritten,
                        cell.indent, cell.prompts, included=False)


# ---- reading ----------------------------------------------------------------------------------------
def read_notebook(data: bytes) -> NotebookSource:
    """The notebook's code as modules; raises UnreadableFile when nothing of it can be read."""
    notebook = _load(data)
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(notebook, dict) or not isinstance(cells, list):
        raise UnreadableFile("invalid notebook: no `cells` list")
    problems: list[CellProblem] = []
    if not _is_python(notebook, problems):
        return NotebookSource("", (), problems=tuple(problems))
    reader = _Reader(problems, _line_magics(cells))
    for number, cell in enumerate(cells, start=1):
        reader.add(number, cell)
    return reader.finish()


def _load(data: bytes) -> object:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"notebook is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"invalid notebook JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise UnreadableFile("invalid notebook: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer past CPython's digit limit
        raise UnreadableFile(f"invalid notebook JSON: {_one_line(str(exc))}") from None


def _is_python(notebook: dict, problems: list[CellProblem]) -> bool:
    """Whether the notebook's kernel runs Python (a notebook that does not say is taken for Python)."""
    metadata = notebook.get("metadata")
    if metadata is None:
        return True
    if not isinstance(metadata, dict):
        problems.append(CellProblem("CKPT001", "invalid notebook: `metadata` is not an object; read as Python", None))
        return True
    for key, name in (("kernelspec", "language"), ("language_info", "name")):
        entry = metadata.get(key)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            problems.append(CellProblem("CKPT001", f"invalid notebook: `metadata.{key}` is not an object", None))
            continue
        language = entry.get(name)
        if isinstance(language, str):
            return language.strip().lower() in _PYTHON_LANGUAGES
    return True


@dataclass
class _Cell:
    number: int
    raw: str
    as_list: bool
    python: PythonCell  # the cell as linted
    tree: ast.Module | None = None  # when the cell is part of the joined module
    problem: CellProblem | None = None
    written: WrittenModule | None = None  # for a `%%writefile` cell
    outer: PythonCell | None = None  # for a `%%time`-like cell: the cell with its magic line
    body: PythonCell | None = None  # ... and its body, read as a cell of its own
    automagic: str | None = None  # the line magic its one line runs without `%`
    unconverted: _Cell | None = None  # the cell read without that automagic (if the name is bound)


@dataclass
class _Reader:
    problems: list[CellProblem]
    magics: frozenset[str]  # the line magics automagic can run in this notebook
    cells: list[_Cell] = field(default_factory=list)
    written: list[WrittenModule] = field(default_factory=list)

    def add(self, number: int, cell: object) -> None:
        if not isinstance(cell, dict):
            self.problems.append(CellProblem("CKPT001", f"invalid notebook: cell {number} is not an object", number))
            return
        if cell.get("cell_type") != "code":
            return
        raw, as_list = _source(cell)
        if raw is None:
            self.problems.append(CellProblem("CKPT001", f"invalid notebook: the `source` of cell {number} is not text", number))
            return
        bad = _UNREADABLE_CHARACTER.search(raw)
        if bad:
            self.cells.append(_Cell(number, raw, as_list, transform_cell(""), problem=_unreadable(number, raw, bad.start())))
            return
        plain = as_written(raw)
        if plain is not None:
            entry = _Cell(number, raw, as_list, plain)
            _parse(entry)
            if entry.problem is None:
                self.cells.append(entry)
                return
        # IPython 9 dedents an indented cell by the indent all its lines share, IPython 7 and 8 by its
        # first line's: a cell valid either way is valid.
        rules = DEDENT_RULES if first_line_indented(raw) else DEDENT_RULES[:1]
        first: _Cell | None = None
        for rule in rules:
            entry = self._read(_Cell(number, raw, as_list, transform_cell(raw, rule)), rule)
            if entry.problem is not None:
                entry = self._as_automagic(entry) or entry
            if entry.problem is None:
                break
            first = first or entry
        else:
            assert first is not None  # every rule was tried, and each that failed set it
            entry = first
        self.cells.append(entry)

    def _read(self, entry: _Cell, rule: str) -> _Cell:
        magic = entry.python.magic
        if magic is None:
            _parse(entry)
        elif magic.name in PYTHON_BODY_MAGICS:
            entry.outer, entry.body = entry.python, _body(entry.python, rule)
            entry.python = _with_body(entry.outer, entry.body)
            _parse(entry)
        elif magic.name in WRITE_FILE_MAGICS:
            self._written(entry)
        return entry

    def _as_automagic(self, entry: _Cell) -> _Cell | None:
        """The cell run as IPython's automagic would, when that makes it valid: its one line (or its
        `%%time`-like body's) starts with the name of a line magic. Whether the notebook binds that
        name (then IPython runs the line as Python) is known once every cell is read."""
        target = entry.body if entry.body is not None else entry.python
        name = automagic_name(target)
        if name is None or name not in self.magics or name in _PREDEFINED:
            return None
        converted = _Cell(entry.number, entry.raw, entry.as_list, entry.python, automagic=name, unconverted=entry)
        if entry.body is not None:
            assert entry.outer is not None  # _read sets a cell's outer with its body
            converted.outer, converted.body = entry.outer, as_magic_line(entry.body)
            converted.python = _with_body(entry.outer, converted.body)
        else:
            converted.python = as_magic_line(entry.python)
        _parse(converted)
        return converted if converted.problem is None else None

    def _written(self, entry: _Cell) -> None:
        python = entry.python
        assert python.magic is not None  # _read sends only `%%writefile` cells here
        target = _written_target(python.magic.argument)
        head = python.magic.line + 1
        if target is None or len(python.lines) <= head:
            return  # not a Python file: not linted
        body = NotebookSource("\n".join(python.lines[head:]) + "\n", ((entry.number, 1 - head),),
                              python.shifts[head:], tuple(split_lines(entry.raw)[head:]))
        error = _syntax_error(body.text)
        if error is not None:
            line, col, message = error
            entry.problem = _cell_syntax_error(entry, line + head, col, message)
            return
        entry.written = WrittenModule(entry.number, target, body)

    def finish(self) -> NotebookSource:
        self._undo_shadowed_automagics()
        lines: list[str] = []
        shifts: list[int] = []
        originals: list[str] = []
        starts: list[tuple[int, int]] = []
        cells: list[NotebookCell] = []
        for entry in self.cells:
            if entry.problem is not None:
                self.problems.append(entry.problem)
            if entry.written is not None:
                self.written.append(entry.written)
            python = entry.python
            raw_lines = split_lines(entry.raw)
            included = entry.tree is not None
            cell_lines = python.lines if included else ("",) * len(raw_lines)
            starts.append((entry.number, len(lines) + 1))
            lines += cell_lines
            shifts += python.shifts if included else (0,) * len(raw_lines)
            originals += raw_lines
            lines.append("")  # a blank line between cells, so a cell never runs into the next
            shifts.append(0)
            originals.append("")
            cells.append(NotebookCell(entry.number, entry.raw, entry.as_list, tuple(cell_lines), python.rewritten,
                                      python.indent, python.prompts, included))
        return NotebookSource("\n".join(lines) + "\n", tuple(starts), tuple(shifts), tuple(originals), tuple(cells),
                              tuple(self.problems), tuple(self.written))

    def _undo_shadowed_automagics(self) -> None:
        """A cell read as an automagic whose name another cell binds runs as Python after all."""
        automagic = [index for index, entry in enumerate(self.cells) if entry.automagic]
        if not automagic:
            return
        bound = [(entry.number, _bound_names(entry.tree)) for entry in self.cells if entry.tree is not None]
        for index in automagic:
            entry = self.cells[index]
            if any(entry.automagic in names for number, names in bound if number != entry.number):
                assert entry.unconverted is not None  # _as_automagic keeps the cell it converted
                self.cells[index] = entry.unconverted


def _source(cell: dict) -> tuple[str | None, bool]:
    """A cell's source as one string, and whether it was written as a list of lines (nbformat allows
    both); None when it is neither."""
    raw = cell.get("source", "")
    if isinstance(raw, list) and all(isinstance(part, str) for part in raw):
        return "".join(raw), True
    return (raw, False) if isinstance(raw, str) else (None, False)


def _line_magics(cells: list) -> frozenset[str]:
    """IPython's line magics, and those of the extensions a code cell loads (`%load_ext tensorboard`)."""
    magics = set(LINE_MAGICS)
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            raw, _ = _source(cell)
            for extension in _LOAD_EXT.findall(raw or ""):
                magics |= EXTENSION_MAGICS.get(extension, frozenset())
    return frozenset(magics)


def _unreadable(number: int, raw: str, offset: int) -> CellProblem:
    character = raw[offset]
    what = "a NUL character" if character == "\x00" else f"a lone surrogate (U+{ord(character):04X}), not Unicode text"
    line = len(split_lines(raw[:offset] + "x"))
    col = offset - max(raw.rfind("\n", 0, offset), raw.rfind("\r", 0, offset))
    return CellProblem("CKPT001", f"cell {number} holds {what}; the cell is not linted", number, line, col)


def _body(cell: PythonCell, rule: str) -> PythonCell:
    """The body of a `%%time`-like cell, read as the cell the magic runs."""
    assert cell.magic is not None  # only cells that start with a cell magic have a body
    return transform_cell("\n".join(cell.lines[cell.magic.line + 1:]), rule)


def _with_body(cell: PythonCell, body: PythonCell) -> PythonCell:
    """A `%%time`-like cell as linted: its magic line (and the blank lines before it) blank, then its body."""
    assert cell.magic is not None  # only cells that start with a cell magic have a body
    head = cell.magic.line + 1
    lines = ("",) * head + (body.lines if head < len(cell.lines) else ())
    shifts = (*cell.shifts[:head], *(outer + inner for outer, inner in zip(cell.shifts[head:], body.shifts)))
    rewritten = frozenset({head - 1} | {index + head for index in body.rewritten})
    return PythonCell(lines, shifts[:len(lines)], rewritten, None, cell.indent, cell.prompts or body.prompts, len(lines))


def _written_target(argument: str) -> str | None:
    """The file a `%%writefile [-a] path` cell writes, when it is a Python file."""
    try:
        words = shlex.split(argument)
    except ValueError:
        words = argument.split()
    paths = [word for word in words if not word.startswith("-")]
    return paths[-1] if paths and paths[-1].endswith(".py") else None


def _parse(entry: _Cell) -> None:
    """Parse the cell as Python: its tree, or its syntax error."""
    tree, error = _compile(entry.python.text)
    entry.tree, entry.problem = tree, (_cell_syntax_error(entry, *error) if error else None)


def _syntax_error(text: str) -> tuple[int, int, str] | None:
    return _compile(text)[1]


def _compile(text: str) -> tuple[ast.Module | None, tuple[int, int, str] | None]:
    """CPython's parser on `text`: its tree, or where and why it fails (line, column, message)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are the compiler's business, not the linter's
            return compile(text, "<cell>", "exec", _ONLY_AST, dont_inherit=True), None
    except SyntaxError as exc:
        return None, (exc.lineno or 1, exc.offset or 1, exc.msg or "invalid syntax")
    except (RecursionError, MemoryError):  # what CPython's parser raises on very deep nesting
        return None, (1, 1, "nested too deeply for Python's parser")
    except (ValueError, OverflowError) as exc:
        return None, (1, 1, _one_line(str(exc)) or type(exc).__name__)


def _cell_syntax_error(entry: _Cell, line: int, col: int, message: str) -> CellProblem:
    """CKPT000 at `line`, `col` of the cell as read (1-based), shown at the cell's own text."""
    python = entry.python
    index = min(max(line, 1), len(python.lines)) - 1
    raw_lines = split_lines(entry.raw)
    text = raw_lines[index] if index < len(raw_lines) else ""
    return CellProblem("CKPT000", f"syntax error: {message}", entry.number, index + 1, col + python.shifts[index],
                       text, python.text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---- names the notebook binds ------------------------------------------------------------------------
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _bound_names(tree: ast.Module | None) -> set[str]:
    """Names a cell binds in the kernel's namespace: assignments, imports, definitions, loop and `with`
    targets outside functions and classes (whose own bodies bind locally)."""
    names: set[str] = set()
    if tree is None:
        return names
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, _SCOPES):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        pending.extend(ast.iter_child_nodes(node))
    return names
