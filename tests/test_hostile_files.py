"""Files as a hostile tree can hold them: odd encodings, special files, huge or deep sources. Each is a
finding (CKPT000/CKPT001) or a notice and the run goes on: never a traceback, a hang, a crash or an
exit code that reads as something else."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from cli_helpers import REPO, run_ckptlint

BAD = "import tensorflow as tf\na = tf.keras.optimizers.Adam()\nb = tf.keras.optimizers.Adam()\nslots = {o.name: o for o in (a, b)}\n"


def _check(cwd, *args):
    result = run_ckptlint("check", "--no-cache", "--format", "json", *args, cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), (result.returncode, result.stderr)
    findings = json.loads(result.stdout)
    assert result.returncode == (1 if findings else 0)
    return findings, result


COOKIES = {
    # a cookie that decodes to a lone surrogate, which libcst's parser cannot take
    "unicode_escape": (b"# -*- coding: unicode_escape -*-\nx = '\\udcff'\n" + BAD.encode(), "lone surrogate"),
    "raw_unicode_escape": (b"# coding: raw_unicode_escape\nx = '\\udcff'\n" + BAD.encode(), "lone surrogate"),
    "utf-7": (b"# coding: utf-7\nx = '+3P8-'\n" + BAD.encode(), "lone surrogate"),
    "a NUL from an escape": (b"# coding: unicode_escape\nx = '\\x00'\n" + BAD.encode(), "NUL"),
    # codecs that fail in ways other than UnicodeDecodeError
    "punycode": (b"# coding: punycode\nx = '\xff\xfe'\n", "cannot decode as punycode"),
    "undefined": (b"# coding: undefined\nx = 1\n", "cannot decode as undefined"),
    "rot13 (not a text encoding)": (b"# coding: rot13\nx = 1\n", "cannot decode"),
    "hex (bytes to bytes)": (b"# coding: hex\nx = 1\n", "encoding"),
    "unknown codec": (b"# coding: no-such-codec\nx = 1\n", "encoding"),
    "BOM and a different cookie": (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "encoding"),
    "invalid UTF-8": (b"x = '\xff\xfe'\n", "encoding"),
    "invalid UTF-8 after the first lines": (b"\n\n\nx = '\xff\xfe'\n", "cannot decode as utf-8"),
    "binary": (b"\x00\x01\x02", "binary file"),
}


@pytest.mark.parametrize("name", sorted(COOKIES))
def test_decoding_problems_are_ckpt001(tmp_path, name):
    data, words = COOKIES[name]
    (tmp_path / "f.py").write_bytes(data)
    findings, _ = _check(tmp_path, "f.py")
    assert [f["code"] for f in findings] == ["CKPT001"], findings
    assert words in findings[0]["message"]


@pytest.mark.skipif(os.name != "posix", reason="special files")
def test_special_files_named_on_the_command_line(tmp_path):
    os.mkfifo(tmp_path / "fifo.py")
    (tmp_path / "dev.py").symlink_to("/dev/zero")
    findings, _ = _check(tmp_path, "fifo.py", "dev.py")
    assert {(f["filename"], f["message"]) for f in findings} == {
        ("fifo.py", "not a regular file (a FIFO)"), ("dev.py", "not a regular file (a character device)")}
    result = run_ckptlint("check", "--no-cache", "/dev/zero", cwd=tmp_path)
    assert result.returncode == 1 and "not a regular file (a character device)" in result.stdout


@pytest.mark.skipif(os.name != "posix", reason="sparse files")
def test_a_huge_file_is_skipped_without_being_read(tmp_path):
    with open(tmp_path / "huge.py", "wb") as handle:
        handle.truncate(50 * 1024**3)  # 50 GiB, sparse: reading it would take minutes and all memory
    result = run_ckptlint("check", "--no-cache", "huge.py", cwd=tmp_path)
    assert result.returncode == 0 and "skipped: 53,687,091,200 bytes is over max-file-size" in result.stdout


DEEP = {
    "nested brackets": "x = " + "(" * 1500 + "1" + ")" * 1500,
    "not, ten thousand times": "x = " + "not " * 10000 + "y",
    "unary minus": "x = " + "-" * 1000 + "y",
    "a+a+...": "x = " + "+".join(["a"] * 20000),
    "attributes": "x = a" + ".b" * 20000,
    "calls": "x = f" + "()" * 600,
    "subscripts": "x = f" + "[0]" * 600,
    "lambdas": "x = " + "lambda: " * 600 + "1",
    "ternaries": "x = " + "a if b else " * 600 + "c",
    "and": "x = " + " and ".join(["a"] * 5000),
    "elif": "if a:\n    pass\n" + "elif a:\n    pass\n" * 600,
    "decorated deep": "@" + "a" + ".b" * 3000 + "\ndef f():\n    pass",
    "except type": "try:\n    pass\nexcept " + "a" + ".b" * 3000 + ":\n    pass",
    "case guard": "match x:\n    case 1:\n        pass\n    case _ if " + "-" * 3000 + "y:\n        pass",
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_sources_are_not_analysed_and_the_run_goes_on(tmp_path, name):
    (tmp_path / "deep.py").write_text(BAD + DEEP[name] + "\n")
    (tmp_path / "ok.py").write_text(BAD)
    for jobs in ("1", "2"):
        findings, result = _check(tmp_path, "--jobs", jobs, ".")
        deep = [f for f in findings if f["filename"] == "deep.py"]
        assert [f["code"] for f in deep] == ["CKPT001"], (name, deep)
        assert deep[0]["message"].startswith("not analysed: ")
        assert [f["code"] for f in findings if f["filename"] == "ok.py"] == ["CKPT301", "CKPT301"]


def test_a_match_statement_is_analysed(tmp_path):
    """A `case` has no position of its own: the nesting guard measures a `match` by its cases' patterns."""
    (tmp_path / "match.py").write_text(BAD + "match a:\n    case {'x': 1}:\n        pass\n    case _:\n        pass\n")
    findings, _ = _check(tmp_path, ".")
    assert [f["code"] for f in findings] == ["CKPT301", "CKPT301"]


