"""IPython's input syntax, turned into Python the way IPython's kernel does it before compiling a cell,
but line for line: every line of a cell stays on its line, so findings keep their cell line numbers.

IPython (`IPython/core/inputtransformer2.py`, `prefilter.py`, `splitinput.py`) rewrites a cell in three
steps, and so does this module:

1. clean-up of the whole cell: blank lines at its start are skipped; an indented cell is dedented
   (IPython 9 removes the indent common to all lines, IPython 7 and 8 the first line's indent from the
   lines that have it: both are offered, see `DEDENT_RULES`); `>>> `/`... ` and `In [1]: `/`...: `
   prompts starting the cell are stripped;
2. a cell magic (`%%name args`) is recognised on the first line only: the rest of the cell is its body;
3. IPython syntax is found with Python's tokenizer, one logical line at a time, so that nothing inside a
   string, a comment or open brackets is ever taken for it:
   - a logical line whose first token is `!`, `!!`, `%`, `?`, `??`, `,`, `;` or `/` is a command;
   - `target = !cmd` and `target = %magic args` (the first `=` outside brackets) keep the target;
   - a logical line ending in `name?` or `name??` asks for help;
   a command runs on over the lines that end in a backslash.
   Commands become `pass` and `target = ...` becomes `target = None` (so the name is still bound); the
   lines a command continued over become blank.

A fourth rule depends on the rest of the notebook (which names it binds), so notebooks.py applies it
with `automagic_name`: a cell that IPython's rewriting leaves as one line, starting with the name of a
line magic that the notebook does not bind (`pip install x`, `cd data`), runs that magic.

IPython rescans the whole cell after each rewrite; a rewritten logical line ends where the next begins,
so scanning on from there finds the same syntax, once per line.
"""

from __future__ import annotations

import os
import re
import tokenize
from dataclasses import dataclass, field

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what CPython counts as a line end (str.splitlines counts more)
COMMON_INDENT, FIRST_LINE_INDENT = "common", "first-line"
DEDENT_RULES = (COMMON_INDENT, FIRST_LINE_INDENT)  # IPython 9's, then IPython 7 and 8's
_INDENT = re.compile(r"[ \t]+")
_CLASSIC_FIRST = re.compile(r">>>( |$)")
_CLASSIC_ANY = re.compile(r"(>>>|\.\.\.)( |$)")
_IPYTHON_PROMPT = re.compile(r"In \[\d+\]: |\s*\.{3,}: ?")
_CELL_MAGIC_HELP = re.compile(r"%%\w+\?")
# What `obj?` may ask about: an optionally %-prefixed dotted name (with `*` wildcards), right before `?`.
_HELP_TARGET = re.compile(r"%{0,2}[a-zA-Z_*][\w*]*(\.[a-zA-Z_*][\w*]*)*\?\??$")
# A line as IPython's prefilter splits it: indent, escape, the leading name, the rest.
_LINE_SPLIT = re.compile(r"(\s*)([,;/%]|!!?|\?\??)?\s*(%{0,2}[\w.*]*)(.*?$|$)")

ESCAPES = frozenset("!%?,;/")
# Python operators that start with an escape character: a line starting with them is not a command.
_OPERATORS = ("!=", "%=", "//", "/=")
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
_STATEMENT = "pass"
_VALUE = "None"


@dataclass(frozen=True)
class CellMagic:
    name: str
    argument: str  # the rest of the `%%name` line
    line: int = 0  # the line it is on (after the blank lines the cell starts with); the body follows


@dataclass(frozen=True)
class PythonCell:
    """A cell as Python. `lines` has one entry per line of the cell; `shifts[i]` characters were removed
    from the start of line i (the cell's common indent, a prompt), so column c of `lines[i]` is column
    c + shifts[i] of the cell. `rewritten` holds the lines replaced because they were IPython syntax.
    With a `magic`, `lines` is the whole cell cleaned up, and the lines after the magic's are its body."""

    lines: tuple[str, ...]
    shifts: tuple[int, ...]
    rewritten: frozenset[int] = frozenset()
    magic: CellMagic | None = None
    indent: str = ""  # the common indent removed from the cell, if any
    prompts: bool = False  # interpreter prompts were stripped
    ipython_lines: int = 1  # how many lines IPython's own rewriting leaves (it joins what it rewrites)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def split_lines(text: str) -> list[str]:
    """The lines of a cell as CPython counts them, without their ends ("" for an empty cell)."""
    lines = _NEWLINE.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the end of the last line, not a line of its own
    return lines


