"""Measure, on the TensorFlow and Keras installed here, every framework behaviour ckptlint relies on.

    python benchmarks/framework_facts.py               # every fact, a table of what was measured
    python benchmarks/framework_facts.py --markdown    # the same table in Markdown
    python benchmarks/framework_facts.py --json        # every measured value, for tooling
    python benchmarks/framework_facts.py --only checkpoint-model-only-custom-loop latest-checkpoint-prefix
    python benchmarks/framework_facts.py --fast        # the subset tests/harness/test_framework_facts.py runs

The rule pages (rules/*.py) and docs/framework.md state what TensorFlow and Keras keep or lose across a
save and a restore. Those statements are only as good as the versions they were measured on, so this
script measures them again: each fact is a few small functions ("phases"), each run in a fresh Python
process, so that nothing a phase leaves behind (Keras' name counters, TF's random state, a restore that
is still pending) can make the next phase look right. A phase that saves writes into the fact's own
temporary directory; the next phase restores from it into objects it builds itself, exactly as a
resumed training job would. Phases talk to each other through JSON files only.

Each fact also says what the docs claim, and the table marks a fact whose measurement no longer matches
the docs: after a TensorFlow or Keras upgrade, those are the pages to update. Exit code 0 when every fact
matches, 1 when one does not, 2 when a phase crashed.

The facts run two at a time (--jobs). TensorFlow's import dominates: about 4 s a phase on an idle 2-core
machine, a couple of minutes for the whole set.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve()
PHASE_TIMEOUT_S = 600
VERSIONS_KEY = "__versions__"

Measured = dict  # a phase's JSON-able findings; a fact's findings are its phases' merged


# ---------------------------------------------------------------------------------------------------
# What a fact is, and how the parent process runs one
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Phase:
    """One step of a fact, run in a fresh process. `earlier` holds what the previous phases returned.
    A phase that ends the process abruptly on purpose (`hard_exit`) returns nothing; its exit status is
    recorded instead."""

    run: Callable[[Path, list[Measured]], Measured]
    hard_exit: bool = False


@dataclass(frozen=True)
class Fact:
    key: str
    claim: str                                   # what the docs say, in one line
    phases: tuple[Phase, ...]
    holds: Callable[[Measured], bool]            # does the measurement bear the claim out?
    outcome: Callable[[Measured], str]           # the measurement in one line, for the table
    fast: bool = False                           # in the subset the test suite runs


@dataclass
class FactResult:
    key: str
    claim: str
    measured: Measured = field(default_factory=dict)
    outcome: str = ""
    holds: bool | None = None                    # None: a phase crashed, nothing to judge
    error: str | None = None
    seconds: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)


def run_fact(fact: Fact, root: Path | None = None) -> FactResult:
    """Run a fact's phases one after the other, each in a fresh interpreter, in one temporary directory
    (under `root` when given)."""
    started = time.monotonic()
    result = FactResult(fact.key, fact.claim)
    with tempfile.TemporaryDirectory(prefix=f"ckptlint-fact-{fact.key}-", dir=root) as tmp:
        work = Path(tmp)
        earlier: list[Measured] = []
        for index, phase in enumerate(fact.phases):
            measured, error = _run_phase(fact.key, index, phase, work)
            if error is not None:
                result.error = f"phase {index}: {error}"
                break
            result.versions = measured.pop(VERSIONS_KEY, result.versions)
            earlier.append(measured)
            result.measured.update(measured)
    if result.error is None:
        try:
            result.outcome = fact.outcome(result.measured)
            result.holds = bool(fact.holds(result.measured))
        except Exception as exc:  # a measurement without a field the claim reads: report, do not crash
            result.error = f"judging the measurement: {type(exc).__name__}: {exc}"
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _run_phase(key: str, index: int, phase: Phase, work: Path) -> tuple[Measured, str | None]:
    out = work / f"phase-{index}.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "-1",
           "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run([sys.executable, str(SCRIPT), "--phase", key, str(index), str(work)],
                              env=env, capture_output=True, text=True, timeout=PHASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {}, f"timed out after {PHASE_TIMEOUT_S} s"
    if phase.hard_exit and done.returncode == 0:
        return {f"phase{index}_exit_code": done.returncode}, None
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {}, f"exit code {done.returncode}: {tail}"
    return json.loads(out.read_text(encoding="utf-8")), None


def run_phase_here(key: str, index: int, work: Path) -> None:
    """The child side: run one phase and write what it measured next to the earlier phases' results."""
    fact = FACTS_BY_KEY[key]
    earlier = [json.loads((work / f"phase-{i}.json").read_text(encoding="utf-8"))
               for i in range(index) if (work / f"phase-{i}.json").exists()]
    measured = fact.phases[index].run(work, earlier)
    tf, keras = _tf()
    measured[VERSIONS_KEY] = {"tensorflow": tf.__version__, "keras": keras.__version__,
                              "python": sys.version.split()[0]}
    (work / f"phase-{index}.json").write_text(json.dumps(measured), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------
# Helpers the phases share (they import TensorFlow; the parent process never calls them)
# ---------------------------------------------------------------------------------------------------

def _tf():
    import tensorflow as tf
    import keras

    return tf, keras


def _seed(seed: int) -> None:
    """Same seed, same initial weights; op determinism so that a resumed run can be compared bitwise."""
    tf, keras = _tf()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _model(dropout: float = 0.0):
    _, keras = _tf()
    layers = [keras.Input((4,)), keras.layers.Dense(8, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return keras.Sequential([*layers, keras.layers.Dense(1)])


def _adam():
    """Adam on a decaying schedule: a lost `iterations` shows as a different learning rate too."""
    _, keras = _tf()
    return keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5))


def _compiled(seed: int):
    _seed(seed)
    model = _model()
    model.compile(optimizer=_adam(), loss="mse")
    return model


def _data(n: int = 64):
    """Fixed data whatever the global seed: only the state under test differs between runs."""
    tf, _ = _tf()
    x = tf.random.stateless_normal((n, 4), seed=(1, 2))
    return x, tf.reduce_sum(x, axis=1, keepdims=True)


def _batch(i: int):
    x, y = _data()
    i = int(i) % 8
    return x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]


def _tape_step(model, optimizer, batch, noise=None, training: bool = False) -> None:
    tf, _ = _tf()
    x, y = batch
    if noise is not None:
        y = y + noise
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x, training=training) - y) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))


def _train_tape(model, optimizer, steps: int, start: int = 0, training: bool = False) -> None:
    for i in range(start, start + steps):
        _tape_step(model, optimizer, _batch(i), training=training)


def _train_compiled(model, steps: int, start: int = 0) -> None:
    for i in range(start, start + steps):
        model.train_on_batch(*_batch(i))


def _values(variables) -> list:
    return [v.numpy().tolist() for v in variables]


def _weights(model) -> list:
    return _values(model.weights)


def _slots(optimizer) -> list:
    """The optimizer's per-variable state (Adam's moments), without `iterations` or a learning rate."""
    return _values(v for v in optimizer.variables if not v.path.endswith(("iteration", "learning_rate")))


def _optimizer_name(model) -> str | None:
    """The class of the model's optimizer; None when it has none (an uncompiled model lacks the attribute)."""
    optimizer = getattr(model, "optimizer", None)
    return None if optimizer is None else type(optimizer).__name__


def _lr(optimizer) -> float:
    return float(optimizer.learning_rate)


def _same(a, b) -> bool:
    """Bitwise equality of two nested lists of floats read back from JSON (float32 survives the trip)."""
    import numpy as np

    if len(a) != len(b):
        return False
    return all(np.array_equal(np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32))
               for x, y in zip(a, b))


def _error(call: Callable[[], object], limit: int = 140) -> str | None:
    """'ExceptionType: first line of the message' (cut at `limit` characters: some messages go on to
    print every unmatched variable), or None when the call raised nothing."""
    try:
        call()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        if len(first) > limit:
            first = first[:limit].rstrip() + " ..."
        return f"{type(exc).__name__}: {first}"
    return None


def _user_warnings(call: Callable[[], object]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message).strip().splitlines()[0] for w in caught if issubclass(w.category, UserWarning)]


def _snapshot(model, optimizer) -> Measured:
    return {"weights": _weights(model), "slots": _slots(optimizer),
            "iterations": int(optimizer.iterations), "lr": _lr(optimizer)}


def _restored(saved: Measured, model, optimizer) -> Measured:
    """What a fresh process holds right after a restore, compared with what was saved."""
    if not optimizer.built:  # building creates the slots, so a deferred restore lands now
        optimizer.build(model.trainable_variables)
    return {"weights_restored": _same(_weights(model), saved["weights"]),
            "slots_restored": _same(_slots(optimizer), saved["slots"]),
            "iterations_after_restore": int(optimizer.iterations),
            "lr_restored": _lr(optimizer) == saved["lr"]}


