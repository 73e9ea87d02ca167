"""The training program ckptlint writes from a factory for `ckptlint verify TARGET --workers N`.

`python -m ckptlint.harness.factory_cluster TARGET --out OUT --steps TOTAL` is run by the black-box cluster
runner on every worker (TF_CONFIG comes from it), so the factory is verified by the same U/K/R trials,
kill points and per-worker verdicts as a real multi-worker command. Each worker:

  1. creates `tf.distribute.MultiWorkerMirroredStrategy()` and calls the factory with `strategy=` (seeded
     and with op determinism, as the factory mode does, so every trial builds the same initial state);
  2. when OUT holds ckptlint's step record (written by the chief after the user's `save` returned), calls
     the user's `restore(OUT)` and goes on from the recorded step: every worker reads the chief's save;
  3. trains `train_step(batch(step))` up to TOTAL (the user's train_step calls `strategy.run` itself, as
     under --strategy mirrored), and after every `--save-every` steps calls the user's `save`: the chief
     into OUT, every other worker into a scratch directory of its own, removed afterwards (TF's
     multi-worker convention: a checkpoint save is a collective that every worker must join).

A kill between the chief's save and its step record would leave a newer save than the record says; the
default kill point (an optimizer update) and --kill-in-save (before the save returned) never land there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from typing import Any, Optional

from ckptlint.errors import CkptlintError

STEP_RECORD = "ckptlint-step.json"
SCRATCH = "ckptlint-scratch"


def option_phrase(workers: int) -> str:
    return f"--workers {workers}"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ckptlint.harness.factory_cluster")
    parser.add_argument("target")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, required=True, help="steps of the whole (uninterrupted) run")
    parser.add_argument("--save-every", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        _train(args.target, os.path.abspath(args.out), args.steps, max(1, args.save_every))
    except CkptlintError as exc:
        print(f"ckptlint: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _train(target: str, out: str, total: int, save_every: int) -> None:
    from ckptlint.harness.session import check_strategy, require_strategy_parameter
    from ckptlint.harness.target import call_factory, load_factory, parse_target
    from ckptlint.harness.tfenv import DEFAULT_SEED, enable_determinism, fresh_start, quiet_tf_logs
    from ckptlint.harness.training import _step_fn, check_trainable

    ref = parse_target(target)
    option = option_phrase(_cluster_size())
    factory = load_factory(ref)
    require_strategy_parameter(factory, ref, "multi-worker", option=option)
    quiet_tf_logs()
    import tensorflow as tf

    enable_determinism()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    fresh_start(DEFAULT_SEED)
    setup = call_factory(factory, ref, strategy)
    problems = setup.problems()
    if problems:
        raise CkptlintError(f"factory {ref.describe()}: {problems[0]}")
    if setup.fit is not None:
        raise CkptlintError(f"factory {ref.describe()}: with {option} the Setup trains with train_step "
                            "(Setup.fit is verified with --workers 1)")
    if not setup.has_own_checkpointing:
        raise CkptlintError(f"factory {ref.describe()}: with {option} the Setup must give its own save and "
                            "restore (they are what every worker runs)")
    check_trainable(setup)
    check_strategy(setup, factory, strategy, ref, "multi-worker", option=option)
    index = int(strategy.cluster_resolver.task_id or 0)
    chief = index == 0  # TF's convention when the cluster has no "chief" job
    start = _recorded_step(out)
    if start:
        assert setup.restore is not None
        restored = setup.restore(out)
        if isinstance(restored, type(setup)):
            setup = restored
    for step in range(start, total):
        if setup.batch is not None:
            _step_fn(setup)(setup.batch(step))
        else:
            _step_fn(setup)()
        done = step + 1
        if done % save_every == 0 or done == total:
            _save(setup, out, index, chief, done)


def _save(setup: Any, out: str, index: int, chief: bool, step: int) -> None:
    directory = out if chief else os.path.join(out, SCRATCH, f"worker-{index}")
    os.makedirs(directory, exist_ok=True)
    setup.save(directory)
    if chief:
        _write_record(out, step)
    else:
        shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(OSError):  # the last worker out removes the scratch root too
            os.rmdir(os.path.dirname(directory))


def _write_record(out: str, step: int) -> None:
    """Atomically: a reader sees the previous record or this one, never half of one."""
    path = os.path.join(out, STEP_RECORD)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"step": step}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(path + ".tmp", path)


def _recorded_step(out: str) -> int:
    try:
        with open(os.path.join(out, STEP_RECORD), encoding="utf-8") as fh:
            return int(json.load(fh)["step"])
    except FileNotFoundError:
        return 0


def _cluster_size() -> int:
    try:
        return len(json.loads(os.environ.get("TF_CONFIG", "{}"))["cluster"]["worker"])
    except (ValueError, KeyError, TypeError):
        raise CkptlintError("TF_CONFIG names no cluster: this program is run by `ckptlint verify TARGET "
                            "--workers N`") from None


if __name__ == "__main__":
    sys.exit(main())