def transform_cell(source: str, dedent: str = COMMON_INDENT) -> PythonCell:
    """A cell's source read as IPython reads it, line for line (`dedent`: one of DEDENT_RULES)."""
    lines = split_lines(source)
    shifts = [0] * len(lines)
    first = next((index for index, line in enumerate(lines) if line.strip()), 0)  # blank lines skipped
    indent = _dedent(lines, shifts, first, dedent)
    prompts = _strip_prompts(lines, shifts, first, _CLASSIC_FIRST, _CLASSIC_ANY)
    prompts = _strip_prompts(lines, shifts, first, _IPYTHON_PROMPT, _IPYTHON_PROMPT) or prompts
    if lines[first].startswith("%%") and not _CELL_MAGIC_HELP.match(lines[first]):
        name, _, argument = lines[first][2:].partition(" ")
        return PythonCell(tuple(lines), tuple(shifts), frozenset(), CellMagic(name, argument, first), indent,
                          prompts, 1)
    scan = _Scanner(lines)
    scan.run(first)
    return PythonCell(tuple(lines), tuple(shifts), frozenset(scan.rewritten), None, indent, prompts,
                      len(lines) - first - scan.joined)


def as_written(source: str) -> PythonCell | None:
    """The cell as it is, when IPython's clean-up leaves it so (its first line is not indented, has no
    prompt, is no cell magic): then, if it is valid Python, IPython's rewriting changes nothing, since
    each of its forms is a syntax error in Python. Saves the scan for most cells."""
    lines = split_lines(source)
    first = next((index for index, line in enumerate(lines) if line.strip()), 0)
    head = lines[first:first + 2]
    if _INDENT.match(lines[first]) or lines[first].startswith("%%"):
        return None
    if any(_CLASSIC_ANY.match(line) or _IPYTHON_PROMPT.match(line) for line in head):
        return None
    return PythonCell(tuple(lines), (0,) * len(lines), ipython_lines=len(lines) - first)


def first_line_indented(source: str) -> bool:
    """Whether the dedent rules can differ on this cell: its first non-blank line is indented."""
    return bool(_INDENT.match(next((line for line in split_lines(source) if line.strip()), "")))