# ---------------------------------------------------------------------------------------------------
# tf.train.Checkpoint and CheckpointManager
# ---------------------------------------------------------------------------------------------------

def _everything_save(work: Path, earlier: list[Measured]) -> Measured:
    """Train 5 steps with the model, the optimizer, a step Variable, a Generator (label noise) and a
    tf.data iterator (batch order) all in the checkpoint; save; train 5 more as the reference."""
    tf, _ = _tf()
    _seed(1)
    model, optimizer = _model(), _adam()
    step = tf.Variable(0, dtype=tf.int64)
    generator = tf.random.Generator.from_seed(7)
    iterator = iter(tf.data.Dataset.range(1000).shuffle(50, seed=3))
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step, generator=generator, iterator=iterator)

    def train(steps: int) -> list[int]:
        seen = []
        for _ in range(steps):
            i = int(next(iterator))
            seen.append(i)
            _tape_step(model, optimizer, _batch(i), noise=generator.normal((8, 1)) * 0.1)
            step.assign_add(1)
        return seen

    train(5)
    path = ckpt.save(str(work / "ckpt"))
    saved = {**_snapshot(model, optimizer), "step": int(step), "generator_state": generator.state.numpy().tolist()}
    next_batches = train(5)
    return {"path": path, "saved": saved, "next_batches": next_batches, "reference": _weights(model)}


def _everything_restore(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    saved = earlier[0]["saved"]
    _seed(2)
    model, optimizer = _model(), _adam()
    step = tf.Variable(0, dtype=tf.int64)
    generator = tf.random.Generator.from_seed(99)
    iterator = iter(tf.data.Dataset.range(1000).shuffle(50, seed=3))
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step, generator=generator, iterator=iterator)
    ckpt.restore(earlier[0]["path"]).assert_existing_objects_matched()
    slots_before_build = len(_slots(optimizer))
    measured = {"slots_before_first_step": slots_before_build, "step_after_restore": int(step),
                "generator_restored": generator.state.numpy().tolist() == saved["generator_state"],
                **_restored(saved, model, optimizer)}
    seen = []
    for _ in range(5):
        i = int(next(iterator))
        seen.append(i)
        _tape_step(model, optimizer, _batch(i), noise=generator.normal((8, 1)) * 0.1)
    measured["iterator_resumed"] = seen == earlier[0]["next_batches"]
    measured["resume_bitwise"] = _same(_weights(model), earlier[0]["reference"])
    return measured


def _model_only_save(compiled: bool) -> Callable[[Path, list[Measured]], Measured]:
    def save(work: Path, earlier: list[Measured]) -> Measured:
        tf, _ = _tf()
        if compiled:
            model = _compiled(1)
            optimizer = model.optimizer
            _train_compiled(model, 5)
        else:
            _seed(1)
            model, optimizer = _model(), _adam()
            _train_tape(model, optimizer, 5)
        path = tf.train.Checkpoint(model=model).save(str(work / "ckpt"))
        saved = _snapshot(model, optimizer)
        if compiled:
            _train_compiled(model, 5, start=5)
        else:
            _train_tape(model, optimizer, 5, start=5)
        return {"path": path, "saved": saved, "reference": _weights(model)}

    return save


def _model_only_restore(compiled: bool) -> Callable[[Path, list[Measured]], Measured]:
    def restore(work: Path, earlier: list[Measured]) -> Measured:
        tf, _ = _tf()
        if compiled:
            model = _compiled(2)
            optimizer = model.optimizer
        else:
            _seed(2)
            model, optimizer = _model(), _adam()
        tf.train.Checkpoint(model=model).restore(earlier[0]["path"]).expect_partial()
        measured = _restored(earlier[0]["saved"], model, optimizer)
        if compiled:
            _train_compiled(model, 5, start=5)
        else:
            _train_tape(model, optimizer, 5, start=5)
        measured["resume_bitwise"] = _same(_weights(model), earlier[0]["reference"])
        return measured

    return restore


def _manager_save(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(1)
    model, optimizer = _model(), _adam()
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model, optimizer=optimizer, step=step),
                                         str(work / "ckpts"), max_to_keep=2)
    for i in range(5):
        _train_tape(model, optimizer, 1, start=i)
        step.assign_add(1)
        manager.save()
    saved = {**_snapshot(model, optimizer), "step": int(step)}
    _train_tape(model, optimizer, 5, start=5)
    return {"saved": saved, "kept": sorted(p.name for p in (work / "ckpts").glob("*.index")),
            "reference": _weights(model)}


def _manager_restore(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(2)
    model, optimizer = _model(), _adam()
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model, optimizer=optimizer, step=step),
                                         str(work / "ckpts"), max_to_keep=2)
    manager.restore_or_initialize()
    measured = {"latest": Path(manager.latest_checkpoint).name, "step_after_restore": int(step),
                **_restored(earlier[0]["saved"], model, optimizer)}
    _train_tape(model, optimizer, 5, start=5)
    measured["resume_bitwise"] = _same(_weights(model), earlier[0]["reference"])
    return measured


