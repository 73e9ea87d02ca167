"""`ckptlint verify` at a terminal and on bad factories, on real TensorFlow: the progress line (phase and
step) only on a terminal outside CI and JSON; the `--strategy` contract checked before the factory runs;
`--verbose` showing the user's own frames without ckptlint's or the launcher's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pty_helpers import after_progress, run_ckptlint

pytestmark = pytest.mark.tf

TAPE_FACTORY = '''\
import time

import keras
import numpy as np
import tensorflow as tf
from ckptlint.harness import Setup

CALLED = {marker!r}


def make_setup({params}):
    open(CALLED, "a").close()  # proof that the factory ran
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam(0.01)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)

    def train_step(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def batch(i):
        time.sleep({pause})  # a step slower than the progress line's redraw interval, so each one is drawn
        rng = np.random.default_rng(i)
        return rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")

    return Setup(model=model, optimizer=optimizer, train_step=train_step, batch=batch,
                 save=lambda d: ckpt.save(f"{{d}}/ckpt"),
                 restore=lambda d: ckpt.restore(tf.train.latest_checkpoint(d)))
'''


def _factory(tmp_path: Path, params: str = "", pause: float = 0.0) -> tuple[Path, Path]:
    marker = tmp_path / "factory-was-called"
    path = tmp_path / "train.py"
    path.write_text(TAPE_FACTORY.format(marker=str(marker), params=params, pause=pause), encoding="utf-8")
    return path, marker


def test_progress_names_the_phase_and_step_on_a_terminal(tmp_path):
    _factory(tmp_path, pause=0.25)
    ran = run_ckptlint(["verify", "train.py:make_setup", "--steps", "3"], tmp_path, tty="stderr", timeout=600)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "ckptlint verify: run A: 6 uninterrupted steps (step " in ran.stderr
    assert "/6)" in ran.stderr and "fresh process 1: " in ran.stderr
    assert ran.stderr.endswith("\r\x1b[2K")  # erased before the report
    assert ran.stdout.startswith("PASS") and "\r" not in ran.stdout


@pytest.mark.parametrize(("args", "env"), [([], {"CI": "1"}), (["--format", "json"], {})], ids=["ci", "json"])
def test_no_progress_in_ci_or_json(tmp_path, args, env):
    _factory(tmp_path)
    ran = run_ckptlint(["verify", "train.py:make_setup", "--steps", "2", *args], tmp_path, tty="stderr", env=env,
                       timeout=600)
    assert ran.code == 0 and ran.stderr == "", ran.stderr
    if args:
        assert json.loads(ran.stdout)["verdict"] == "pass"


def test_strategy_contract_is_checked_before_the_factory_runs(tmp_path):
    _path, marker = _factory(tmp_path)  # make_setup() takes no `strategy`
    ran = run_ckptlint(["verify", "train.py:make_setup", "--strategy", "mirrored"], tmp_path, tty="stderr",
                       timeout=600)
    assert ran.code == 2 and ran.stdout == ""
    assert after_progress(ran.stderr).strip().splitlines() == [
        "ckptlint: error: factory train.py:make_setup does not take `strategy`: with --strategy mirrored the "
        "factory must take a `strategy` argument and create the model and its optimizers inside "
        "`with strategy.scope():`"]
    assert not marker.exists()


def test_strategy_taken_but_scope_not_entered_is_named(tmp_path):
    _factory(tmp_path, params="strategy")  # takes it, never enters strategy.scope()
    ran = run_ckptlint(["verify", "train.py:make_setup", "--strategy", "mirrored", "--steps", "1"], tmp_path,
                       tty="stderr", timeout=600)
    assert ran.code == 2
    line = after_progress(ran.stderr).strip()
    assert line.startswith("ckptlint: error: factory train.py:make_setup: ")
    assert "created outside the strategy's scope" in line and "Mixing" not in ran.stderr


def test_verbose_traceback_leaves_out_ckptlint_and_launcher_frames_with_their_blank_lines():
    import ckptlint.harness.primary as primary
    from ckptlint.harness.userfault import _without_launcher_frames

    ours = primary.__file__
    message = ("InvalidArgumentError: Graph execution error:\n\nDetected at node GatherV2 defined at (most recent "
               "call last):\n"
               '  File "<frozen runpy>", line 198, in _run_module_as_main\n\n'
               f'  File "{ours}", line 300, in main\n\n'
               '  File "/home/me/project/train.py", line 18, in train_step\n\n'
               "indices = 7 is not in [0, 4)\n")
    kept = "".join(_without_launcher_frames(message.splitlines(keepends=True)))
    assert kept == ("InvalidArgumentError: Graph execution error:\n\nDetected at node GatherV2 defined at (most "
                    "recent call last):\n"
                    '  File "/home/me/project/train.py", line 18, in train_step\n\n'
                    "indices = 7 is not in [0, 4)\n")
