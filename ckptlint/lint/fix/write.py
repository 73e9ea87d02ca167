"""The file side of autofix: read a file for fixing, turn the fixed text back into bytes exactly like the
original (PEP 263 encoding, BOM, line endings; notebooks cell by cell), render diffs, and write
atomically (ckptlint.atomic_write) without overwriting a file that changed since it was read.

Notebooks: the code cells are joined into one module as for linting (ckptlint.lint.notebooks), except
that the blank line after each cell is replaced by a marker comment, so the fixed module can be cut back
into cells even when a fix added lines. Lines that are not the cell's own text when linted (IPython
syntax read as Python) come back from the original cell, and a fix that would change one is refused;
new lines get back the indent IPython removes from an indented cell. A cell left out of the module (it
does not parse, or is a cell magic's) is never changed. Only the `source` of cells whose code changed is
replaced, in place in the JSON text: every other byte of the notebook (other cells, outputs, metadata,
formatting) stays.
"""

from __future__ import annotations

import codecs
import difflib
import io
import json
import os
import re
import tokenize
import uuid
from dataclasses import dataclass
from pathlib import Path

from ckptlint.atomic_write import WriteRefused, write_atomically


class UnfixableFile(Exception):
    """The file cannot be fixed; the message is one line, without the path."""


# ---- diffs -------------------------------------------------------------------------------------------
def unified_diff(old: str, new: str, fromfile: str, tofile: str | None = None) -> str:
    """A unified diff of two texts (line endings shown as plain newlines)."""
    old_lines = old.replace("\r\n", "\n").splitlines(keepends=True)
    new_lines = new.replace("\r\n", "\n").splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, fromfile=fromfile, tofile=tofile or fromfile):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


# ---- Python files ----------------------------------------------------------------------------------
@dataclass
class PythonFile:
    path: Path
    data: bytes
    stat: os.stat_result
    encoding: str  # codec for the text, without the BOM
    bom: bool
    text: str

    cell_starts_of = None

    @property
    def fix_text(self) -> str:
        return self.text

    def render(self, new_text: str) -> tuple[bytes, str]:
        new_text = _keep_final_newline(self.text, new_text)
        try:
            body = new_text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise UnfixableFile(f"the fix needs {exc.object[exc.start:exc.end]!r}, which {self.encoding} cannot encode") from None
        data = (codecs.BOM_UTF8 if self.bom else b"") + body
        return data, unified_diff(self.text, new_text, str(self.path))


def _keep_final_newline(old: str, new: str) -> str:
    """The fixed text ends as the original did. libcst drops the final line ending of a file whose
    lines end with a lone CR (old Mac style): `parse_module("x = 1\r").code == "x = 1"`."""
    for ending in ("\r\n", "\n", "\r"):
        if old.endswith(ending):
            return new if new.endswith(("\n", "\r")) else new + ending
    return new


def _decode_python(path: Path, data: bytes, st: os.stat_result) -> PythonFile:
    from ckptlint.lint.sources import UnreadableFile, decode_python

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
        decode_python(data)  # the same checks as for linting (a codec may fail in any way)
    except UnreadableFile as exc:
        raise UnfixableFile(str(exc)) from None
    except Exception as exc:
        raise UnfixableFile(f"cannot decode: {exc}") from None
    bom = data.startswith(codecs.BOM_UTF8)
    if text.startswith("\ufeff"):
        text = text[1:]
    codec = codecs.lookup(encoding).name
    if codec == "utf-8-sig":
        codec = "utf-8"
    return PythonFile(path, data, st, codec, bom, text)


# ---- notebooks ---------------------------------------------------------------------------------------
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(s: str, i: int) -> int:
    match = _WS.match(s, i)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _members(s: str, i: int) -> list[tuple[str, int, int]]:
    """(key, value start, value end) of the JSON object starting at s[i] == '{'."""
    if s[i] != "{":
        raise ValueError("object expected")
    out: list[tuple[str, int, int]] = []
    i = _skip(s, i + 1)
    if s[i] == "}":
        return out
    while True:
        if s[i] != '"':
            raise ValueError("key expected")
        key, i = json.decoder.scanstring(s, i + 1)  # type: ignore[attr-defined]  # in CPython, not in typeshed
        i = _skip(s, i)
        if s[i] != ":":
            raise ValueError("':' expected")
        start = _skip(s, i + 1)
        _value, end = _DECODER.raw_decode(s, start)
        out.append((key, start, end))
        i = _skip(s, end)
        if s[i] == "}":
            return out
        if s[i] != ",":
            raise ValueError("',' expected")
        i = _skip(s, i + 1)