def _dedent(lines: list[str], shifts: list[int], first: int, rule: str) -> str:
    """IPython's leading-indent clean-up. Returns the indent removed ("" when none was)."""
    if rule == FIRST_LINE_INDENT:
        found = _INDENT.match(lines[first])
        indent = found.group(0) if found else ""
    else:
        indent = os.path.commonprefix([line[: len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip()])
    if not indent:
        return ""
    for index, line in enumerate(lines):
        if line.startswith(indent):
            lines[index] = line[len(indent):]
            shifts[index] += len(indent)
    return indent


def _strip_prompts(lines: list[str], shifts: list[int], first: int, first_prompt: re.Pattern,
                   any_prompt: re.Pattern) -> bool:
    """Interpreter prompts, when the first line has one or the second a continuation prompt."""
    if not (first_prompt.match(lines[first]) or (len(lines) > first + 1 and any_prompt.match(lines[first + 1]))):
        return False
    for index, line in enumerate(lines):
        found = any_prompt.match(line)
        if found:
            lines[index] = line[found.end():]
            shifts[index] += found.end()
    return True


def automagic_name(cell: PythonCell) -> str | None:
    """The line magic a one-line cell would run without its `%` (IPython's automagic), if the line has
    that shape: a bare leading name not followed by `=` or `,` (an assignment to a variable of that
    name). Whether it IS a magic, and not shadowed by a name of the notebook, is for the caller."""
    if cell.magic is not None or cell.ipython_lines != 1 or cell.rewritten:
        return None
    line = cell.lines[-1]  # the one line (blank lines before it do not count)
    if not line.strip():
        return None
    found = _LINE_SPLIT.match(line)
    if found is None or found.group(2):
        return None
    name, rest = found.group(3).strip(), found.group(4).lstrip()
    if not name or rest[:1] in ("=", ","):
        return None
    return name


def as_magic_line(cell: PythonCell) -> PythonCell:
    """`cell` (one line) run as a line magic: the line becomes a statement that binds nothing."""
    line = cell.lines[-1]
    indent = line[: len(line) - len(line.lstrip())]
    return PythonCell((*cell.lines[:-1], indent + _STATEMENT), cell.shifts, frozenset({len(cell.lines) - 1}), None,
                      cell.indent, cell.prompts, cell.ipython_lines)


# ---- finding IPython syntax, one logical line at a time ------------------------------------------
@dataclass
class _Scanner:
    lines: list[str]
    rewritten: set[int] = field(default_factory=set)
    joined: int = 0  # lines IPython would have joined into the line before them

    def run(self, start: int = 0) -> None:
        # `start` is always the first line of a logical line.
        while start < len(self.lines):
            line = self.lines[start]
            stripped = line.lstrip()
            indent = len(line) - len(stripped)
            if stripped[:1] in ESCAPES and not stripped.startswith(_OPERATORS):
                end = self._continued_to(start)
                self._replace(start, indent, end, _STATEMENT)
                start = end + 1
                continue
            tokens, complete = _logical_line(self.lines, start)
            if not tokens:
                return
            help_end = self._help_end(start, tokens, complete)
            if help_end is not None:
                self._replace(start, indent, help_end, _STATEMENT)
                start = help_end + 1
                continue
            command = _assigned_command(tokens)
            if command is not None:
                row, col = start + command[0], command[1]
                end = self._continued_to(row)
                self._replace(row, col, end, _VALUE)
                start = end + 1
                continue
            if not complete:
                return  # a string or brackets left open, or text the tokenizer rejects: Python will say
            start += tokens[-1].start[0]  # the line after the logical line's last

    def _help_end(self, start: int, tokens: list[tokenize.TokenInfo], complete: bool) -> int | None:
        """The last line of a logical line that ends in `target?` or `target??` (a help request)."""
        if not complete or tokens[-1].type != tokenize.NEWLINE or len(tokens) < 3 or tokens[-2].string != "?":
            return None
        last = start + tokens[-2].start[0] - 1
        content = "\n".join(self.lines[start:last + 1])[tokens[0].start[1]:]
        if not _HELP_TARGET.search(content):
            return None  # IPython cannot read it as help either: left as it is for Python to reject
        return last

    def _continued_to(self, row: int) -> int:
        """The last line of a command that starts on line `row`: it runs on while a line ends in `\\`."""
        end = row
        while end < len(self.lines) - 1 and self.lines[end].endswith("\\"):
            end += 1
        return end

    def _replace(self, row: int, col: int, end: int, replacement: str) -> None:
        """Lines row..end become one statement, ending at `replacement`, and blank lines after it."""
        self.lines[row] = self.lines[row][:col] + replacement
        self.rewritten.add(row)
        for index in range(row + 1, end + 1):
            self.lines[index] = ""
            self.rewritten.add(index)
        self.joined += end - row


def _logical_line(lines: list[str], start: int) -> tuple[list[tokenize.TokenInfo], bool]:
    """The tokens (INDENT/DEDENT left out, rows counted from 1 at `start`) of the logical line that
    starts at line `start`, and whether it ended; if not, the tokenizer stopped at the end of the cell
    in open brackets or a string, or at text it rejects. A new tokenizer per logical line: the only
    state carried from one to the next is indentation, which does not matter here."""
    position = start

    def readline() -> str:
        nonlocal position
        if position >= len(lines):
            return ""
        position += 1
        return lines[position - 1] + "\n"

    tokens: list[tokenize.TokenInfo] = []
    depth = 0
    try:
        for token in tokenize.generate_tokens(readline):
            if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            tokens.append(token)
            if token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0):
                return tokens, True
            if token.type == tokenize.OP:
                if token.string in _OPEN:
                    depth += 1
                elif token.string in _CLOSE and depth > 0:
                    depth -= 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return tokens, False


def _assigned_command(tokens: list[tokenize.TokenInfo]) -> tuple[int, int] | None:
    """Where the command of `x = !cmd` or `x = %magic args` starts (row from 0 within the logical
    line, column): right after the line's first `=` outside brackets."""
    depth = 0
    for index, token in enumerate(tokens):
        if token.string == "=" and depth == 0:
            after = [t for t in tokens[index + 1:index + 4] if t.string.strip()]
            if len(after) >= 2 and after[0].string == "%" and after[1].type == tokenize.NAME:
                return after[0].start[0] - 1, after[0].start[1]
            if after and after[0].string == "!" and not token.line.lstrip().startswith("="):
                return after[0].start[0] - 1, after[0].start[1]
            return None
        if token.string in _OPEN:
            depth += 1
        elif token.string in _CLOSE and depth > 0:
            depth -= 1
    return None
