"""`ckptlint verify` when the user's code misbehaves: hangs, exits, floods or mangles its output, fails deep
inside a tf.function, or ckptlint itself is stopped. Always one line or a report, a defined exit code,
no traceback unless --verbose, no process or temporary folder left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.conftest import REPO, run_verify_cli

pytestmark = pytest.mark.tf

M = "tests.harness.programs.misbehaving"


def test_hanging_factory_times_out():
    started = time.monotonic()
    proc = run_verify_cli(f"{M}:make_hangs", "--steps", "1", "--timeout", "5")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ERROR in factory: two fresh setups: timed out after 5 s (--timeout)")
    assert time.monotonic() - started < 120


def test_hang_after_the_restart_times_out_in_the_fresh_process():
    proc = run_verify_cli(f"{M}:make_hangs_after_restore", "--steps", "1", "--timeout", "10")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("ERROR in resumed training (user, fresh process)") and "timed out after 10 s" in first


def test_os_exit_in_user_code_is_an_error_not_a_silent_exit_3():
    proc = run_verify_cli(f"{M}:make_exits", "--steps", "1")
    assert proc.returncode == 2
    assert proc.stdout.startswith("ERROR in run A: 2 uninterrupted steps: the training process exited with code 3")


def test_user_output_stays_out_of_json_and_may_be_any_bytes():
    proc = run_verify_cli(f"{M}:make_noisy", "--steps", "1", "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["verdict"] == "pass"
    assert "not utf-8" not in proc.stdout + proc.stderr and "warning" not in proc.stderr


def test_tf_start_up_noise_is_not_on_ckptlints_stderr():
    env_level = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-m", "ckptlint", "verify", f"{M}:make_no_model"], cwd=REPO,
                          capture_output=True, text=True, timeout=600,
                          env={**env_level, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"ckptlint: error: factory {M}:make_no_model: Setup.model is None: give the model (or a tf.Module/dict "
        "holding the models)"]


def test_graph_error_names_the_users_line_and_verbose_shows_their_traceback():
    proc = run_verify_cli(f"{M}:make_graph_error", "--steps", "1", "--verbose")
    assert proc.returncode == 2
    assert proc.stdout.startswith("ERROR in train step: InvalidArgumentError: indices = 99 is not in [0, 8) "
                                  "(at tests/harness/programs/misbehaving.py:")
    assert "your code's traceback (train step):" in proc.stderr
    assert "misbehaving.py" in proc.stderr and "ckptlint/harness" not in proc.stderr


def test_strategy_without_a_strategy_parameter_says_the_contract():
    proc = run_verify_cli("tests.harness.setups.fit:make_fit", "--steps", "1", "--strategy", "mirrored")
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        "does not take `strategy`: with --strategy mirrored the factory must take a `strategy` argument and "
        "create the model and its optimizers inside `with strategy.scope():`")


def test_sigterm_stops_children_and_removes_temporary_folders(tmp_path: Path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "ckptlint", "verify", f"{M}:make_hangs_after_restore",
                             "--steps", "1"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(tmp.glob("ckptlint-verify-*/methods/user/job.json")):
        time.sleep(0.5)
    assert list(tmp.glob("ckptlint-verify-*")), "the verification never got going"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip() == "ckptlint: terminated (children stopped, temporary files removed)"
    assert list(tmp.iterdir()) == []
    time.sleep(1)
    survivors = [p for p in Path("/proc").glob("[0-9]*") if _environ_mentions(p, str(tmp))]
    assert survivors == []


def _environ_mentions(proc_dir: Path, text: str) -> bool:
    try:
        return text.encode() in (proc_dir / "environ").read_bytes()
    except OSError:
        return False


def test_a_process_the_users_code_forked_neither_stalls_nor_outlives_the_run(tmp_path: Path):
    """The forked process holds the control pipe open: the supervisor must see the training process exit
    anyway, and end what it left running."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp)}
    proc = subprocess.run([sys.executable, "-m", "ckptlint", "verify", f"{M}:make_forks", "--steps", "1"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("PASS")
    time.sleep(1)
    assert [p for p in Path("/proc").glob("[0-9]*") if _environ_mentions(p, str(tmp))] == []
    assert list(tmp.iterdir()) == []


def test_a_process_that_closes_its_pipe_and_hangs_is_ended_by_the_timeout():
    started = time.monotonic()
    proc = run_verify_cli(f"{M}:make_closes_its_pipe_and_hangs", "--steps", "1", "--timeout", "5")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ERROR in ") and "killed by SIGKILL" in proc.stdout.splitlines()[0], proc.stdout
    assert time.monotonic() - started < 300
