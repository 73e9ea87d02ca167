"""The prefilter: decide from the text alone, before libcst parses anything, whether a selected rule
could fire on a file. Parsing is most of a cold run, and most files of a TF code base never touch
checkpoints, so every file this drops for free is a parse saved.

Two stages, both necessary conditions: the rules' words in the raw text (a substring search), then the
same test on the *code* (comments and string literals blanked), because a word that only appears in a
docstring, a comment or a log message gives no rule anything to see. On the 5,216-file benchmark corpus
the first stage keeps 330 files and the second 245 (4.3 of 54.8 MB); the blanking costs 0.5 s, the
parses it saves ~7 s.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

# The start of a string literal (with its prefix) or of a comment; the scanner skips from one to the next.
_START = re.compile(r"""(?P<prefix>[rRbBuUfF]{0,2})(?P<quote>'''|\"\"\"|'|")|\#[^\r\n]*""")
_BODY = {
    "'''": re.compile(r"(?:[^'\\]|\\.|'(?!''))*'''", re.S),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.S),
    "'": re.compile(r"(?:[^'\\\r\n]|\\.)*'", re.S),  # a bare \r ends a line too
    '"': re.compile(r'(?:[^"\\\r\n]|\\.)*"', re.S),
}


def code_text(text: str) -> str:
    """`text` with comments removed and string literals emptied (`"..."` -> `""`), so only code is left
    to search. Conservative wherever the text is not plain: f-strings are kept whole (their braces hold
    code) with the rest of their line, and an unterminated string is left as code. Blanking only ever
    removes characters, so no word appears here that was not in `text`."""
    out: list[str] = []
    position = 0
    while True:
        match = _START.search(text, position)
        if match is None:
            out.append(text[position:])
            return "".join(out)
        quote = match.group("quote")
        if quote is None:  # a comment
            out.append(text[position:match.start()])
            position = match.end()
            continue
        start = match.start()
        prefix = match.group("prefix")
        if prefix and start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            prefix = ""  # the letters end a name (`if"a"`): not a prefix
        body = _BODY[quote].match(text, match.end())
        if body is None:  # unterminated: not a string we can skip safely
            out.append(text[position:match.end()])
            position = match.end()
        elif "f" in prefix.lower():
            # Kept as code; on 3.12 an f-string may nest its own quote, so the rest of its line is kept too.
            line_end = text.find("\n", body.end())
            end = len(text) if line_end < 0 else line_end
            out.append(text[position:end])
            position = end
        else:
            out.append(text[position:match.start("quote")])
            out.append(quote + quote)
            position = body.end()


Test = Callable[[str], bool]


def might_matter(text: str, codes: tuple[str, ...]) -> bool:
    """Can any of the rules `codes` fire on a module with this source? Raw text first (cheap, drops
    most files), then the code alone."""
    test = _test_for(codes)
    return test is None or (test(text) and test(code_text(text)))


@lru_cache(maxsize=64)
def _test_for(codes: tuple[str, ...]) -> Test | None:
    """One test for the selected rules, built from the catalogue so that no rule module (nor libcst)
    is imported for a file it drops. None when a selected rule declares no words (every file is then
    parsed)."""
    from ckptlint.lint.catalogue import rule_records

    selected = [entry for entry in rule_records() if entry.code in codes]
    if any(not entry.api_words for entry in selected):
        return None
    plain = _ordered({group for e in selected if not e.custom_prefilter for group in word_groups(e.api_words)})
    custom = [(e.code, _ordered(word_groups(e.api_words))) for e in selected if e.custom_prefilter]
    # The first word of each group is searched first: a text without any of them matches no group.
    anchors = _minimal({_substring(group[0]) for e in selected for group in word_groups(e.api_words)})

    def test(text: str) -> bool:
        if not any(anchor in text for anchor in anchors):
            return False  # most files: a few substring searches, whatever the number of groups
        seen: dict[str, bool] = {}  # each word is looked for once, however many groups share it

        def has(word: str) -> bool:
            found = seen.get(word)
            if found is None:
                found = seen[word] = has_word(text, word)
            return found

        if any(all(has(word) for word in group) for group in plain):
            return True
        return any(any(all(has(word) for word in group) for group in groups)
                   and _rule(code).prefilter(text) for code, groups in custom)

    return test


def has_word(code: str, word: str) -> bool:
    """An `api_words` word in `code`: `.name(` is a call of a method `name`, however spaced
    (`x . name (`); any other word is a substring."""
    method = _method_of(word)
    return may_call_method(code, method) if method else word in code


def _method_of(word: str) -> str | None:
    """`name` for a word `.name(`, else None."""
    if len(word) > 2 and word[0] == "." and word[-1] == "(" and word[1:-1].isidentifier():
        return word[1:-1]
    return None


def word_groups(api_words) -> list[tuple[str, ...]]:
    """`api_words` entries as groups of words that must all appear."""
    return [(entry,) if isinstance(entry, str) else tuple(entry) for entry in api_words]


def _ordered(groups) -> tuple[tuple[str, ...], ...]:
    # Shorter groups first: a single word is checked before the pairs that contain it.
    return tuple(sorted(set(groups), key=lambda group: (len(group), group)))


def _substring(word: str) -> str:
    """What `has_word(code, word)` implies is a substring of `code`."""
    return _method_of(word) or word


def _minimal(words: set[str]) -> tuple[str, ...]:
    """The words not containing another one (`save` makes `save_weights` redundant as an anchor)."""
    return tuple(sorted(w for w in words if not any(other != w and other in w for other in words)))


# ---- text tests for the rules' own prefilters ----------------------------------------------------
# What may stand between a callee and its `(`: whitespace, line continuations, the `)` of a parenthesized
# callee, and comments (a call inside brackets may span lines).
_BEFORE_CALL = re.compile(r"(?:\s|\\|\)|#[^\r\n]*)*")


def is_name_char(code: str, index: int) -> bool:
    return 0 <= index < len(code) and (code[index].isalnum() or code[index] == "_")


def skip_to_call(code: str, end: int) -> int:
    """The index after what may separate the name ending at `end` from a `(` that calls it."""
    match = _BEFORE_CALL.match(code, end)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def may_call_method(code: str, method: str) -> bool:
    """Whether `code` may call a method named `method` (`x.method(...)`, `x . method (...)`): the whole
    name with a `(` after it and a `.` before it. A line break before the name may end a comment (inside
    brackets, `x.  # note` then `method(...)`), which a backward scan cannot see past: it counts as a `.`."""
    start = code.find(method)
    while start >= 0:
        end = start + len(method)
        if not is_name_char(code, end) and code.startswith("(", skip_to_call(code, end)):
            before = start - 1
            while before >= 0 and code[before] in " \t\f\\\r\n":
                before -= 1
            line_break = "\n" in code[before + 1:start] or "\r" in code[before + 1:start]
            if line_break or (before >= 0 and code[before] == "."):
                return True
        start = code.find(method, end)
    return False


def _rule(code: str):
    from ckptlint.lint.registry import rule_by_code

    return rule_by_code(code)
