"""Inline suppressions, read from comment tokens (never from strings that merely look like comments).

- `# ckptlint: disable=CKPT101,CKPT201` on the finding's line or alone on the line above;
- `# noqa: CKPT101` on the line (a bare `# noqa` suppresses every code on that line, like flake8/ruff);
- `# ckptlint: disable-file=CKPT301` anywhere, or `# ckptlint: disable-file` for every rule.
Codes may be prefixes (`CKPT2`). Only files that have findings are tokenized.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

_DISABLE = re.compile(r"ckptlint:\s*disable(-file)?\s*(?:=\s*([A-Za-z0-9_,\s-]+))?", re.IGNORECASE)
_NOQA = re.compile(r"\bnoqa\b(?::\s*([A-Z0-9,\s]+))?", re.IGNORECASE)
ALL = "*"
# Every suppression contains one of these words; a file without them needs no tokenizing.
_MARKER = re.compile(r"ckptlint|noqa", re.IGNORECASE)


@dataclass
class Suppressions:
    by_line: dict[int, set[str]] = field(default_factory=dict)
    file_wide: set[str] = field(default_factory=set)

    def suppresses(self, code: str, line: int) -> bool:
        return _covers(self.file_wide, code) or _covers(self.by_line.get(line, set()), code)

    def to_data(self) -> dict:
        """JSON for the result cache (a project rule's findings in this file are suppressed later)."""
        return {"by_line": [[line, sorted(codes)] for line, codes in sorted(self.by_line.items())],
                "file_wide": sorted(self.file_wide)}

    @classmethod
    def from_data(cls, data) -> Suppressions:
        from ckptlint.lint import serial

        item = serial.record(data, ("by_line", "file_wide"))
        by_line: dict[int, set[str]] = {}
        for entry in serial.array(item["by_line"]):
            pair = serial.array(entry)
            if len(pair) != 2:
                raise serial.DataError("a suppressed line is [line, codes]")
            by_line[serial.integer(pair[0], 0)] = set(serial.texts(pair[1]))
        return cls(by_line, set(serial.texts(item["file_wide"])))


def _covers(selectors: set[str], code: str) -> bool:
    return ALL in selectors or any(code.startswith(s) for s in selectors)


def _codes(text: str | None) -> set[str]:
    if not text:
        return {ALL}
    codes = {c.strip().upper() for c in re.split(r"[,\s]+", text) if c.strip()}
    return codes or {ALL}


def parse(text: str) -> Suppressions:
    result = Suppressions()
    if not _MARKER.search(text):
        return result  # no marker anywhere: nothing to tokenize for (most files with findings)
    lines = text.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return result
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        line = token.start[0]
        comment = token.string
        standalone = lines[line - 1][: token.start[1]].strip() == "" if line - 1 < len(lines) else False
        for match in _DISABLE.finditer(comment):
            codes = _codes(match.group(2))
            if match.group(1):
                result.file_wide |= codes
                continue
            result.by_line.setdefault(line, set()).update(codes)
            if standalone:  # a comment alone on its line covers the next line
                result.by_line.setdefault(line + 1, set()).update(codes)
        noqa = _NOQA.search(comment)
        if noqa:
            result.by_line.setdefault(line, set()).update(_codes(noqa.group(1)))
    return result
