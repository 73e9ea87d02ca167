"""What ckptlint prints about a hostile tree: file names and code lines with newlines, escape sequences,
bidirectional overrides, undecodable bytes or GitHub workflow commands in them. Nothing may reach the
terminal raw, and under GitHub Actions (which reads workflow commands from stdout and stderr alike) no
line may be taken for a command except ckptlint's own annotations."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from cli_helpers import REPO  # noqa: F401  (puts the repository on sys.path like the other CLI tests)


def run_ckptlint(*args, cwd, env=None):
    """The CLI in a subprocess; unlike cli_helpers' version, GITHUB_ACTIONS is passed through when given."""
    import subprocess

    full_env = {**os.environ, "NO_COLOR": "1"}
    full_env.pop("GITHUB_ACTIONS", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ckptlint", *args], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=300)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="file names with newlines and raw bytes")

BAD = "import tensorflow as tf\nopt_a = tf.keras.optimizers.Adam()\nopt_b = tf.keras.optimizers.Adam()\nslots = {o.name: o for o in (opt_a, opt_b)}\n"
FORGED = "::error file=README.md,line=1::forged"
HOSTILE_NAMES = [
    f"a\n{FORGED}.py",
    f"{FORGED} x.py",
    "b\x1b[2J\x1b]0;title\x07.py",
    "c\u202egnp.py",
    "##[error]old-style.py",
]
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile_tree(tmp_path):
    for name in HOSTILE_NAMES:
        (tmp_path / name).write_text(BAD)
    # CKPT000 quotes the offending line (the rules' words make the prefilter keep the file)
    (tmp_path / "syntax.py").write_text(f"{BAD}x = 1\n    {FORGED}\n##[error]forged too\n")
    os.mkfifo(tmp_path / f"fifo\n{FORGED}.py")  # named on the command line: CKPT001 with its name
    (tmp_path / os.fsdecode(b"undecodable-\xff.py")).write_text(BAD)
    (tmp_path / "pyproject.toml").write_text('[tool.ckptlint]\nextend-select = ["CKPT000", "CKPT001"]\n')
    return tmp_path


def _lines(result) -> list[str]:
    return result.stdout.splitlines() + result.stderr.splitlines()


def _assert_no_raw_control(result) -> None:
    for line in _lines(result):
        assert not RAW_CONTROL.search(line), repr(line)
        assert not re.search("[\ud800-\udfff]", line), repr(line)


def _run(tree, *args, actions: bool):
    fifo = next(p for p in os.listdir(tree) if p.startswith("fifo"))
    env = {"GITHUB_ACTIONS": "true"} if actions else {}
    return run_ckptlint("check", "--no-cache", *args, ".", fifo, cwd=tree, env=env)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_under_actions_only_ckptlints_own_annotations_are_commands(hostile_tree, fmt):
    result = _run(hostile_tree, "--format", fmt, actions=True)
    assert result.returncode == 1, result.stderr
    _assert_no_raw_control(result)
    commands = [line for line in _lines(result) if line.lstrip().startswith("::")]
    assert not [line for line in _lines(result) if "##[" in line]
    if fmt != "github":
        assert commands == []
        if fmt in ("json", "sarif"):
            json.loads(result.stdout)
        return
    # one annotation per finding, each on a file that is really there (as the runner unescapes it)
    def unescape(value: str) -> str:
        for escaped, char in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
            value = value.replace(escaped, char)
        return value

    from ckptlint.report.escape import printable

    # A newline in a name is a property escape (%0A) the runner turns back; other control characters are
    # shown as escapes, and `##[` with GitHub's escape for `[`.
    names = {"\n".join(printable(part) for part in name.split("\n")).replace("##[", "##%5B")
             for name in [*HOSTILE_NAMES, "syntax.py", os.fsdecode(b"undecodable-\xff.py"),
                          next(p for p in os.listdir(hostile_tree) if p.startswith("fifo"))]}
    annotated = []
    for line in commands:
        match = re.fullmatch(r"::(error|warning|notice) ([^:]*)::(.*)", line)
        assert match, line
        properties = dict(item.split("=", 1) for item in match.group(2).split(","))
        if "file" in properties:
            annotated.append(unescape(properties["file"]))
    assert set(annotated) == names
    findings = json.loads(_run(hostile_tree, "--format", "json", actions=False).stdout)
    assert len(annotated) == len(findings)


def test_text_report_and_notices_show_escapes_not_raw_characters(hostile_tree):
    result = _run(hostile_tree, "--format", "text", actions=False)
    assert result.returncode == 1
    _assert_no_raw_control(result)
    out = result.stdout
    assert "a\\n::error file=README.md,line=1::forged.py:2:9: CKPT301" in out
    assert "./::error file=README.md,line=1::forged x.py:2:9: CKPT301" in out  # never at a line start
    assert "b\\x1b[2J\\x1b]0;title\\x07.py:2:9" in out
    assert "c\\u202egnp.py:2:9" in out
    assert "undecodable-\\xff.py:2:9" in out
    assert "fifo\\n::error file=README.md,line=1::forged.py:1:1: CKPT001 [error] not a regular file (a FIFO)" in out


def test_sarif_with_an_undecodable_file_name(hostile_tree):
    result = run_ckptlint("check", "--no-cache", "--format", "sarif", os.fsdecode(b"undecodable-\xff.py"),
                          cwd=hostile_tree)
    assert result.returncode == 1, result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"undecodable-%FF.py"}


def test_diff_output_is_escaped_on_stdout(tmp_path):
    name = "d\x1b[31m.py"
    (tmp_path / name).write_text("import tensorflow as tf\nmodel = tf.keras.Model()\nopt = tf.keras.optimizers.Adam()\n"
                                 "model.compile(optimizer=opt)\nckpt = tf.train.Checkpoint(model=model)\n"
                                 "model.fit(x)\nckpt.save('/tmp/c')\n")
    result = run_ckptlint("check", "--no-cache", "--diff", name, cwd=tmp_path, env={"GITHUB_ACTIONS": "true"})
    _assert_no_raw_control(result)
    assert not [line for line in _lines(result) if line.lstrip().startswith("::")]
