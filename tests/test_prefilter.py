"""The prefilter's code view (ckptlint.lint.prefilter.code_text): comments and string literals go, code stays.
Dropping code would drop files a rule fires on, so the conservative direction is checked against
Python's own tokenizer on every source file of the repository."""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter

import pytest

from ckptlint.lint.prefilter import code_text, may_call_method, might_matter
from cli_helpers import REPO

IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1  # ckpt.save(path)\n", "x = 1  \n"),
        ('"""Calls model.save(p)."""\nf(x)\n', '""""""\nf(x)\n'),
        ("s = 'it''s'\n", "s = ''''\n"),
        ('s = "a \\" # b"  # c\n', 's = ""  \n'),
        ("s = '''a\n'b'\n''' + t\n", "s = '''''' + t\n"),
        ('s = rb"\\d#"\n', 's = rb""\n'),
        ('if"x" in y: pass\n', 'if"" in y: pass\n'),  # `if` is not a string prefix
        # f-strings hold code: kept whole, with the rest of their line.
        ('m = f"{ckpt.save(p)}" # note\nz = "gone"\n', 'm = f"{ckpt.save(p)}" # note\nz = ""\n'),
        ("s = 'never closed\nckpt.save(p)\n", "s = 'never closed\nckpt.save(p)\n"),  # left as code
        # A bare \r ends a line (old Mac line endings): a comment stops there.
        ("x = 1  # note\rckpt.save(p)\r", "x = 1  \rckpt.save(p)\r"),
        ("s = 'a'\rckpt.save(p)\r", "s = ''\rckpt.save(p)\r"),
    ],
)
def test_code_text(source, expected):
    assert code_text(source) == expected


def test_a_word_only_in_comments_or_strings_does_not_keep_a_file():
    docs_only = '"""Restores tf.train.Checkpoint(model=m)."""\n# manager.save()\nprint("latest_checkpoint")\n'
    assert not might_matter(docs_only, ("CKPT101", "CKPT202", "CKPT302"))
    assert might_matter(docs_only + "ckpt = tf.train.Checkpoint(model=m)\n", ("CKPT101",))


def _code_names(source: str) -> Counter:
    """The identifiers Python's tokenizer sees outside strings and comments."""
    names: Counter = Counter()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME:
            names[token.string] += 1
        elif token.type == tokenize.STRING and re.match(r"(?i)[rb]*f", token.string):
            names.update(IDENTIFIER.findall(token.string))  # an f-string's expressions are code
    return names


SOURCES = sorted(p for folder in ("ckptlint", "rules", "tests", "sample_projects", "benchmarks")
                 for p in (REPO / folder).rglob("*.py"))


def test_code_text_keeps_every_identifier_of_the_code():
    assert len(SOURCES) > 50
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        kept = Counter(IDENTIFIER.findall(code_text(source)))
        missing = _code_names(source) - kept
        assert not missing, f"{path.relative_to(REPO)}: code_text dropped {dict(missing)}"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("model.save(path)", True),
        ("model . save (path)", True),
        ("model.save\\\n(path)", True),
        ("(model\n .save(path))", True),
        ("model.save_weights(path)", False),  # another method
        ("autosave(path)", False),  # another name
        ("save(path)", False),  # a function, not a method
        ("model.save", False),  # not called
    ],
)
def test_may_call_method(code, expected):
    assert may_call_method(code, "save") is expected


def _spelled(word: str) -> str:
    return f"x.{word[1:-1]}(y)" if word.startswith(".") and word.endswith("(") else word


def test_every_word_group_alone_passes_the_prefilter():
    """The anchors (the first word of each group, searched first) never hide a group that matches."""
    from ckptlint.lint.catalogue import rule_records as entries
    from ckptlint.lint.prefilter import word_groups

    every = tuple(entry.code for entry in entries())
    checked = 0
    for entry in entries():
        if entry.custom_prefilter:
            continue
        for group in word_groups(entry.api_words):
            text = "\n".join(_spelled(word) for word in group) + "\n"
            assert might_matter(text, (entry.code,)) and might_matter(text, every), (entry.code, group)
            checked += 1
    assert checked > 50