def _elements(s: str, i: int) -> list[tuple[int, int]]:
    """(start, end) of each element of the JSON array starting at s[i] == '['."""
    if s[i] != "[":
        raise ValueError("array expected")
    out: list[tuple[int, int]] = []
    i = _skip(s, i + 1)
    if s[i] == "]":
        return out
    while True:
        _value, end = _DECODER.raw_decode(s, i)
        out.append((i, end))
        i = _skip(s, end)
        if s[i] == "]":
            return out
        if s[i] != ",":
            raise ValueError("',' expected")
        i = _skip(s, i + 1)


def source_spans(json_text: str) -> dict[int, tuple[int, int]]:
    """Cell number (1-based, all cells) -> span of its `source` value in the notebook's JSON text."""
    start = _skip(json_text, 0)
    cells = [m for m in _members(json_text, start) if m[0] == "cells"]
    if not cells:
        return {}
    spans: dict[int, tuple[int, int]] = {}
    for number, (element_start, _end) in enumerate(_elements(json_text, cells[-1][1]), start=1):
        if json_text[element_start] != "{":
            continue
        sources = [(s, e) for key, s, e in _members(json_text, element_start) if key == "source"]
        if sources:
            spans[number] = sources[-1]
    return spans


def _json_source(lines: list[str], original_span: str, as_list: bool, ensure_ascii: bool) -> str:
    """Serialize a cell source like the original did: a string, or a list of lines with the original's
    whitespace around the elements."""
    if not as_list:
        return json.dumps("".join(lines), ensure_ascii=ensure_ascii)
    if not lines:
        return "[]"
    opening = re.match(r"\[([ \t\r\n]*)", original_span)
    closing = re.search(r"([ \t\r\n]*)\]$", original_span)
    inner = opening.group(1) if opening and opening.group(1) else ""
    outer = closing.group(1) if closing else ""
    items = [json.dumps(line, ensure_ascii=ensure_ascii) for line in lines]
    return "[" + inner + ("," + (inner or " ")).join(items) + outer + "]"


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # a line with its end, as CPython counts lines


@dataclass
class _Cell:
    number: int
    raw: str  # the cell's source as in the notebook
    as_list: bool
    blanked: list[str]  # its lines as linted (IPython syntax read as Python; all blank when left out)
    rewritten: frozenset[int] = frozenset()  # lines that are not the cell's own text
    indent: str = ""  # removed from every line that had it, as IPython does for an indented cell
    prompts: bool = False
    included: bool = True


@dataclass
class NotebookFile:
    path: Path
    data: bytes
    stat: os.stat_result
    json_text: str
    cells: list[_Cell]
    marker: str
    joined: str  # the code cells joined, with a marker line after each cell

    @property
    def fix_text(self) -> str:
        return self.joined

    def _segments(self, text: str) -> list[list[str]]:
        lines = text.split("\n")
        segments: list[list[str]] = [[]]
        for line in lines:
            if line == self.marker:
                segments.append([])
            else:
                segments[-1].append(line)
        # After the last cell: the marker, then the final newline (an empty string from split).
        if len(segments) != len(self.cells) + 1 or segments[-1] != [""]:
            raise UnfixableFile("a fix moved a notebook cell boundary")
        return segments[:-1]

    def cell_starts_of(self, text: str) -> tuple[tuple[int, int], ...]:
        starts: list[tuple[int, int]] = []
        line = 1
        try:
            segments = self._segments(text)
        except UnfixableFile:
            return tuple((cell.number, 1) for cell in self.cells[:1])
        for cell, segment in zip(self.cells, segments):
            starts.append((cell.number, line))
            line += len(segment) + 1
        return tuple(starts)

    def render(self, new_text: str) -> tuple[bytes, str]:
        segments = self._segments(new_text)
        spans = source_spans(self.json_text)
        ensure_ascii = all(ord(ch) < 128 for ch in self.json_text)
        replacements: list[tuple[int, int, str]] = []
        diffs: list[str] = []
        for cell, segment in zip(self.cells, segments):
            if segment == cell.blanked:
                continue
            if cell.number not in spans:
                raise UnfixableFile(f"cell {cell.number} has no source to rewrite")
            new_source = _restore_cell(cell, segment)
            start, end = spans[cell.number]
            original_span = self.json_text[start:end]
            lines = _LINE.findall(new_source)
            replacements.append((start, end, _json_source(lines, original_span, cell.as_list, ensure_ascii)))
            diffs.append(unified_diff(cell.raw, new_source, f"{self.path}:cell_{cell.number}"))
        # Pieces joined once: slicing the whole text per changed cell was quadratic in big notebooks.
        pieces: list[str] = []
        position = 0
        for start, end, value in sorted(replacements):
            pieces += [self.json_text[position:start], value]
            position = end
        pieces.append(self.json_text[position:])
        text = "".join(pieces)
        try:
            json.loads(text)
        except (ValueError, RecursionError) as exc:  # pragma: no cover - a bug here must never write a file
            raise UnfixableFile(f"rewriting the notebook JSON failed: {exc}") from None
        return text.encode("utf-8"), "".join(diffs)


