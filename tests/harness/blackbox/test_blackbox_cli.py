"""The black-box command line: usage errors, a failing or hanging command, machine output, the plot,
and the clean-up when ckptlint itself is stopped."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.blackbox.blackbox_helpers import MADE, REPO, verify

pytestmark = pytest.mark.tf


@pytest.mark.parametrize("args, message", [
    (["--atol", "-1"], "--atol must be a finite number >= 0 (got -1.0)"),
    (["--rtol", "nan"], "--rtol must be a finite number >= 0 (got nan)"),
    (["--kill-at", "0"], "--kill-at must be at least 1 (got 0)"),
    (["--kill-at", "3", "--kill-in-save", "2"], "--kill-at and --kill-in-save choose the kill point two ways"),
    (["--timeout", "0"], "--timeout must be a number of seconds > 0"),
    (["--allow", "rng,weights"], "--allow accepts rng, data-order (got weights)"),
    (["--steps", "3"], "--steps is for the factory mode"),
])
def test_bad_options_are_one_line_usage_errors(args, message):
    proc = verify(*args, "--", sys.executable, "sleeps.py", "{out}", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ckptlint: error: {message}" or \
        (proc.stderr.startswith(f"ckptlint: error: {message}") and proc.stderr.count("\n") == 1)
    assert proc.stdout == ""


def test_an_unknown_command_is_a_usage_error():
    proc = verify("--", "no-such-trainer-xyz", "--epochs", "1", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "ckptlint: error: command not found: no-such-trainer-xyz"


def test_factory_options_still_reach_the_factory_mode():
    proc = verify("--kill-at", "3", "tests/harness/setups/tape.py:make_checkpoint_full", cwd=REPO, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("ckptlint: error: --kill-at is for the black-box mode (`-- COMMAND`) and for TARGET "
                                   "with --workers 2 or more")


def test_a_command_that_fails_on_its_own_is_an_error_with_its_last_line():
    proc = verify("--format", "json", "--", sys.executable, "fails_on_its_own.py", timeout=300)
    report = json.loads(proc.stdout)
    assert proc.returncode == 2 and report["verdict"] == "error"
    assert report["error"]["phase"] == "U"
    assert report["error"]["message"].endswith("RuntimeError: the data directory is missing")


def test_timeout_ends_the_trial_and_reports_it(tmp_path):
    started = time.monotonic()
    proc = verify("--timeout", "3", "--no-determinism-check", "--", sys.executable, "sleeps.py",
                  env={"TMPDIR": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout.startswith("ERROR: the uninterrupted run timed out after 3s (raise --timeout)")
    assert time.monotonic() - started < 60
    assert os.listdir(tmp_path) == []  # the temporary trial directories are gone


def test_sigterm_to_ckptlint_kills_the_trials_and_removes_its_directory(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "ckptlint", "verify", "--", sys.executable, "sleeps.py"],
                            cwd=MADE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(pids) < 2:  # U and U2 are both running
        pids = [int(Path(p).stem.split("-")[1]) for p in glob.glob(str(tmp_path / "*" / "*" / "record" / "events-*"))]
        time.sleep(0.2)
    assert len(pids) == 2, "the trials never started"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().endswith("ckptlint: interrupted"), err
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert os.listdir(tmp_path) == []