def test_deep_sources_are_not_analysed_in_the_pool_either(tmp_path):
    for index in range(8):
        (tmp_path / f"ok{index}.py").write_text(BAD)
    (tmp_path / "deep.py").write_text(BAD + "x = " + "-" * 5000 + "y\n")
    findings, _ = _check(tmp_path, "--jobs", "2", ".")
    assert [f["code"] for f in findings if f["filename"] == "deep.py"] == ["CKPT001"]
    assert len(findings) == 17


def test_a_file_over_the_time_budget_is_reported_and_the_run_goes_on(tmp_path):
    big = "import tensorflow as tf\n" + "".join(
        f"c{i} = tf.train.Checkpoint(model=m{i})\nc{i}.save('d')\nc{i}.restore(p)\n" for i in range(20000))
    (tmp_path / "slow.py").write_text(big)
    (tmp_path / "ok.py").write_text(BAD)
    for index in range(8):  # with --jobs 2, enough files for the pool
        (tmp_path / f"ok{index}.py").write_text(BAD)
    for jobs in ("1", "2"):
        findings, _ = _check(tmp_path, "--jobs", jobs, "--file-timeout", "5", ".")
        slow = [f for f in findings if f["filename"] == "slow.py"]
        # over its CPU budget, or (on a machine so loaded that the file gets little CPU) past the pool's
        # wall-clock backstop: either way one CKPT001 and the run goes on
        assert [f["code"] for f in slow] == ["CKPT001"] and "(--file-timeout)" in slow[0]["message"], slow
        assert len(findings) == 1 + 9 * 2


def test_a_bytes_and_text_concatenation_is_a_syntax_error_not_a_crash(tmp_path):
    (tmp_path / "f.py").write_text(BAD + "x = b'a' 'b'\n")
    findings, _ = _check(tmp_path, "f.py")
    assert [f["code"] for f in findings if f["code"] == "CKPT000"] == ["CKPT000"]


# ---- autofix ----------------------------------------------------------------------------------------
FIXABLE = (REPO / "sample_projects" / "checkpoint_missing_optimizer" / "buggy" / "train.py").read_text()


def test_fix_leaves_a_read_only_file_alone(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(FIXABLE)
    os.chmod(path, 0o444)
    result = run_ckptlint("check", "--no-cache", "--fix", "--unsafe-fixes", "train.py", cwd=tmp_path)
    assert result.returncode == 1 and "read-only; not written" in result.stdout
    assert path.read_text() == FIXABLE and stat.S_IMODE(path.stat().st_mode) == 0o444


def test_fix_does_not_split_a_hard_link(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(FIXABLE)
    os.link(path, tmp_path / "other.py")
    result = run_ckptlint("check", "--no-cache", "--fix", "--unsafe-fixes", "train.py", cwd=tmp_path)
    assert result.returncode == 1 and "hard links" in result.stdout
    assert os.stat(path).st_ino == os.stat(tmp_path / "other.py").st_ino
    assert path.read_text() == FIXABLE


def test_fix_keeps_the_last_line_ending_of_a_cr_only_file(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(FIXABLE.replace("\n", "\r").encode())
    result = run_ckptlint("check", "--no-cache", "--fix", "--unsafe-fixes", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    data = path.read_bytes()
    assert b"tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)" in data
    assert data.endswith(FIXABLE.replace("\n", "\r")[-12:].encode()) and b"\n" not in data


def test_python_warnings_about_the_linted_code_do_not_leak(tmp_path):
    (tmp_path / "train.py").write_text('PATTERN = "\\d+"\nWHERE = "C:\\run\\d"\n' + FIXABLE)
    for args in (["--no-cache", "train.py"], ["--no-cache", "--diff", "--unsafe-fixes", "train.py"],
                 ["--no-cache", "--fix", "--unsafe-fixes", "train.py"]):
        import subprocess

        result = subprocess.run([sys.executable, "-W", "always", "-m", "ckptlint", "check", *args], cwd=tmp_path,
                                capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
        assert "Warning" not in result.stderr, (args, result.stderr)


def test_match_statements_are_analysed(tmp_path):
    """`case` clauses have no position of their own in CPython's tree: the nesting guard measures them by
    their patterns (it once read `.lineno` of a `case` and failed on every file with a `match`)."""
    (tmp_path / "m.py").write_text(
        BAD + "def step(command):\n    match command:\n        case 'save':\n            pass\n"
        "        case {'kind': kind, **rest} if kind:\n            pass\n        case _:\n            pass\n")
    findings, result = _check(tmp_path, "m.py")
    assert [f["code"] for f in findings] == ["CKPT301", "CKPT301"], result.stderr