def _unbuilt_optimizer_save(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(1)
    model, optimizer = _model(), _adam()
    _train_tape(model, optimizer, 5)
    path = tf.train.Checkpoint(model=model, optimizer=optimizer).save(str(work / "ckpt"))
    return {"path": path, "saved": _snapshot(model, optimizer)}


def _unbuilt_optimizer_restore(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    saved, path = earlier[0]["saved"], earlier[0]["path"]
    _seed(2)
    model, optimizer = _model(), _adam()
    status = tf.train.Checkpoint(model=model, optimizer=optimizer).restore(path)
    measured = {
        "iterations_before_build": int(optimizer.iterations),
        "slot_variables_before_build": len(_slots(optimizer)),
        "existing_objects_matched_before_build": _error(status.assert_existing_objects_matched),
        "consumed_before_build": _error(status.assert_consumed),
        "nontrivial_before_build": _error(status.assert_nontrivial_match),
        "expect_partial_before_build": _error(status.expect_partial),
    }
    optimizer.build(model.trainable_variables)
    measured["slots_after_build"] = _same(_slots(optimizer), saved["slots"])
    measured["consumed_after_build"] = _error(status.assert_consumed)
    _seed(3)  # the other order: build the optimizer first, then restore
    model2, optimizer2 = _model(), _adam()
    optimizer2.build(model2.trainable_variables)
    status2 = tf.train.Checkpoint(model=model2, optimizer=optimizer2).restore(path)
    measured["built_first_consumed"] = _error(status2.assert_consumed)
    measured["built_first_slots"] = _same(_slots(optimizer2), saved["slots"])
    return measured


def _key_mismatch_save(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(1)
    model = _model()
    return {"path": tf.train.Checkpoint(net=model).save(str(work / "ckpt")), "saved_weights": _weights(model)}


def _key_mismatch_restore(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    path = earlier[0]["path"]
    _seed(2)
    model = _model()

    def status():
        return tf.train.Checkpoint(model=model).restore(path)

    return {
        "restore_error": _error(status),
        "weights_restored": _same(_weights(model), earlier[0]["saved_weights"]),
        "assert_consumed": _error(lambda: status().assert_consumed()),
        "assert_existing_objects_matched": _error(lambda: status().assert_existing_objects_matched()),
        "assert_nontrivial_match": _error(lambda: status().assert_nontrivial_match()),
        "expect_partial": _error(lambda: status().expect_partial()),
    }


def _key_added_save(work: Path, earlier: list[Measured]) -> Measured:
    """A custom loop's checkpoint without its optimizer: the layout before CKPT101's fix."""
    tf, _ = _tf()
    _seed(1)
    model, optimizer = _model(), _adam()
    _train_tape(model, optimizer, 2)
    return {"path": tf.train.Checkpoint(model=model).save(str(work / "ckpt")), "saved_weights": _weights(model)}


def _key_added_restore(work: Path, earlier: list[Measured]) -> Measured:
    """The same code with the optimizer added to the checkpoint, restoring the older checkpoint."""
    tf, _ = _tf()
    path = earlier[0]["path"]
    _seed(2)
    model, optimizer = _model(), _adam()

    def status():
        return tf.train.Checkpoint(model=model, optimizer=optimizer).restore(path)

    return {
        "restore_error": _error(status),
        "weights_restored": _same(_weights(model), earlier[0]["saved_weights"]),
        "iterations_after_restore": int(optimizer.iterations.numpy()),
        "assert_consumed": _error(lambda: status().assert_consumed()),
        "assert_existing_objects_matched": _error(lambda: status().assert_existing_objects_matched()),
        "expect_partial": _error(lambda: status().expect_partial()),
    }


def _latest_checkpoint_prefix(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(1)
    ckpt = tf.train.Checkpoint(model=_model())
    prefix = str(work / "initial_checkpoint")
    written = ckpt.save(prefix)
    status = ckpt.restore(None)
    return {
        "written": Path(written).name,
        "latest_of_prefix": tf.train.latest_checkpoint(prefix),
        "latest_of_directory": Path(tf.train.latest_checkpoint(str(work))).name,
        "latest_of_missing_directory": tf.train.latest_checkpoint(str(work / "nowhere")),
        "restore_none_status": type(status).__name__,
        "restore_none_assert_consumed": _error(status.assert_consumed),
        "restore_none_assert_existing": _error(status.assert_existing_objects_matched),
        "restore_none_assert_nontrivial": _error(status.assert_nontrivial_match),
        "restore_none_expect_partial": _error(status.expect_partial),
    }


def _manager_save_wrapped(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(1)
    ckpt = tf.train.Checkpoint(model=_model())
    manager = tf.train.CheckpointManager(ckpt, str(work / "ckpts"), max_to_keep=2)
    returned = [Path(ckpt.save(manager.save())).name for _ in range(4)]
    return {
        "returned": returned,
        "files": sorted(p.name.removesuffix(".index") for p in (work / "ckpts").glob("*.index")),
        "state_file_latest": Path(tf.train.latest_checkpoint(str(work / "ckpts"))).name,
        "manager_latest": Path(manager.latest_checkpoint).name,
    }


def _checkpoint_api_signatures(work: Path, earlier: list[Measured]) -> Measured:
    tf, keras = _tf()
    _seed(1)
    model, optimizer = _model(), _adam()
    ckpt = tf.train.Checkpoint(model=model)
    weights = str(work / "saved.weights.h5")
    model.save_weights(weights)
    return {
        "save_checkpoint_prefix": _error(lambda: ckpt.save(checkpoint_prefix=str(work / "ckpt"))),
        "checkpoint_positional": _error(lambda: tf.train.Checkpoint(model, optimizer)),
        "manager_without_max_to_keep": _error(lambda: tf.train.CheckpointManager(ckpt, str(work / "m"))),
        "save_weights_save_format": _error(lambda: model.save_weights(str(work / "w.weights.h5"), save_format="h5")),
        "load_weights_options": _error(lambda: model.load_weights(weights, options=None)),
        "model_checkpoint_period": _error(lambda: keras.callbacks.ModelCheckpoint(str(work / "m.keras"), period=1)),
    }


def _optimizer_get_set_weights(work: Path, earlier: list[Measured]) -> Measured:
    import numpy as np

    _seed(1)
    model, optimizer = _model(), _adam()
    unbuilt_set = _error(lambda: optimizer.set_weights([np.zeros(())]))
    get = _error(lambda: optimizer.get_weights())
    optimizer.build(model.trainable_variables)
    values = [v.numpy() for v in optimizer.variables]
    return {"get_weights": get, "set_weights_unbuilt": unbuilt_set,
            "set_weights_built": _error(lambda: optimizer.set_weights(values)),
            "variables_after_build": len(values)}


def _optimizer_names_save(work: Path, earlier: list[Measured]) -> Measured:
    tf, keras = _tf()
    _seed(1)
    unnamed = [keras.optimizers.Adam().name, keras.optimizers.Adam().name]
    model_a, model_b = _model(), _model()
    opt_a, opt_b = keras.optimizers.Adam(name="adam"), keras.optimizers.Adam(name="adam")
    _train_tape(model_a, opt_a, 3)
    _train_tape(model_b, opt_b, 5)
    path = tf.train.Checkpoint(a=model_a, b=model_b, opt_a=opt_a, opt_b=opt_b).save(str(work / "ckpt"))
    return {"unnamed_names": unnamed, "path": path, "saved_a": _slots(opt_a), "saved_b": _slots(opt_b),
            "keras_file_groups": _keras_file_groups(work)}


def _keras_file_groups(work: Path) -> list[str]:
    """The top-level groups of a .keras file's weights whose model was compiled with Adam(name="my_adam"):
    what the file keys the optimizer by."""
    import io
    import zipfile

    import h5py

    _, keras = _tf()
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(name="my_adam"), loss="mse")
    _train_compiled(model, 1)
    model.save(str(work / "named.keras"))
    with zipfile.ZipFile(work / "named.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            return sorted(weights.keys())


def _optimizer_names_restore(work: Path, earlier: list[Measured]) -> Measured:
    tf, keras = _tf()
    _seed(2)
    keras.optimizers.Adam()  # one more Adam built first, as a resuming script or a rerun notebook cell might
    shifted = [keras.optimizers.Adam().name, keras.optimizers.Adam().name]
    model_a, model_b = _model(), _model()
    opt_a, opt_b = keras.optimizers.Adam(name="adam"), keras.optimizers.Adam(name="adam")
    opt_a.build(model_a.trainable_variables)
    opt_b.build(model_b.trainable_variables)
    tf.train.Checkpoint(a=model_a, b=model_b, opt_a=opt_a, opt_b=opt_b).restore(
        earlier[0]["path"]).assert_consumed()
    return {"names_after_one_more_optimizer": shifted,
            "same_name_iterations": [int(opt_a.iterations), int(opt_b.iterations)],
            "same_name_slots_restored": _same(_slots(opt_a), earlier[0]["saved_a"])
            and _same(_slots(opt_b), earlier[0]["saved_b"])}


def _async_write(hard_exit: bool) -> Callable[[Path, list[Measured]], Measured]:
    def write(work: Path, earlier: list[Measured]) -> Measured:
        tf, _ = _tf()
        _seed(1)
        model = _model()
        target = work / ("async-hard-exit" if hard_exit else "async-normal-exit")
        options = tf.train.CheckpointOptions(experimental_enable_async_checkpoint=True)
        started = time.monotonic()
        tf.train.Checkpoint(model=model).write(str(target / "ckpt"), options=options)
        returned_after = time.monotonic() - started
        if hard_exit:
            os._exit(0)  # what a preempted or killed job does: no interpreter shutdown
        return {"write_returned_after_s": round(returned_after, 3)}

    return write


def _async_inspect(directory: str) -> Callable[[Path, list[Measured]], Measured]:
    def inspect(work: Path, earlier: list[Measured]) -> Measured:
        tf, _ = _tf()
        target = work / directory
        files = sorted(p.name for p in target.glob("*")) if target.exists() else []
        readable = _error(lambda: tf.train.list_variables(str(target / "ckpt"))) is None
        return {f"{directory}_files": files, f"{directory}_readable": readable}

    return inspect


# ---------------------------------------------------------------------------------------------------
# Keras files: .keras, .weights.h5, legacy .h5, SavedModel, export
# ---------------------------------------------------------------------------------------------------

def _keras_file_save(compiled: bool) -> Callable[[Path, list[Measured]], Measured]:
    def save(work: Path, earlier: list[Measured]) -> Measured:
        if compiled:
            model = _compiled(1)
            optimizer = model.optimizer
            _train_compiled(model, 5)
        else:
            _seed(1)
            model, optimizer = _model(), _adam()
            _train_tape(model, optimizer, 5)
        model.save(str(work / "model.keras"))
        saved = _snapshot(model, optimizer)
        if compiled:
            _train_compiled(model, 5, start=5)
        else:
            _train_tape(model, optimizer, 5, start=5)
        return {"saved": saved, "reference": _weights(model)}

    return save


def _keras_file_load(compiled: bool) -> Callable[[Path, list[Measured]], Measured]:
    def load(work: Path, earlier: list[Measured]) -> Measured:
        _, keras = _tf()
        _seed(2)
        model = keras.models.load_model(str(work / "model.keras"))
        loaded_optimizer = getattr(model, "optimizer", None)  # an uncompiled model has no such attribute
        measured: Measured = {"loaded_optimizer": type(loaded_optimizer).__name__ if loaded_optimizer else None}
        optimizer = model.optimizer if compiled else _adam()
        measured.update(_restored(earlier[0]["saved"], model, optimizer))
        if compiled:
            _train_compiled(model, 5, start=5)
        else:
            _train_tape(model, optimizer, 5, start=5)
        measured["resume_bitwise"] = _same(_weights(model), earlier[0]["reference"])
        return measured

    return load


def _legacy_h5_save(work: Path, earlier: list[Measured]) -> Measured:
    model = _compiled(1)
    _train_compiled(model, 5)
    model.save(str(work / "model.h5"))
    return {"saved": _snapshot(model, model.optimizer)}


def _legacy_h5_load(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    path = str(work / "model.h5")
    uncompiled = keras.models.load_model(path, compile=False)
    return {"load_compiled": _error(lambda: keras.models.load_model(path)),
            "weights_with_compile_false": _same(_weights(uncompiled), earlier[0]["saved"]["weights"]),
            "optimizer_with_compile_false": _optimizer_name(uncompiled)}


def _weights_h5_save(work: Path, earlier: list[Measured]) -> Measured:
    model = _compiled(1)
    _train_compiled(model, 5)
    model.save_weights(str(work / "last.weights.h5"))
    saved = _snapshot(model, model.optimizer)
    _train_compiled(model, 5, start=5)
    return {"saved": saved, "reference": _weights(model)}


def _weights_h5_load(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    path, saved, reference = str(work / "last.weights.h5"), earlier[0]["saved"], earlier[0]["reference"]
    measured: Measured = {}
    for variant in ("compiled_unbuilt", "compiled_built_first", "loaded_before_compile"):
        _seed(2)
        model = _model()
        if variant != "loaded_before_compile":
            model.compile(optimizer=_adam(), loss="mse")
        if variant == "compiled_built_first":
            model.optimizer.build(model.trainable_variables)
        caught = _user_warnings(lambda: model.load_weights(path))
        if variant == "loaded_before_compile":
            model.compile(optimizer=_adam(), loss="mse")
        measured[f"{variant}_warnings"] = caught
        measured[f"{variant}_iterations"] = int(model.optimizer.iterations)
        measured[f"{variant}_weights_restored"] = _same(_weights(model), saved["weights"])
        _train_compiled(model, 5, start=5)
        measured[f"{variant}_resume_bitwise"] = _same(_weights(model), reference)
    return measured


def _savedmodel_save(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    model = _compiled(1)
    _train_compiled(model, 5)
    tf.saved_model.save(model, str(work / "savedmodel"))
    saved = _snapshot(model, model.optimizer)
    _train_compiled(model, 5, start=5)
    _seed(1)
    plain, optimizer = _model(), _adam()  # a model trained by a separate optimizer, never compiled
    _train_tape(plain, optimizer, 5)
    tf.saved_model.save(plain, str(work / "savedmodel-custom-loop"))
    return {"saved": saved, "reference": _weights(model)}


def _savedmodel_load(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()

    def optimizer_keys(directory: str) -> int:
        names = [name for name, _ in tf.train.list_variables(str(work / directory / "variables" / "variables"))]
        return sum("optimizer" in name for name in names)

    loaded = tf.saved_model.load(str(work / "savedmodel"))
    model = _compiled(2)
    tf.train.Checkpoint(root=model).restore(str(work / "savedmodel" / "variables" / "variables")).expect_partial()
    measured = {"optimizer_keys_compiled": optimizer_keys("savedmodel"),
                "optimizer_keys_custom_loop": optimizer_keys("savedmodel-custom-loop"),
                "loaded_has_fit": hasattr(loaded, "fit"),
                "loaded_type": type(loaded).__name__,
                **_restored(earlier[0]["saved"], model, model.optimizer)}
    _train_compiled(model, 5, start=5)
    measured["resume_bitwise_via_checkpoint"] = _same(_weights(model), earlier[0]["reference"])
    return measured


def _export(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    model = _compiled(1)
    _train_compiled(model, 5)
    model.export(str(work / "exported"), verbose=False)
    names = [name for name, _ in tf.train.list_variables(str(work / "exported" / "variables" / "variables"))]
    loaded = tf.saved_model.load(str(work / "exported"))
    return {"variables_saved": len([n for n in names if "VARIABLE_VALUE" in n]),
            "saved_names": [n for n in names if "VARIABLE_VALUE" in n],
            "optimizer_keys": sum("optimizer" in n or "iteration" in n for n in names),
            "model_variables": len(model.weights),
            "loaded_has_fit": hasattr(loaded, "fit"), "loaded_has_serve": hasattr(loaded, "serve")}


def _include_optimizer_false(work: Path, earlier: list[Measured]) -> Measured:
    import io
    import zipfile

    import h5py

    model = _compiled(1)
    _train_compiled(model, 5)
    model.save(str(work / "model.keras"), include_optimizer=False)
    model.save(str(work / "model.h5"), include_optimizer=False)
    with zipfile.ZipFile(work / "model.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            keras_has_optimizer = "optimizer" in weights
    with h5py.File(work / "model.h5", "r") as legacy:
        h5_has_optimizer = "optimizer_weights" in legacy
    return {"keras_file_holds_optimizer": keras_has_optimizer, "h5_file_holds_optimizer": h5_has_optimizer}


def _compile_after_load_save(work: Path, earlier: list[Measured]) -> Measured:
    model = _compiled(1)
    _train_compiled(model, 5)
    model.save(str(work / "model.keras"))
    return {"saved_iterations": int(model.optimizer.iterations)}


def _compile_after_load(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    path = str(work / "model.keras")
    measured: Measured = {"iterations_after_load": int(keras.models.load_model(path).optimizer.iterations)}
    variants: dict[str, Callable] = {
        "new_adam": lambda m: m.compile(optimizer=keras.optimizers.Adam(), loss="mse"),
        "adam_string": lambda m: m.compile(optimizer="adam", loss="mse"),
        "loss_only": lambda m: m.compile(loss="mse"),
        "keeps_model_optimizer": lambda m: m.compile(optimizer=m.optimizer, loss="mae"),
    }
    for name, compile_again in variants.items():
        model = keras.models.load_model(path)
        compile_again(model)
        measured[f"{name}_optimizer"] = type(model.optimizer).__name__
        measured[f"{name}_iterations"] = int(model.optimizer.iterations)
    return measured


def _custom_compile_class():
    """A model whose compile() takes its own arguments, as GAN-style models do."""
    _, keras = _tf()

    @keras.saving.register_keras_serializable(package="ckptlint_facts")
    class CustomCompileModel(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(8, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

        def compile(self, learning_rate=0.01, **kwargs):
            super().compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", **kwargs)

    return CustomCompileModel


def _custom_compile_save(work: Path, earlier: list[Measured]) -> Measured:
    _seed(1)
    model = _custom_compile_class()()
    model.compile(learning_rate=0.01)
    _train_compiled(model, 5)
    model.save(str(work / "gan.keras"))
    return {"saved_iterations": int(model.optimizer.iterations)}


def _custom_compile_load(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    _custom_compile_class()
    loaded = []
    caught = _user_warnings(lambda: loaded.append(keras.models.load_model(str(work / "gan.keras"))))
    model = loaded[0]
    measured = {"load_warnings": caught, "optimizer_after_load": _optimizer_name(model)}
    model.compile(learning_rate=0.01)
    measured["iterations_after_compile"] = int(model.optimizer.iterations)
    return measured


# ---------------------------------------------------------------------------------------------------
# Keras callbacks and fit
# ---------------------------------------------------------------------------------------------------

def _fit_data():
    x, y = _data(20)
    return x, y  # batch_size=4: 5 batches an epoch


class _Interrupted(Exception):
    """Raised by a callback to stop `fit` the way a crash does: no on_train_end, the backup stays."""


def _interrupt_at(update: int):
    _, keras = _tf()

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations) >= update:
                raise _Interrupted

    return Interrupt()


def _batch_counter():
    _, keras = _tf()

    class Count(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            Count.batches += 1

    return Count()


def _backup_save(save_freq: str | int, interrupt_at: int) -> Callable[[Path, list[Measured]], Measured]:
    def run(work: Path, earlier: list[Measured]) -> Measured:
        _, keras = _tf()
        x, y = _fit_data()
        reference = _compiled(1)
        reference.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0)
        model = _compiled(1)
        backup = keras.callbacks.BackupAndRestore(str(work / "backup"), save_freq=save_freq)
        try:
            model.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0,
                      callbacks=[backup, _interrupt_at(interrupt_at)])
        except _Interrupted:
            pass
        return {"reference": _weights(reference), "reference_iterations": int(reference.optimizer.iterations),
                "interrupted_at": int(model.optimizer.iterations)}

    return run


def _backup_resume(save_freq: str | int) -> Callable[[Path, list[Measured]], Measured]:
    def run(work: Path, earlier: list[Measured]) -> Measured:
        _, keras = _tf()
        x, y = _fit_data()
        model = _compiled(2)
        counter = _batch_counter()
        model.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(str(work / "backup"), save_freq=save_freq), counter])
        return {"resumed_iterations": int(model.optimizer.iterations), "batches_after_restart": type(counter).batches,
                "resume_bitwise": _same(_weights(model), earlier[0]["reference"])}

    return run


class _RewriteWatch:
    """Tells, write after write, whether a file was rewritten in place or replaced by a new file.

    It keeps the previous version open: an open file keeps its inode, so the number cannot be handed to
    a replacement file, and "same inode as last time, newer mtime" means "the same file, rewritten"."""

    def __init__(self, path: Path):
        self.path, self.handle, self.seen = path, None, None
        self.in_place = self.replaced = 0

    def look(self) -> None:
        if not self.path.exists():
            return
        current = os.stat(self.path)
        now = (current.st_ino, current.st_mtime_ns, current.st_size)
        if self.seen is not None:
            if now == self.seen:
                return  # not written since the last look
            if now[0] == self.seen[0]:
                self.in_place += 1
            else:
                self.replaced += 1
            self.handle.close()
        self.handle, self.seen = open(self.path, "rb"), now

    def counts(self) -> dict[str, int]:
        if self.handle is not None:
            self.handle.close()
        return {"in_place": self.in_place, "replaced": self.replaced}


def _backup_in_place_write(work: Path, earlier: list[Measured]) -> Measured:
    """Watch the backup files while BackupAndRestore writes them (and CheckpointManager's state file,
    for comparison), then leave the torn file that a kill during an in-place write leaves (the file
    truncated part-way), for the next phase to restart on."""
    tf, keras = _tf()
    x, y = _fit_data()
    backup_dir = work / "backup"
    watches = {name: _RewriteWatch(backup_dir / name) for name in ("latest.weights.h5", "training_metadata.json")}

    class Watch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            for watch in watches.values():
                watch.look()

    model = _compiled(1)
    try:
        model.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(str(backup_dir), save_freq=1), Watch(), _interrupt_at(8)])
    except _Interrupted:
        pass
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), str(work / "ckpts"), max_to_keep=2)
    state_file = _RewriteWatch(work / "ckpts" / "checkpoint")
    for _ in range(4):
        manager.save()
        state_file.look()
    weights = backup_dir / "latest.weights.h5"
    size = weights.stat().st_size
    with open(weights, "r+b") as handle:
        handle.truncate(size // 2)
    return {"backup_rewrites": {name: watch.counts() for name, watch in watches.items()},
            "manager_state_file_rewrites": state_file.counts()}


def _backup_restart_on_torn_file(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    x, y = _fit_data()
    model = _compiled(2)
    backup = keras.callbacks.BackupAndRestore(str(work / "backup"), save_freq=1)
    return {"restart_error": _error(lambda: model.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0,
                                                       callbacks=[backup]))}


def _model_checkpoint_save(work: Path, earlier: list[Measured]) -> Measured:
    """Two epochs with a weights-only and a full ModelCheckpoint; the same model then trains two more
    epochs: the uninterrupted reference."""
    _, keras = _tf()
    x, y = _fit_data()
    model = _compiled(1)
    callbacks = [keras.callbacks.ModelCheckpoint(str(work / "last.weights.h5"), save_weights_only=True),
                 keras.callbacks.ModelCheckpoint(str(work / "last.keras"))]
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0, callbacks=callbacks)
    model.fit(x, y, epochs=4, initial_epoch=2, batch_size=4, shuffle=False, verbose=0)
    return {"reference": _weights(model)}


def _model_checkpoint_resume(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    x, y = _fit_data()
    full = keras.models.load_model(str(work / "last.keras"))
    measured: Measured = {"full_iterations_after_load": int(full.optimizer.iterations)}
    full.fit(x, y, epochs=4, initial_epoch=2, batch_size=4, shuffle=False, verbose=0)
    measured["full_resume_bitwise"] = _same(_weights(full), earlier[0]["reference"])
    weights_only = _compiled(2)
    measured["weights_only_warnings"] = _user_warnings(lambda: weights_only.load_weights(str(work / "last.weights.h5")))
    measured["weights_only_iterations_after_load"] = int(weights_only.optimizer.iterations)
    weights_only.fit(x, y, epochs=4, initial_epoch=2, batch_size=4, shuffle=False, verbose=0)
    measured["weights_only_resume_bitwise"] = _same(_weights(weights_only), earlier[0]["reference"])
    return measured


def _no_state_file(work: Path, earlier: list[Measured]) -> Measured:
    tf, keras = _tf()
    x, y = _fit_data()
    model = _compiled(1)
    callbacks = [keras.callbacks.ModelCheckpoint(str(work / "ckpt-{epoch}.weights.h5"), save_weights_only=True),
                 keras.callbacks.ModelCheckpoint(str(work / "model-{epoch}.keras"))]
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=callbacks)
    model.save_weights(str(work / "last.weights.h5"))
    return {"files": sorted(p.name for p in work.iterdir() if not p.name.startswith("phase-")),
            "state_file_written": (work / "checkpoint").exists(),
            "latest_checkpoint": tf.train.latest_checkpoint(str(work))}


def _callback_state_save(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    x, y = _fit_data()
    model = _compiled(1)
    best = keras.callbacks.ModelCheckpoint(str(work / "best.keras"), monitor="val_loss", save_best_only=True)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)
    model.fit(x, y, validation_data=(x, y), epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[best, stop])
    model.save(str(work / "resume.keras"))
    return {"best_before_interruption": float(best.best), "early_stopping_best": float(stop.best),
            "best_file_mtime_ns": (work / "best.keras").stat().st_mtime_ns}


def _callback_state_resume(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    x, y = _fit_data()
    model = keras.models.load_model(str(work / "resume.keras"))
    for variable in model.trainable_variables:  # a resumed epoch that goes badly
        variable.assign(variable * 3.0)
    best = keras.callbacks.ModelCheckpoint(str(work / "best.keras"), monitor="val_loss", save_best_only=True)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)
    at_start: dict[str, object] = {}

    class Probe(keras.callbacks.Callback):  # runs after the two callbacks set themselves up
        def on_train_begin(self, logs=None):
            at_start.update(model_checkpoint=best.best, early_stopping=stop.best)

    history = model.fit(x, y, validation_data=(x, y), epochs=4, initial_epoch=3, batch_size=4, shuffle=False,
                        verbose=0, callbacks=[best, stop, Probe()])
    def number(value):  # Keras 3.15 starts `best` at None ("nothing seen yet") rather than inf
        return None if value is None else float(value)

    return {"best_in_new_process": number(at_start["model_checkpoint"]),
            "early_stopping_best_in_new_process": number(at_start["early_stopping"]),
            "val_loss_after_resume": float(history.history["val_loss"][0]),
            "best_file_overwritten": (work / "best.keras").stat().st_mtime_ns != earlier[0]["best_file_mtime_ns"],
            "early_stopping_wait": int(stop.wait)}


def _fit_epochs_save(work: Path, earlier: list[Measured]) -> Measured:
    x, y = _fit_data()
    model = _compiled(1)
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    model.save(str(work / "model.keras"))
    return {"iterations_saved": int(model.optimizer.iterations)}


def _fit_epochs_resume(work: Path, earlier: list[Measured]) -> Measured:
    _, keras = _tf()
    x, y = _fit_data()
    measured: Measured = {}
    for name, initial_epoch in (("without_initial_epoch", 0), ("with_initial_epoch", 2)):
        model = keras.models.load_model(str(work / "model.keras"))
        history = model.fit(x, y, epochs=4, initial_epoch=initial_epoch, batch_size=4, shuffle=False, verbose=0)
        measured[f"{name}_epochs_run"] = len(history.history["loss"])
        measured[f"{name}_iterations"] = int(model.optimizer.iterations)
    return measured


# ---------------------------------------------------------------------------------------------------
# Randomness and data order
# ---------------------------------------------------------------------------------------------------

def _shuffle_orders(epochs: int) -> Callable[[Path, list[Measured]], Measured]:
    def run(work: Path, earlier: list[Measured]) -> Measured:
        tf, _ = _tf()
        dataset = tf.data.Dataset.range(10).shuffle(10, seed=42, reshuffle_each_iteration=True)
        orders = [[int(v) for v in dataset] for _ in range(epochs)]
        return {f"orders_{len(earlier)}": orders}

    return run


def _dropout_save(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(1)
    model, optimizer = _model(dropout=0.5), _adam()
    seed_states = [v for v in model.variables if "seed_generator" in v.path]
    _train_tape(model, optimizer, 5, training=True)
    plain = tf.train.Checkpoint(model=model, optimizer=optimizer).save(str(work / "plain" / "ckpt"))
    with_seeds = tf.train.Checkpoint(model=model, optimizer=optimizer, seeds=seed_states).save(str(work / "seeds" / "ckpt"))
    keys = [name for name, _ in tf.train.list_variables(plain)]
    _train_tape(model, optimizer, 5, start=5, training=True)
    return {"plain": plain, "with_seeds": with_seeds, "reference": _weights(model),
            "seed_state_variables_in_model": len(seed_states),
            "seed_state_in_plain_checkpoint": any("seed" in k for k in keys)}


def _dropout_resume(with_seed_state: bool) -> Callable[[Path, list[Measured]], Measured]:
    def run(work: Path, earlier: list[Measured]) -> Measured:
        tf, _ = _tf()
        _seed(1)  # the same global seed as the first run, as a rerun of the same script has
        model, optimizer = _model(dropout=0.5), _adam()
        extra = {"seeds": [v for v in model.variables if "seed_generator" in v.path]} if with_seed_state else {}
        path = earlier[0]["with_seeds" if with_seed_state else "plain"]
        status = tf.train.Checkpoint(model=model, optimizer=optimizer, **extra).restore(path)
        matched = _error(status.assert_existing_objects_matched)
        _train_tape(model, optimizer, 5, start=5, training=True)
        name = "with_seed_state" if with_seed_state else "model_and_optimizer_only"
        return {f"{name}_resume_bitwise": _same(_weights(model), earlier[0]["reference"]),
                f"{name}_assert_existing_objects_matched": matched}

    return run


def _net_class():
    """The subclassed model of the TensorFlow checkpoint guide: no input shape, built on first call."""
    _, keras = _tf()

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.l1 = keras.layers.Dense(5)

        def call(self, x):
            return self.l1(x)

    return Net


def _subclassed_save(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    _seed(1)
    net, optimizer = _net_class()(), _adam()
    x = tf.ones((2, 4))
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(net(x) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
    path = tf.train.Checkpoint(net=net).save(str(work / "ckpt"))
    return {"path": path, "output": net(x).numpy().tolist()}


def _subclassed_restore(work: Path, earlier: list[Measured]) -> Measured:
    tf, _ = _tf()
    x = tf.ones((2, 4))
    path, saved_output = earlier[0]["path"], earlier[0]["output"]
    _seed(2)
    unbuilt = _net_class()()
    status = tf.train.Checkpoint(net=unbuilt).restore(path)
    output_unbuilt = unbuilt(x).numpy().tolist()
    _seed(3)
    built = _net_class()()
    built(x)
    tf.train.Checkpoint(net=built).restore(path).assert_existing_objects_matched()
    return {"restored_before_build_output_matches": _same([output_unbuilt], [saved_output]),
            "restored_before_build_variables": len(unbuilt.variables),
            "restored_before_build_variable_paths": [v.path for v in unbuilt.variables],
            "restored_before_build_assert_existing": _error(status.assert_existing_objects_matched),
            "built_first_output_matches": _same([built(x).numpy().tolist()], [saved_output])}


# ---------------------------------------------------------------------------------------------------
# The facts
# ---------------------------------------------------------------------------------------------------

def _yes(flag: object) -> str:
    return "yes" if flag else "no"


def _restore_outcome(m: Measured) -> str:
    return (f"weights {_yes(m['weights_restored'])}, slots {_yes(m['slots_restored'])}, "
            f"iterations {m['iterations_after_restore']}, LR {_yes(m['lr_restored'])}, "
            f"5+5 bitwise {_yes(m.get('resume_bitwise', m.get('resume_bitwise_via_checkpoint')))}")


def _all_restored(m: Measured) -> bool:
    return m["weights_restored"] and m["slots_restored"] and m["iterations_after_restore"] == 5 and m["lr_restored"]


def _optimizer_lost(m: Measured) -> bool:
    return m["weights_restored"] and not m["slots_restored"] and m["iterations_after_restore"] == 0


FACTS: tuple[Fact, ...] = (
    Fact("checkpoint-everything",
         "tf.train.Checkpoint(model, optimizer, step, generator, iterator) restores all of them exactly in a "
         "fresh process; the optimizer's slots wait for its first step (deferred, not lost)",
         (Phase(_everything_save), Phase(_everything_restore)),
         lambda m: _all_restored(m) and m["step_after_restore"] == 5 and m["generator_restored"]
         and m["iterator_resumed"] and m["resume_bitwise"] and m["slots_before_first_step"] == 0,
         lambda m: _restore_outcome(m) + f", step {m['step_after_restore']}, generator "
         f"{_yes(m['generator_restored'])}, iterator {_yes(m['iterator_resumed'])}, slots before the first "
         f"step {m['slots_before_first_step']}"),
    Fact("checkpoint-model-only-custom-loop",
         "Checkpoint(model=) for a model trained by a separate optimizer keeps the weights only: slots and "
         "iterations restart, the resume diverges",
         (Phase(_model_only_save(False)), Phase(_model_only_restore(False))),
         lambda m: _optimizer_lost(m) and not m["resume_bitwise"], _restore_outcome, fast=True),
    Fact("checkpoint-model-only-compiled",
         "Checkpoint(model=) of a model compiled with its optimizer carries the optimizer (model.optimizer)",
         (Phase(_model_only_save(True)), Phase(_model_only_restore(True))),
         lambda m: _all_restored(m) and m["resume_bitwise"], _restore_outcome),
    Fact("checkpoint-manager",
         "CheckpointManager restores everything its Checkpoint holds and keeps max_to_keep files",
         (Phase(_manager_save), Phase(_manager_restore)),
         lambda m: _all_restored(m) and m["step_after_restore"] == 5 and m["resume_bitwise"]
         and m["kept"] == ["ckpt-4.index", "ckpt-5.index"],
         lambda m: _restore_outcome(m) + f", step {m['step_after_restore']}, kept {m['kept']}"),
    Fact("unbuilt-optimizer-restore",
         "restoring into an optimizer not built yet: iterations at once, slots when it is built; "
         "assert_existing_objects_matched passes, assert_consumed raises until then",
         (Phase(_unbuilt_optimizer_save), Phase(_unbuilt_optimizer_restore)),
         lambda m: m["iterations_before_build"] == 5 and m["slot_variables_before_build"] == 0
         and m["existing_objects_matched_before_build"] is None and m["consumed_before_build"] is not None
         and m["nontrivial_before_build"] is None and m["expect_partial_before_build"] is None
         and m["slots_after_build"] and m["consumed_after_build"] is None
         and m["built_first_consumed"] is None and m["built_first_slots"],
         lambda m: f"iterations {m['iterations_before_build']} before build, slots restored on build "
         f"{_yes(m['slots_after_build'])}; assert_consumed before build: {m['consumed_before_build']}"),
    Fact("key-mismatch",
         "saved as net=, restored as model=: restore() is silent and restores nothing; assert_consumed and "
         "assert_existing_objects_matched raise, assert_nontrivial_match and expect_partial do not",
         (Phase(_key_mismatch_save), Phase(_key_mismatch_restore)),
         lambda m: m["restore_error"] is None and not m["weights_restored"] and m["assert_consumed"] is not None
         and m["assert_existing_objects_matched"] is not None and m["assert_nontrivial_match"] is None
         and m["expect_partial"] is None,
         lambda m: f"restore silent: {_yes(m['restore_error'] is None)}, weights restored "
         f"{_yes(m['weights_restored'])}; assert_existing_objects_matched: {m['assert_existing_objects_matched']}",
         fast=True),
    Fact("checkpoint-key-added",
         "a checkpoint saved without the optimizer, restored by code that added optimizer=: restore() and "
         "expect_partial restore the weights and leave the optimizer fresh; assert_consumed and "
         "assert_existing_objects_matched raise",
         (Phase(_key_added_save), Phase(_key_added_restore)),
         lambda m: m["restore_error"] is None and m["weights_restored"] and m["iterations_after_restore"] == 0
         and m["expect_partial"] is None and m["assert_consumed"] is not None
         and m["assert_existing_objects_matched"] is not None,
         lambda m: f"weights restored {_yes(m['weights_restored'])}, iterations {m['iterations_after_restore']}; "
         f"assert_existing_objects_matched: {m['assert_existing_objects_matched']}"),
    Fact("latest-checkpoint-prefix",
         "save(prefix) writes prefix-1; latest_checkpoint(prefix) is None, latest_checkpoint(directory) "
         "finds it; restore(None) is silent, its asserts raise",
         (Phase(_latest_checkpoint_prefix),),
         lambda m: m["written"] == "initial_checkpoint-1" and m["latest_of_prefix"] is None
         and m["latest_of_directory"] == "initial_checkpoint-1" and m["latest_of_missing_directory"] is None
         and m["restore_none_assert_consumed"] is not None and m["restore_none_assert_existing"] is not None
         and m["restore_none_assert_nontrivial"] is not None and m["restore_none_expect_partial"] is None,
         lambda m: f"wrote {m['written']}; latest_checkpoint(prefix) = {m['latest_of_prefix']}; "
         f"restore(None) -> {m['restore_none_status']}; assert_consumed: {m['restore_none_assert_consumed']}",
         fast=True),
    Fact("optimizer-names",
         "unnamed optimizers are named from a process-wide counter; two optimizers with the same name= "
         "still round-trip in a Checkpoint (keyed by attribute), and a .keras file keys its optimizer as "
         "'optimizer', not by name",
         (Phase(_optimizer_names_save), Phase(_optimizer_names_restore)),
         lambda m: m["unnamed_names"] != m["names_after_one_more_optimizer"]
         and m["same_name_iterations"] == [3, 5] and m["same_name_slots_restored"]
         and "optimizer" in m["keras_file_groups"] and "my_adam" not in m["keras_file_groups"],
         lambda m: f"names {m['unnamed_names']}, after one more optimizer {m['names_after_one_more_optimizer']}; "
         f"same-name optimizers restored with iterations {m['same_name_iterations']}; .keras groups "
         f"{m['keras_file_groups']}"),
    Fact("optimizer-get-set-weights",
         "Keras 3 optimizers have no get_weights(); set_weights() on an unbuilt optimizer raises ValueError",
         (Phase(_optimizer_get_set_weights),),
         lambda m: str(m["get_weights"]).startswith("AttributeError")
         and str(m["set_weights_unbuilt"]).startswith("ValueError") and m["set_weights_built"] is None,
         lambda m: f"get_weights: {m['get_weights']}; set_weights unbuilt: {m['set_weights_unbuilt']}",
         fast=True),
    Fact("checkpoint-api-signatures",
         "checkpoint APIs called with arguments they do not take raise (TypeError/ValueError) when the line runs",
         (Phase(_checkpoint_api_signatures),),
         lambda m: all(value is not None for value in m.values()),
         lambda m: "; ".join(f"{k}: {v}" for k, v in m.items()), fast=True),
    Fact("manager-save-wrapped",
         "checkpoint.save(manager.save()) writes two checkpoints a call (ckpt-N and ckpt-N-M); the manager "
         "never prunes ckpt-N-M, and the state file and the manager name different latest checkpoints",
         (Phase(_manager_save_wrapped),),
         lambda m: any(name.count("-") == 2 for name in m["files"]) and m["state_file_latest"] != m["manager_latest"]
         and len(m["files"]) > 2,
         lambda m: f"files {m['files']}; state file latest {m['state_file_latest']}, manager latest "
         f"{m['manager_latest']}", fast=True),
    Fact("async-checkpoint",
         "an async checkpoint write returns at once; a hard exit right after it leaves no readable checkpoint, "
         "a normal exit completes it",
         (Phase(_async_write(True), hard_exit=True), Phase(_async_inspect("async-hard-exit")),
          Phase(_async_write(False)), Phase(_async_inspect("async-normal-exit"))),
         lambda m: not m["async-hard-exit_readable"] and m["async-normal-exit_readable"],
         lambda m: f"hard exit left {m['async-hard-exit_files'] or 'nothing'} (readable "
         f"{_yes(m['async-hard-exit_readable'])}); normal exit left {m['async-normal-exit_files']}"),
    Fact("keras-file-compiled",
         ".keras + load_model of a compiled model restores the optimizer exactly",
         (Phase(_keras_file_save(True)), Phase(_keras_file_load(True))),
         lambda m: _all_restored(m) and m["resume_bitwise"], _restore_outcome),
    Fact("keras-file-custom-loop",
         ".keras of a model trained by a separate optimizer (never compiled) holds no optimizer",
         (Phase(_keras_file_save(False)), Phase(_keras_file_load(False))),
         lambda m: m["loaded_optimizer"] is None and _optimizer_lost(m) and not m["resume_bitwise"],
         lambda m: f"loaded optimizer {m['loaded_optimizer']}; " + _restore_outcome(m)),
    Fact("legacy-h5",
         "a legacy .h5 of a compiled model does not load compiled under Keras 3; with compile=False the "
         "weights load but no optimizer",
         (Phase(_legacy_h5_save), Phase(_legacy_h5_load)),
         lambda m: m["load_compiled"] is not None and m["weights_with_compile_false"]
         and m["optimizer_with_compile_false"] is None,
         lambda m: f"load_model: {m['load_compiled']}; compile=False: weights "
         f"{_yes(m['weights_with_compile_false'])}, optimizer {m['optimizer_with_compile_false']}"),
    Fact("weights-h5",
         ".weights.h5 restores the optimizer only into one built before load_weights; otherwise a "
         "UserWarning and a fresh optimizer",
         (Phase(_weights_h5_save), Phase(_weights_h5_load)),
         lambda m: m["compiled_unbuilt_iterations"] == 0 and bool(m["compiled_unbuilt_warnings"])
         and m["compiled_built_first_iterations"] == 5 and m["compiled_built_first_resume_bitwise"]
         and m["loaded_before_compile_iterations"] == 0 and not m["compiled_unbuilt_resume_bitwise"],
         lambda m: f"unbuilt: iterations {m['compiled_unbuilt_iterations']}, warning "
         f"{(m['compiled_unbuilt_warnings'] or ['none'])[0]!r}; built first: iterations "
         f"{m['compiled_built_first_iterations']}, 5+5 bitwise {_yes(m['compiled_built_first_resume_bitwise'])}; "
         f"loaded before compile: iterations {m['loaded_before_compile_iterations']}", fast=True),
    Fact("savedmodel",
         "tf.saved_model.save keeps the optimizer only for a compiled model; the loaded object cannot fit, "
         "a resume goes through Checkpoint(root=model) on its variables",
         (Phase(_savedmodel_save), Phase(_savedmodel_load)),
         lambda m: m["optimizer_keys_compiled"] > 0 and m["optimizer_keys_custom_loop"] == 0
         and not m["loaded_has_fit"] and _all_restored(m) and m["resume_bitwise_via_checkpoint"],
         lambda m: f"optimizer entries: compiled {m['optimizer_keys_compiled']}, custom loop "
         f"{m['optimizer_keys_custom_loop']}; loaded {m['loaded_type']} has fit: {_yes(m['loaded_has_fit'])}; "
         "via Checkpoint(root=model): " + _restore_outcome(m)),
    Fact("model-export",
         "model.export writes an inference artifact: model variables only, no optimizer, nothing to fit",
         (Phase(_export),),
         lambda m: m["optimizer_keys"] == 0 and not m["loaded_has_fit"] and m["loaded_has_serve"],
         lambda m: f"{m['variables_saved']} variable entries for a model of {m['model_variables']} variables, "
         f"optimizer entries {m['optimizer_keys']}, loaded object has fit: {_yes(m['loaded_has_fit'])}"),
    Fact("include-optimizer-false",
         "include_optimizer=False is ignored for .keras (the optimizer is saved) and honoured for legacy .h5",
         (Phase(_include_optimizer_false),),
         lambda m: m["keras_file_holds_optimizer"] and not m["h5_file_holds_optimizer"],
         lambda m: f".keras holds the optimizer: {_yes(m['keras_file_holds_optimizer'])}; .h5: "
         f"{_yes(m['h5_file_holds_optimizer'])}"),
    Fact("compile-after-load",
         "compile() after load_model replaces the restored optimizer (iterations back to 0); compile without "
         "an optimizer swaps in RMSprop; compile(optimizer=model.optimizer) keeps it",
         (Phase(_compile_after_load_save), Phase(_compile_after_load)),
         lambda m: m["iterations_after_load"] == 5 and m["new_adam_iterations"] == 0
         and m["adam_string_iterations"] == 0 and m["loss_only_optimizer"] == "RMSprop"
         and m["loss_only_iterations"] == 0 and m["keeps_model_optimizer_iterations"] == 5,
         lambda m: f"after load {m['iterations_after_load']}; compile(Adam()) {m['new_adam_iterations']}, "
         f"compile('adam') {m['adam_string_iterations']}, compile(loss=) {m['loss_only_optimizer']} "
         f"{m['loss_only_iterations']}, compile(optimizer=model.optimizer) {m['keeps_model_optimizer_iterations']}",
         fast=True),
    Fact("custom-compile-load",
         "load_model of a model whose compile() is overridden skips compile with a UserWarning; the saved "
         "optimizer is dropped and a later compile() starts a fresh one",
         (Phase(_custom_compile_save), Phase(_custom_compile_load)),
         lambda m: any("compile()" in w for w in m["load_warnings"]) and m["optimizer_after_load"] is None
         and m["iterations_after_compile"] == 0,
         lambda m: f"warning {(m['load_warnings'] or ['none'])[0]!r}; optimizer after load "
         f"{m['optimizer_after_load']}; iterations after compile {m['iterations_after_compile']}"),
    Fact("model-checkpoint",
         "ModelCheckpoint to .keras resumes exactly; a weights-only ModelCheckpoint loaded into a freshly "
         "compiled model loses the optimizer (as .weights.h5 does)",
         (Phase(_model_checkpoint_save), Phase(_model_checkpoint_resume)),
         lambda m: m["full_iterations_after_load"] == 10 and m["full_resume_bitwise"]
         and m["weights_only_iterations_after_load"] == 0 and not m["weights_only_resume_bitwise"],
         lambda m: f".keras: iterations {m['full_iterations_after_load']}, bitwise {_yes(m['full_resume_bitwise'])}; "
         f"weights-only: iterations {m['weights_only_iterations_after_load']}, bitwise "
         f"{_yes(m['weights_only_resume_bitwise'])}"),
    Fact("keras-no-state-file",
         "ModelCheckpoint and save_weights write no TF `checkpoint` state file: latest_checkpoint is None",
         (Phase(_no_state_file),),
         lambda m: not m["state_file_written"] and m["latest_checkpoint"] is None,
         lambda m: f"files {m['files']}; latest_checkpoint = {m['latest_checkpoint']}"),
    Fact("callback-state-restarts",
         "ModelCheckpoint(save_best_only=True) starts with no best value in a new process and overwrites the "
         "best file with a worse model; EarlyStopping's patience restarts too",
         (Phase(_callback_state_save), Phase(_callback_state_resume)),
         lambda m: m["best_in_new_process"] in (None, float("inf")) and m["best_file_overwritten"]
         and m["val_loss_after_resume"] > m["best_before_interruption"],
         lambda m: f"best before {m['best_before_interruption']:.4g}, in the new process "
         f"{m['best_in_new_process']}; a worse epoch ({m['val_loss_after_resume']:.4g}) overwrote the best file: "
         f"{_yes(m['best_file_overwritten'])}"),
    Fact("fit-without-initial-epoch",
         "fit(epochs=N) after a resume without initial_epoch trains all N epochs again",
         (Phase(_fit_epochs_save), Phase(_fit_epochs_resume)),
         lambda m: m["without_initial_epoch_epochs_run"] == 4 and m["without_initial_epoch_iterations"] == 30
         and m["with_initial_epoch_epochs_run"] == 2 and m["with_initial_epoch_iterations"] == 20,
         lambda m: f"without initial_epoch: {m['without_initial_epoch_epochs_run']} epochs, iterations "
         f"{m['without_initial_epoch_iterations']}; with initial_epoch=2: {m['with_initial_epoch_epochs_run']} "
         f"epochs, iterations {m['with_initial_epoch_iterations']} (20 uninterrupted)"),
    Fact("backup-and-restore-epoch",
         "BackupAndRestore(save_freq='epoch'), interrupted mid-epoch, resumes from the last epoch end exactly",
         (Phase(_backup_save("epoch", 7)), Phase(_backup_resume("epoch"))),
         lambda m: m["resumed_iterations"] == 20 and m["resume_bitwise"],
         lambda m: f"interrupted at update {m['interrupted_at']}; resumed run ends at iterations "
         f"{m['resumed_iterations']} (uninterrupted {m['reference_iterations']}), bitwise {_yes(m['resume_bitwise'])}"),
    Fact("backup-and-restore-int",
         "BackupAndRestore(save_freq=<int>) re-runs the interrupted epoch from its first batch: extra updates",
         (Phase(_backup_save(3, 10)), Phase(_backup_resume(3))),
         lambda m: m["resumed_iterations"] == 24 and not m["resume_bitwise"],
         lambda m: f"interrupted at update {m['interrupted_at']}; resumed run ends at iterations "
         f"{m['resumed_iterations']} (uninterrupted {m['reference_iterations']}), bitwise {_yes(m['resume_bitwise'])}"),
    Fact("backup-and-restore-torn-file",
         "BackupAndRestore rewrites its files in place; a torn latest.weights.h5 makes every restart fail",
         (Phase(_backup_in_place_write), Phase(_backup_restart_on_torn_file)),
         lambda m: all(w["in_place"] > 0 and w["replaced"] == 0 for w in m["backup_rewrites"].values())
         and m["manager_state_file_rewrites"]["in_place"] == 0 and m["manager_state_file_rewrites"]["replaced"] > 0
         and m["restart_error"] is not None,
         lambda m: f"backup rewrites {m['backup_rewrites']}; CheckpointManager's state file "
         f"{m['manager_state_file_rewrites']}; restart on the torn file: {m['restart_error']}"),
    Fact("shuffle-reshuffle-fresh-process",
         "shuffle(reshuffle_each_iteration=True) with a seed starts its order sequence over in a fresh "
         "process: a resumed epoch sees the first epoch's order",
         (Phase(_shuffle_orders(2)), Phase(_shuffle_orders(1))),
         lambda m: m["orders_1"][0] == m["orders_0"][0] and m["orders_0"][0] != m["orders_0"][1],
         lambda m: f"first process epochs 0/1: {m['orders_0'][0]} / {m['orders_0'][1]}; fresh process epoch 0: "
         f"{m['orders_1'][0]}"),
    Fact("dropout-seed-state",
         "Dropout's seed-generator state is not in Checkpoint(model=, optimizer=): the resume draws other "
         "masks; adding the state variables makes it exact",
         (Phase(_dropout_save), Phase(_dropout_resume(False)), Phase(_dropout_resume(True))),
         lambda m: not m["seed_state_in_plain_checkpoint"] and not m["model_and_optimizer_only_resume_bitwise"]
         and m["with_seed_state_resume_bitwise"],
         lambda m: f"seed state in the checkpoint: {_yes(m['seed_state_in_plain_checkpoint'])}; 5+5 bitwise "
         f"{_yes(m['model_and_optimizer_only_resume_bitwise'])}, with the seed state "
         f"{_yes(m['with_seed_state_resume_bitwise'])}"),
    Fact("unbuilt-subclassed-model",
         "restoring into a subclassed model before its first call leaves it using fresh weights; building it "
         "first restores exactly",
         (Phase(_subclassed_save), Phase(_subclassed_restore)),
         lambda m: not m["restored_before_build_output_matches"] and m["built_first_output_matches"],
         lambda m: f"restored before build: output matches {_yes(m['restored_before_build_output_matches'])}, "
         f"variables {m['restored_before_build_variable_paths']}, assert_existing_objects_matched: "
         f"{m['restored_before_build_assert_existing']}; built first: {_yes(m['built_first_output_matches'])}"),
)

FACTS_BY_KEY = {fact.key: fact for fact in FACTS}


# ---------------------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------------------

def run_facts(facts: list[Fact], jobs: int = 2, root: Path | None = None) -> list[FactResult]:
    """Run facts `jobs` at a time (each fact's phases in order); results in the order given."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda fact: run_fact(fact, root), facts))


def versions(results: list[FactResult]) -> dict[str, str]:
    """The versions the phases ran on (each phase reports them; the parent never imports TensorFlow)."""
    for result in results:
        if result.versions:
            return result.versions
    return {"tensorflow": "?", "keras": "?", "python": sys.version.split()[0]}


def _verdict(result: FactResult) -> str:
    if result.error:
        return "ERROR"
    return "yes" if result.holds else "NO"


def render_text(results: list[FactResult], meta: dict[str, str]) -> str:
    lines = [f"TensorFlow {meta['tensorflow']}, Keras {meta['keras']}, Python {meta['python']}", ""]
    for result in results:
        lines.append(f"[{_verdict(result):>5}] {result.key} ({result.seconds} s)")
        lines.append(f"        claim:    {result.claim}")
        lines.append(f"        measured: {result.error or result.outcome}")
    return "\n".join(lines) + "\n"


def render_markdown(results: list[FactResult], meta: dict[str, str]) -> str:
    rows = [f"Measured with TensorFlow {meta['tensorflow']}, Keras {meta['keras']}, Python {meta['python']}.", "",
            "| fact | what the docs say | measured | as documented |", "|---|---|---|---|"]
    for result in results:
        measured = (result.error or result.outcome).replace("|", "\\|")
        rows.append(f"| `{result.key}` | {result.claim.replace('|', '/')} | {measured} | {_verdict(result)} |")
    return "\n".join(rows) + "\n"


def exit_code(results: list[FactResult]) -> int:
    if any(result.error for result in results):
        return 2
    return 0 if all(result.holds for result in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", action="store_true", help="print every measured value as JSON")
    parser.add_argument("--only", nargs="+", metavar="FACT", help="run these facts only")
    parser.add_argument("--fast", action="store_true", help="run the subset the test suite runs")
    parser.add_argument("--jobs", type=int, default=2, help="facts run at the same time (default 2)")
    parser.add_argument("--tmp", type=Path, help="where the facts' temporary directories go (default: the "
                        "system's temporary directory)")
    parser.add_argument("--list", action="store_true", help="list the facts and what the docs claim")
    parser.add_argument("--phase", nargs=3, metavar=("FACT", "INDEX", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        key, index, work = args.phase
        run_phase_here(key, int(index), Path(work))
        return 0
    facts = list(FACTS)
    if args.only:
        unknown = [key for key in args.only if key not in FACTS_BY_KEY]
        if unknown:
            parser.error(f"unknown fact(s): {', '.join(unknown)}; --list shows them")
        facts = [FACTS_BY_KEY[key] for key in args.only]
    if args.fast:
        facts = [fact for fact in facts if fact.fast]
    if args.list:
        print("\n".join(f"{fact.key}: {fact.claim}" for fact in facts))
        return 0
    started = time.monotonic()
    results = run_facts(facts, jobs=args.jobs, root=args.tmp)
    meta = versions(results)
    if args.json:
        print(json.dumps({"versions": meta, "facts": [asdict(result) for result in results]}, indent=1))
    elif args.markdown:
        print(render_markdown(results, meta), end="")
    else:
        print(render_text(results, meta), end="")
    print(f"{len(results)} facts in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
