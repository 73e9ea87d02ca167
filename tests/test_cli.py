"""The command line as users and CI meet it: exit codes, configuration, suppressions, bad input."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from cli_helpers import run_ckptlint

BAD = """
import tensorflow as tf
opt_a = tf.keras.optimizers.Adam()
opt_b = tf.keras.optimizers.Adam()
slots = {o.name: o for o in (opt_a, opt_b)}
"""
CLEAN = """
import tensorflow as tf
opt = tf.keras.optimizers.Adam(name="only")
"""


def codes(out: str) -> list[str]:
    return [f["code"] for f in json.loads(out)]


def test_clean_file_exits_zero(write, tmp_path):
    write("clean.py", CLEAN)
    result = run_ckptlint("check", "--no-cache", "clean.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "All checks passed" in result.stdout


def test_findings_exit_one_and_text_shows_source_and_caret(write, tmp_path):
    write("bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", "bad.py", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bad.py:2:9: CKPT301 ")
    assert lines[1] == "    opt_a = tf.keras.optimizers.Adam()"
    assert lines[2] == "            ^"
    assert "Found 2 findings" in result.stdout


def test_exit_zero(write, tmp_path):
    write("bad.py", BAD)
    assert run_ckptlint("check", "--no-cache", "--exit-zero", "bad.py", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "missing.py"], "missing.py: no such file or directory"),
        (["check", "--select", "NOPE1", "."], "unknown rule code or prefix 'NOPE1'"),
        (["check", "--jobs", "-1", "."], "--jobs must be"),
        (["rule", "CKPT999"], "unknown rule 'CKPT999'"),
    ],
)
def test_usage_errors_are_one_line_exit_two(tmp_path, args, message):
    result = run_ckptlint(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_select_and_ignore(write, tmp_path):
    write("bad.py", BAD)
    assert run_ckptlint("check", "--no-cache", "--ignore", "CKPT301", "bad.py", cwd=tmp_path).returncode == 0
    assert run_ckptlint("check", "--no-cache", "--select", "CKPT1", "bad.py", cwd=tmp_path).returncode == 0
    result = run_ckptlint("check", "--no-cache", "--select", "CKPT3", "--format", "json", "bad.py", cwd=tmp_path)
    assert codes(result.stdout) == ["CKPT301", "CKPT301"]


def test_config_in_pyproject_and_cli_override(write, tmp_path):
    write("pyproject.toml", '[tool.ckptlint]\nignore = ["CKPT301"]\n')
    write("pkg/bad.py", BAD)
    assert run_ckptlint("check", "--no-cache", ".", cwd=tmp_path).returncode == 0
    # --select on the command line replaces the config's selection; the config's ignore still applies.
    assert run_ckptlint("check", "--no-cache", "--select", "CKPT301", ".", cwd=tmp_path).returncode == 0
    write("pyproject.toml", '[tool.ckptlint]\nselect = ["CKPT1"]\n')
    assert run_ckptlint("check", "--no-cache", ".", cwd=tmp_path).returncode == 0
    assert run_ckptlint("check", "--no-cache", "--select", "CKPT301", ".", cwd=tmp_path).returncode == 1


def test_nearest_pyproject_wins(write, tmp_path):
    write("pyproject.toml", "[tool.ckptlint]\n")
    write("sub/pyproject.toml", '[tool.ckptlint]\nignore = ["CKPT3"]\n')
    write("sub/bad.py", BAD)
    write("top_bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert {f["filename"] for f in json.loads(result.stdout)} == {"top_bad.py"}


def test_per_file_ignores(write, tmp_path):
    write("pyproject.toml", '[tool.ckptlint.per-file-ignores]\n"legacy/*.py" = ["CKPT301"]\n')
    write("legacy/bad.py", BAD)
    write("new/bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert {f["filename"] for f in json.loads(result.stdout)} == {os.path.join("new", "bad.py")}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tool.ckptlint]\nselct = ['CKPT1']\n", "unknown key(s) in [tool.ckptlint]: selct"),
        ("[tool.ckptlint]\nselect = 'CKPT1'\n", "`select` must be a list of strings"),
        ("[tool.ckptlint]\nignore = ['XYZ9']\n", "unknown rule code or prefix 'XYZ9'"),
        ("[tool.ckptlint\n", "invalid TOML"),
        ("[tool.ckptlint]\nmax-file-size = -3\n", "max-file-size"),
    ],
)
def test_bad_config_is_one_line_exit_two(write, tmp_path, config, message):
    write("pyproject.toml", config)
    write("bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "pyproject.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_exclude_extend_exclude_and_default_excludes(write, tmp_path):
    write("pyproject.toml", '[tool.ckptlint]\nextend-exclude = ["generated", "scripts/old_*.py"]\n')
    write("generated/bad.py", BAD)
    write("scripts/old_train.py", BAD)
    write("scripts/train.py", BAD)
    write(".venv/lib/bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert {f["filename"] for f in json.loads(result.stdout)} == {os.path.join("scripts", "train.py")}


def test_gitignore_is_honoured(write, tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    write(".gitignore", "ignored/\n")
    write("ignored/bad.py", BAD)
    write("kept/bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert {f["filename"] for f in json.loads(result.stdout)} == {os.path.join("kept", "bad.py")}


@pytest.mark.parametrize(
    "source",
    [
        BAD.replace("Adam()\nopt_b", "Adam()  # ckptlint: disable=CKPT301\nopt_b").replace("opt_b = tf.keras.optimizers.Adam()", "opt_b = tf.keras.optimizers.Adam()  # noqa: CKPT301"),
        BAD.replace("opt_a =", "# ckptlint: disable=CKPT301\nopt_a =").replace("opt_b = tf.keras.optimizers.Adam()", "opt_b = tf.keras.optimizers.Adam()  # noqa"),
        "# ckptlint: disable-file=CKPT301\n" + BAD,
        BAD.replace("Adam()\nopt_b", "Adam()  # ckptlint: disable=CKPT3\nopt_b").replace("opt_b = tf.keras.optimizers.Adam()", "opt_b = tf.keras.optimizers.Adam()  # NOQA:CKPT301,CKPT101"),
    ],
    ids=["same-line", "line-above-and-bare-noqa", "file", "prefix-and-list"],
)
def test_suppressions(write, tmp_path, source):
    write("bad.py", source)
    result = run_ckptlint("check", "--no-cache", "bad.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_suppression_for_another_code_does_not_hide_and_strings_are_not_comments(write, tmp_path):
    write("bad.py", BAD.replace("opt_a = tf.keras.optimizers.Adam()", 'opt_a = tf.keras.optimizers.Adam(); s = "# noqa"  # noqa: CKPT101'))
    result = run_ckptlint("check", "--no-cache", "--format", "json", "bad.py", cwd=tmp_path)
    assert codes(result.stdout) == ["CKPT301", "CKPT301"]


def test_syntax_error_is_one_finding_and_the_run_goes_on(write, tmp_path):
    write("a_broken.py", "import tensorflow as tf\ndef f(:\n    tf.train.Checkpoint()\n")
    write("b_bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    findings = json.loads(result.stdout)
    assert [(f["filename"], f["code"]) for f in findings] == [
        ("a_broken.py", "CKPT000"), ("b_bad.py", "CKPT301"), ("b_bad.py", "CKPT301")]
    assert findings[0]["location"]["row"] == 2
    assert "Traceback" not in result.stderr


def test_encodings(write, tmp_path):
    latin = ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + BAD.lstrip()).encode("latin-1")
    write("latin.py", latin)
    write("broken.py", b"import tensorflow as tf\nx = '\xff\xfe'\n")
    write("bom.py", b"\xef\xbb\xbf" + BAD.lstrip().encode())
    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    findings = json.loads(result.stdout)
    by_file = {}
    for f in findings:
        by_file.setdefault(f["filename"], []).append(f)
    assert [f["code"] for f in by_file["latin.py"]] == ["CKPT301", "CKPT301"]
    assert by_file["latin.py"][0]["location"]["row"] == 4
    assert [f["code"] for f in by_file["bom.py"]] == ["CKPT301", "CKPT301"]
    assert [f["code"] for f in by_file["broken.py"]] == ["CKPT001"]
    assert "cannot decode as utf-8" in by_file["broken.py"][0]["message"]


def test_empty_binary_and_huge_files(write, tmp_path):
    write("empty.py", "")
    write("binary.py", b"\x00\x01\x02tensorflow")
    write("pyproject.toml", "[tool.ckptlint]\nmax-file-size = 200\n")
    write("huge.py", BAD + "\n".join(f"x{i} = {i}" for i in range(100)))
    result = run_ckptlint("check", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert "binary.py:1:1: CKPT001" in result.stdout and "binary file" in result.stdout
    assert "huge.py: skipped" in result.stdout and "max-file-size" in result.stdout
    assert "empty.py" not in result.stdout


def test_unreadable_file(tmp_path):
    from ckptlint.lint.engine import FileTask, lint_file

    (tmp_path / "dir.py").mkdir()
    outcome = lint_file(FileTask(str(tmp_path / "dir.py"), ("CKPT001", "CKPT301"), 10**6, "x"), None)
    assert [f.code for f in outcome.findings] == ["CKPT001"]
    assert outcome.findings[0].message == "not a regular file (a directory)"


def test_symlink_loops(write, tmp_path):
    write("pkg/bad.py", BAD)
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")
    os.symlink(tmp_path / "a", tmp_path / "b")
    os.symlink(tmp_path / "b", tmp_path / "a")
    result = run_ckptlint("check", "--no-cache", "--format", "json", "pkg", cwd=tmp_path)
    assert result.returncode == 1 and len(json.loads(result.stdout)) == 2
    looped = run_ckptlint("check", "--no-cache", "a", cwd=tmp_path)
    assert looped.returncode == 2
    assert "a:" in looped.stderr and "Traceback" not in looped.stderr


def test_output_file_statistics_and_formats(write, tmp_path):
    write("bad.py", BAD)
    result = run_ckptlint("check", "--no-cache", "--output-file", "report.json", "--format", "json", "bad.py", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert codes((tmp_path / "report.json").read_text()) == ["CKPT301", "CKPT301"]
    stats = run_ckptlint("check", "--no-cache", "--statistics", "bad.py", cwd=tmp_path)
    assert "CKPT301" in stats.stdout and "2" in stats.stdout
    github = run_ckptlint("check", "--no-cache", "--format", "github", "bad.py", cwd=tmp_path)
    assert github.stdout.startswith("::warning file=bad.py,line=2,")


def test_parallel_and_serial_runs_agree(write, tmp_path):
    for i in range(24):
        write(f"m{i:02d}.py", BAD if i % 3 == 0 else CLEAN)
    serial = run_ckptlint("check", "--no-cache", "--jobs", "1", "--format", "json", ".", cwd=tmp_path)
    parallel = run_ckptlint("check", "--no-cache", "--jobs", "2", "--format", "json", ".", cwd=tmp_path)
    assert serial.stdout == parallel.stdout and len(json.loads(serial.stdout)) == 16


def test_rules_list_page_and_version(tmp_path):
    listing = run_ckptlint("rules", cwd=tmp_path)
    assert listing.returncode == 0 and "CKPT101  checkpoint-missing-optimizer" in listing.stdout
    page = run_ckptlint("rule", "checkpoint-missing-optimizer", cwd=tmp_path)
    assert page.stdout.startswith("# CKPT101 checkpoint-missing-optimizer")
    assert "## Why is this bad?" in page.stdout
    version = run_ckptlint("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("ckptlint ")


def test_an_internal_error_in_a_rule_is_reported_and_the_run_goes_on(write, tmp_path, monkeypatch):
    from ckptlint.lint.config import ConfigResolver
    from ckptlint.lint.engine import Options, run
    from ckptlint.lint.registry import rule_by_code

    def broken(self, module):
        raise KeyError("boom")

    monkeypatch.setattr(rule_by_code("CKPT101"), "check", broken)
    write("a.py", BAD)
    write("b.py", "import tensorflow as tf\nckpt = tf.train.Checkpoint()\n")
    result = run([str(tmp_path)], ConfigResolver(default_root=tmp_path), Options(jobs=1, use_cache=False))
    assert [f.code for f in result.findings] == ["CKPT301", "CKPT301"]
    assert len(result.internal_errors) == 2
    assert all("internal error in CKPT101: KeyError('boom')" in e for e in result.internal_errors)
