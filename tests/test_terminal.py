"""Terminal habits of `ckptlint check`, measured on a real pseudo-terminal (the `pty` module): colour only
where a person reads it (`--color`, NO_COLOR, FORCE_COLOR), nothing at all from `-q` on a clean run, and a
progress line on stderr only for a terminal, a run longer than a second, no CI and no machine format."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ckptlint.terminal import ProgressLine, use_color
from pty_helpers import run_ckptlint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import progress_overhead  # noqa: E402

ANSI_COLOUR = "\x1b[1;"
ERASE = "\r\x1b[2K"

BUGGY = progress_overhead.SOURCE  # a checkpoint module with one CKPT101, as the benchmark lints


@pytest.fixture
def clean_project(tmp_path: Path) -> Path:
    (tmp_path / "ok.py").write_text("x = 1\n")
    return tmp_path


@pytest.fixture
def buggy_project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(BUGGY.format(n=1))
    return tmp_path


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    for n in range(120):  # about 3 s with one process on the 2-core test machine
        (tmp_path / f"m{n}.py").write_text(BUGGY.format(n=n))
    return tmp_path


# -- colour --

def test_colour_on_a_terminal_by_default(buggy_project):
    ran = run_ckptlint(["check", "--no-cache", "."], buggy_project, tty="stdout")
    assert ran.code == 1 and ANSI_COLOUR in ran.stdout


@pytest.mark.parametrize(("args", "env"), [(["--color", "never"], {}), ([], {"NO_COLOR": "1"}),
                                           ([], {"NO_COLOR": "1", "FORCE_COLOR": "1"})])
def test_no_colour_on_a_terminal_when_asked(buggy_project, args, env):
    ran = run_ckptlint(["check", "--no-cache", *args, "."], buggy_project, tty="stdout", env=env)
    assert ran.code == 1 and "CKPT101" in ran.stdout and "\x1b[" not in ran.stdout


@pytest.mark.parametrize(("args", "env"), [(["--color", "always"], {}), ([], {"FORCE_COLOR": "1"}),
                                           (["--color", "always"], {"NO_COLOR": "1"})])
def test_colour_into_a_pipe_when_forced(buggy_project, args, env):
    ran = run_ckptlint(["check", "--no-cache", *args, "."], buggy_project, tty="stderr", env=env)
    assert ran.code == 1 and ANSI_COLOUR in ran.stdout


def test_no_colour_into_a_pipe_by_default_nor_in_machine_formats(buggy_project):
    assert "\x1b[" not in run_ckptlint(["check", "--no-cache", "."], buggy_project, tty="stderr").stdout
    forced = run_ckptlint(["check", "--no-cache", "--format", "json", "--color", "always", "."], buggy_project,
                          tty="stdout")
    assert forced.code == 1 and "\x1b[" not in forced.stdout


def test_empty_no_color_does_not_turn_colour_off(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_color("auto", None)
    monkeypatch.setenv("FORCE_COLOR", "")
    assert not use_color("auto", None)


# -- quiet --

def test_quiet_prints_nothing_on_a_clean_run(clean_project):
    for tty in ("stdout", "stderr"):
        ran = run_ckptlint(["check", "-q", "--no-cache", "."], clean_project, tty=tty)
        assert (ran.code, ran.stdout, ran.stderr) == (0, "", "")


def test_quiet_prints_the_findings_only(buggy_project):
    ran = run_ckptlint(["check", "-q", "--no-cache", "."], buggy_project, tty="stdout")
    assert ran.code == 1 and "CKPT101" in ran.stdout
    assert "Found" not in ran.stdout and "Target:" not in ran.stdout and not ran.stdout.endswith("\n\n")


# -- progress --

@pytest.fixture
def long_run(tmp_path: Path) -> Path:
    """Enough files that one process takes well over the progress delay even on a quiet machine
    (120 files took 1.2 s there)."""
    for n in range(600):
        (tmp_path / f"m{n}.py").write_text(BUGGY.format(n=n))
    return tmp_path


def test_progress_on_a_terminal_for_a_long_run(long_run):
    ran = run_ckptlint(["check", "--no-cache", "-j", "1", "."], long_run, tty="stderr")
    assert ran.code == 1 and ran.seconds > 1.5, ran.seconds  # the run outlasts the delay
    assert "ckptlint check: " in ran.stderr and "/600 files" in ran.stderr
    assert ran.stderr.endswith(ERASE)  # the line is erased before the report
    assert "\r" not in ran.stdout and "files" not in ran.stdout.splitlines()[0]


@pytest.mark.parametrize(("args", "env"), [([], {"CI": "true"}), (["--format", "json"], {}),
                                           (["--format", "sarif"], {}), (["--format", "github"], {}),
                                           (["-q"], {})])
def test_no_progress_in_ci_machine_formats_or_quiet(many_files, args, env):
    ran = run_ckptlint(["check", "--no-cache", "-j", "1", *args, "."], many_files, tty="stderr", env=env)
    assert ran.code == 1 and ran.stderr == ""


def test_no_progress_without_a_terminal(many_files):
    clean = {k: v for k, v in os.environ.items() if k != "CI"}
    ran = subprocess.run([sys.executable, "-m", "ckptlint", "check", "--no-cache", "-j", "1", "."], cwd=many_files,
                         capture_output=True, text=True, env=clean, timeout=300)
    assert ran.returncode == 1 and ran.stderr == ""


def test_no_progress_for_a_quick_run():
    screen = _Screen()
    line = ProgressLine(screen, "ckptlint check", delay=0.3)
    line.update("1/1 files")
    line.finish()  # done before the delay: nothing drawn then, nor later
    time.sleep(0.5)
    assert screen.text == ""


class _Screen:
    text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_line_waits_then_erases_itself():
    screen = _Screen()
    line = ProgressLine(screen, "ckptlint check", delay=0.3)
    line.update("1/9 files")
    assert screen.text == ""  # not before the delay
    time.sleep(0.6)  # a long phase sends nothing more: the pending text is drawn when the delay is over
    assert screen.text == f"{ERASE}ckptlint check: 1/9 files"
    line.update("2/9 files", force=True)
    line.finish()
    assert screen.text.endswith(f"{ERASE}ckptlint check: 2/9 files{ERASE}")
    line.update("3/9 files", force=True)  # `--fix` lints again after the line was erased: it stays erased
    assert screen.text.endswith(f"2/9 files{ERASE}")


def test_the_last_update_of_a_burst_is_drawn():
    screen = _Screen()
    line = ProgressLine(screen, "ckptlint verify", delay=0.0)
    for step in range(1, 7):  # six steps inside one redraw interval: most are skipped
        line.update(f"run A (step {step}/6)")
    time.sleep(0.4)  # the skipped tail is drawn once the interval is over
    assert screen.text.endswith(f"{ERASE}ckptlint verify: run A (step 6/6)")
    line.finish()