def _restore_cell(cell: _Cell, new_lines: list[str]) -> str:
    """The new cell source: unchanged lines come back byte for byte from the original (IPython syntax
    included, with their own line endings); new lines use the cell's newline and get back the indent
    IPython removed."""
    if not cell.included:
        raise UnfixableFile(f"a fix touches cell {cell.number}, which is not linted")
    if cell.prompts:
        raise UnfixableFile(f"a fix touches cell {cell.number}, which is written with interpreter prompts")
    raw_lines = _LINE.findall(cell.raw) or [""]
    newline = "\r\n" if "\r\n" in cell.raw else "\n"
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, cell.blanked, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(raw_lines[i] for i in range(i1, i2))
            continue
        for i in range(i1, i2):
            if i in cell.rewritten:
                raise UnfixableFile(f"a fix touches an IPython magic line in cell {cell.number}")
            if cell.indent and cell.blanked[i] and not raw_lines[i].startswith(cell.indent):
                raise UnfixableFile(f"a fix touches a line of cell {cell.number} that is not indented like the cell")
        out.extend((cell.indent + line if line else line) + newline for line in new_lines[j1:j2])
    # Every line but the last ends with a newline; the last ends as the original's last line did.
    text_lines = [line if line.endswith(("\n", "\r")) else line + newline for line in out]
    if text_lines and not cell.raw.endswith(("\n", "\r")):
        text_lines[-1] = text_lines[-1].rstrip("\r\n")
    return "".join(text_lines)


def _decode_notebook(path: Path, data: bytes, st: os.stat_result) -> NotebookFile:
    from ckptlint.lint.notebooks import read_notebook
    from ckptlint.lint.sources import UnreadableFile

    try:
        source = read_notebook(data)
    except UnreadableFile as exc:
        raise UnfixableFile(str(exc)) from None
    json_text = data.decode("utf-8")
    joined_lines = source.text.split("\n")
    marker = f"# ckptlint-cell-boundary-{uuid.uuid4().hex}"
    cells: list[_Cell] = []
    for cell, (number, first) in zip(source.cells, source.cell_starts or ()):
        separator = first + len(cell.lines)  # 1-based: the blank line after the cell
        if joined_lines[separator - 1] != "":
            raise UnfixableFile("unexpected notebook layout")
        joined_lines[separator - 1] = marker
        cells.append(_Cell(number, cell.raw, cell.as_list, list(cell.lines), cell.rewritten, cell.indent,
                           cell.prompts, cell.included))
    return NotebookFile(path, data, st, json_text, cells, marker, "\n".join(joined_lines))


# ---- reading and writing ------------------------------------------------------------------------------
def read_for_fix(path: Path, max_size: int) -> PythonFile | NotebookFile:
    try:
        data = path.read_bytes()
        st = os.stat(path)
    except OSError as exc:
        raise UnfixableFile(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_size:
        raise UnfixableFile("over max-file-size")
    if b"\0" in data:
        raise UnfixableFile("binary file")
    if path.suffix == ".ipynb":
        return _decode_notebook(path, data, st)
    return _decode_python(path, data, st)


def write_plan(plan) -> str | None:
    """Write a FilePlan (ckptlint.lint.fix.apply). Returns a one-line notice when the file was left alone."""
    if not plan.changed:
        return None
    try:
        # The file must still hold what was read and fixed: a save in an editor meanwhile wins.
        write_atomically(plan.path, plan.new_data, expected=plan.original)
    except WriteRefused as exc:
        return f"{plan.path}: {exc}"
    return None
