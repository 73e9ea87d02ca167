"""Text from a linted tree, made safe for the channel it is printed on.

File names, messages that quote code, and source lines come from the tree being linted, so they may
hold anything a file name or a source line can: newlines, terminal escape sequences, bidirectional
overrides, bytes that are not UTF-8 (kept by Python as lone surrogates). Printed raw, a newline in a
file name starts a new line the reader (or a CI runner) takes for ckptlint's own, an escape sequence
rewrites the terminal, and a lone surrogate makes `print` raise.

- `printable()` shows every such character as a visible escape (`\\n`, `\\x1b`, `\\u202e`, and `\\xff`
  for an undecodable byte of a file name). Everything ckptlint prints about a file goes through it.
- Under GitHub Actions (`GITHUB_ACTIONS=true`) the runner reads workflow commands from both stdout and
  stderr: a line whose text starts with `::` (after leading blanks), or that holds `##[`, is a command.
  `neutralize_line()` and `neutralize_json()` defuse those in every line ckptlint prints that is not
  one of its own `--format github` annotations (which escape their data themselves, report/github.py).
"""

from __future__ import annotations

import os
import re

# C0 and C1 controls, DEL, line and paragraph separators, bidirectional embeddings/overrides/isolates,
# and surrogates (an undecodable byte of a file name is a surrogate in U+DC80..U+DCFF).
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_OR_TAB = re.compile("[\t" + _UNSAFE.pattern[1:])
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_tabs: bool = False) -> str:
    """`text` with every character that could break or forge a line shown as an escape."""
    pattern = _UNSAFE if keep_tabs else _UNSAFE_OR_TAB
    return pattern.sub(_escape, text) if pattern.search(text) else text


def display_path(path: str) -> str:
    """A file name as printed at the start of a line: printable, and never starting with a blank or a
    colon (`./` is put in front, naming the same file), so it cannot begin a workflow command."""
    shown = printable(path)
    return "./" + shown if shown[:1].isspace() or shown.startswith(":") else shown


def github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


_COMMAND_START = re.compile(r"^(\s*):(?=:)")


def neutralize_line(line: str) -> str:
    """A line the Actions runner will not take for a workflow command: a leading `::` becomes `%3A:`
    and `##[` becomes `##%5B` (GitHub's own percent escapes)."""
    line = _COMMAND_START.sub(r"\1%3A", line)
    return line.replace("##[", "##%5B") if "##[" in line else line


def neutralize_text(text: str) -> str:
    return "".join(neutralize_line(line) for line in text.splitlines(keepends=True))


def neutralize_json(text: str) -> str:
    """A JSON document for the runner: `##[` can only occur inside a string, where `\\u005b` is the same
    character, so the document's value does not change. No JSON line starts with `::`."""
    return text.replace("##[", "##\\u005b") if "##[" in text else text


def for_stream(line: str) -> str:
    """One line of ckptlint's own (an error, a notice) as printed on stdout or stderr."""
    line = printable(line, keep_tabs=True)
    return neutralize_line(line) if github_actions() else line
