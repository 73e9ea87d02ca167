"""Fuzz campaign for `ckptlint verify`: user code that misbehaves in every phase, hostile options and
targets, counted by what went wrong with ckptlint (never with the user's code).

    python benchmarks/fuzz_verify.py --seed 23 --count 60          # ~60 runs, two at a time
    python benchmarks/fuzz_verify.py --seed 7 --count 20 --json out.json

Inputs are generated from a seed (the same seed gives the same inputs):

- factories (`verify file.py:make_setup`) with one fault injected into one phase of the user's code
  (factory, batch, train step, save, restore; sometimes only after the restore, in the fresh process):
  exceptions with hostile messages, `os._exit`, `sys.exit`, SIGKILL/SIGSEGV of its own process, hangs,
  busy loops, unbounded recursion, KeyboardInterrupt, bad return values, NaN losses, undecodable bytes
  and floods on stdout/stderr, closed standard streams, closed pipes and a hang, forked children left
  running;
- commands (`verify -- python prog.py {out}`) that fail at start, hang, never save, print garbage,
  kill themselves, or train correctly;
- options and targets a careless user types: negative, NaN and infinite numbers, missing files, a
  directory, a file with a syntax error or undecodable bytes, a factory that does not exist.

What is counted, per input:

- traceback: `Traceback (most recent call last)` in ckptlint's output (without --verbose none is shown,
  the user's included; a JSON report carries the user's traceback as data, in its `error` object);
- crash: ckptlint ended by a signal;
- hang: ckptlint still running after its own `--timeout` should have ended it (RUN_TIMEOUT);
- wrong exit code: a fault in the user's code must be an error (2), a harmless oddity must still pass
  (0), a bad option or target must be exit 2 with one `ckptlint: error:` line and nothing on stdout;
  `--format json` must stay one JSON document whatever the user printed;
- leftover: a process of the run still alive after ckptlint exited (found by a marker in its
  environment), or anything left in the run's TMPDIR.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHASE_TIMEOUT = 20  # --timeout given to ckptlint: a hung phase of a factory must end after this
TRIAL_TIMEOUT = 90  # --timeout of a command: a whole trial, TensorFlow's start-up under load included
RUN_TIMEOUT = 900.0  # ckptlint itself must be done by then (TensorFlow's start-up under load included)
KINDS = ("factory", "command", "options")
CATEGORIES = ("traceback", "crash", "hang", "wrong exit code", "leftover")

# ---- factories with one fault -----------------------------------------------------------------------
FACTORY = '''\
import os, signal, sys, time
import numpy as np
import keras
import tensorflow as tf
from ckptlint.harness import Setup

KIND, PHASE, AFTER_RESTORE, CODE = {kind!r}, {phase!r}, {after!r}, {code!r}
RESTORED = []


def fault(phase):
    """The injected misbehaviour; returns a replacement value for the kinds that return one."""
    if phase != PHASE or (AFTER_RESTORE and not RESTORED):
        return None
    if KIND == "raise":
        raise ValueError("injected \\udcff \\x00 " + "é" * 3 + "\\n" * 3 + "{{%s}}")
    if KIND == "raise-huge":
        raise RuntimeError("x" * 200_000)
    if KIND == "exit":
        os._exit(CODE)
    if KIND == "sys-exit":
        sys.exit(CODE)
    if KIND == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if KIND == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if KIND == "hang":
        time.sleep(3600)
    if KIND == "busy":
        while True:
            pass
    if KIND == "recursion":
        def down(n):
            return down(n + 1) + 1
        down(0)
    if KIND == "keyboard":
        raise KeyboardInterrupt
    if KIND == "garbage":
        os.write(1, bytes(range(256)) * 8)
        os.write(2, b"\\xff\\xfe\\x80 not utf-8\\n\\x1b[2J\\r")
    if KIND == "flood":
        os.write(1, b"y" * (8 << 20))
    if KIND == "close-streams":
        os.close(1)
        os.close(2)
    if KIND == "fork":
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
    if KIND == "close-pipes-and-hang":  # nothing reaches the supervisor any more, not even an end of phase
        import fcntl
        for name in os.listdir("/proc/self/fd"):
            try:
                if int(name) > 2 and fcntl.fcntl(int(name), fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                    os.close(int(name))
            except OSError:
                pass
        time.sleep(3600)
    if KIND == "bad-value":
        return "bad"
    if KIND == "nan":
        return float("nan")
    return None


def make_setup():
    bad = fault("factory")
    if bad is not None:
        return bad if PHASE != "factory" else 42
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.01)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)

    def batch(i):
        bad = fault("batch")
        if bad is not None:
            return None
        rng = np.random.default_rng(i)
        return rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")

    def train_step(data):
        bad = fault("train step")
        x, y = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return bad if bad is not None else loss

    def save(directory):
        if fault("save") is None:
            ckpt.save(os.path.join(directory, "ckpt"))

    def restore(directory):
        RESTORED.append(True)
        bad = fault("restore")
        ckpt.restore(tf.train.latest_checkpoint(directory))
        return 42 if bad is not None else None

    return Setup(model=model, optimizer=optimizer, train_step=train_step, batch=batch, save=save, restore=restore)
'''
FAULTS = ("raise", "raise-huge", "exit", "sys-exit", "kill", "segv", "hang", "busy", "recursion", "keyboard",
          "garbage", "flood", "close-streams", "close-pipes-and-hang", "fork", "bad-value", "nan")
HARMLESS = {"garbage", "flood", "fork"}  # the run must still pass
PHASES = ("factory", "batch", "train step", "save", "restore")

# ---- commands ---------------------------------------------------------------------------------------
PROGRAM = '''\
import os, signal, sys, time
KIND = {kind!r}
out = sys.argv[1]
if KIND == "fails-at-start":
    raise SystemExit("cannot open the dataset")
if KIND == "hangs-at-start":
    time.sleep(3600)
if KIND == "kills-itself":
    os.kill(os.getpid(), signal.SIGKILL)
import keras, numpy as np, tensorflow as tf
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam(0.01)
step = tf.Variable(0, dtype=tf.int64)
ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
manager = tf.train.CheckpointManager(ckpt, out, max_to_keep=2)
ckpt.restore(manager.latest_checkpoint)
while int(step) < 8:
    i = int(step) % 8
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x[i * 8:i * 8 + 8]) - y[i * 8:i * 8 + 8]) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    step.assign_add(1)
    if KIND == "garbage":
        os.write(1, bytes(range(256)))
        os.write(2, b"\\xff\\xfe\\x80 Traceback (most recent call last)\\n")
    if KIND == "hangs-in-training" and int(step) == 3:
        time.sleep(3600)
    if KIND != "never-saves" and int(step) % 2 == 0:
        manager.save()
'''
PROGRAMS = {"fails-at-start": {2}, "hangs-at-start": {2}, "kills-itself": {2}, "garbage": {0},
            "hangs-in-training": {2}, "never-saves": {1, 2}, "correct": {0}}

# ---- options and targets ------------------------------------------------------------------------------
BAD_NUMBERS = ["-1", "-0.5", "nan", "inf", "-inf", "1e400", "", "x"]  # wrong for every numeric option
NUMERIC_OPTIONS = ["--steps", "--timeout", "--atol", "--rtol", "--kill-at", "--grace", "--workers", "--kill-in-save"]
BAD_TARGETS = {
    "missing.py:make_setup": None,
    "train.py:nope": b"def make_setup():\n    return None\n",
    "syntax.py:make_setup": b"def make_setup(:\n",
    "latin1.py:make_setup": b"# \xff\xfe\ndef make_setup():\n    pass\n",
    "folder:make_setup": "<dir>",
    "train.py:": b"x = 1\n",
    ":make_setup": None,
}


@dataclass
class Case:
    kind: str
    name: str
    args: list[str]
    files: dict[str, object] = field(default_factory=dict)
    expect: set[int] = field(default_factory=lambda: {2})
    one_error_line: bool = False  # exit 2 must be one `ckptlint: error:` line, stdout empty


def factory_case(rng: random.Random, i: int) -> Case:
    kind = rng.choice(FAULTS)
    phase = rng.choice(PHASES)
    after = phase in ("batch", "train step") and rng.random() < 0.4
    code = rng.choice([0, 1, 2, 3, 137])
    source = FACTORY.format(kind=kind, phase=phase, after=after, code=code)
    fmt = ["--format", "json"] if rng.random() < 0.5 else []
    expect = {0} if kind in HARMLESS else {2}
    if kind in ("bad-value", "nan") and phase in ("train step", "save"):
        expect = {1, 2}  # an odd loss, a save that writes nothing: not a pass, nor a crash
    if kind in ("bad-value", "nan") and phase == "restore":
        expect = {0}  # restore's value is used only when it is a Setup (`ckpt.restore(...)` returns a status)
    if kind == "nan" and phase == "train step":
        expect = {0, 1, 2}  # a NaN loss in both runs while the state trains and resumes exactly: may pass
    if kind == "close-streams":
        expect = {0, 2}  # the user's streams are its own logs: a pass, or an error naming the phase
    name = f"{kind} in {phase}{' after the restore' if after else ''} (code {code})"
    return Case("factory", name, ["train.py:make_setup", "--steps", "2", "--timeout", str(PHASE_TIMEOUT), *fmt],
                {"train.py": source.encode()}, expect)


def command_case(rng: random.Random, i: int) -> Case:
    kind = rng.choice(sorted(PROGRAMS))
    fmt = ["--format", "json"] if rng.random() < 0.5 else []
    return Case("command", kind, ["--timeout", str(TRIAL_TIMEOUT), "--no-determinism-check", *fmt, "--",
                                  sys.executable, "prog.py", "{out}"],
                {"prog.py": PROGRAM.format(kind=kind).encode()}, set(PROGRAMS[kind]))


def options_case(rng: random.Random, i: int) -> Case:
    files: dict[str, object] = {"train.py": FACTORY.format(kind="none", phase="", after=False, code=0).encode()}
    if rng.random() < 0.5:
        option, value = rng.choice(NUMERIC_OPTIONS), rng.choice(BAD_NUMBERS)
        if option in ("--kill-at", "--grace", "--workers", "--kill-in-save"):
            args = [option, value, "--", sys.executable, "prog.py", "{out}"]
            files["prog.py"] = PROGRAM.format(kind="correct").encode()
        else:
            args = ["train.py:make_setup", option, value]
        name = f"{option} {value!r}"
    else:
        target = rng.choice(sorted(BAD_TARGETS))
        content = BAD_TARGETS[target]
        filename = target.split(":")[0]
        if content == "<dir>":
            files[filename] = "<dir>"
        elif content is not None:
            files[filename] = content
        args, name = [target], f"target {target!r}"
    return Case("options", name, args, files, {2}, one_error_line=True)


@dataclass
class Outcome:
    kind: str
    name: str
    seconds: float = 0.0
    code: int | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)


def _leftover_processes(marker: str) -> list[str]:
    """Processes still running with this run's marker in their environment (killed once found)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")[:120])
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
    return found


def run_case(case: Case, workdir: Path, index: int) -> Outcome:
    root = Path(tempfile.mkdtemp(prefix=f"case{index}-", dir=workdir))
    project, tmp = root / "project", root / "tmp"
    project.mkdir()
    tmp.mkdir()
    for name, content in case.files.items():
        path = project / name
        if content == "<dir>":
            path.mkdir()
        else:
            path.write_bytes(content)  # type: ignore[arg-type]
    marker = f"CKPTLINT_FUZZ_RUN={os.getpid()}-{index}"
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "TMPDIR": str(tmp),
           "CKPTLINT_FUZZ_RUN": marker.split("=", 1)[1], "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("CI", None)
    outcome = Outcome(case.kind, case.name)
    start = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "ckptlint", "verify", *case.args], cwd=project, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        raw_out, raw_err = process.communicate(timeout=RUN_TIMEOUT)
        outcome.code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raw_out, raw_err = process.communicate()
        outcome.problems.append(("hang", f"over {RUN_TIMEOUT:g} s"))
    outcome.seconds = time.monotonic() - start
    out, err = raw_out.decode("utf-8", "replace"), raw_err.decode("utf-8", "replace")
    time.sleep(0.5)  # a child being reaped by its own supervisor is not a leftover
    left = _leftover_processes(marker)
    if left:
        outcome.problems.append(("leftover", f"{len(left)} process(es): {left[0]}"))
    if any(tmp.iterdir()):
        outcome.problems.append(("leftover", f"in TMPDIR: {sorted(p.name for p in tmp.iterdir())[:5]}"))
    json_report = "--format" in case.args and out.lstrip().startswith("{")
    # A JSON report carries the user's traceback as data (its `error` object): only ckptlint's streams count.
    if "Traceback (most recent call last)" in (err if json_report else out + err):
        outcome.problems.append(("traceback", (err or out)[-600:]))
    code = outcome.code
    if code is not None:
        if code < 0 or code > 128:
            outcome.problems.append(("crash", f"exit status {code}"))
        elif code not in case.expect:
            outcome.problems.append(("wrong exit code", f"{code} (expected {sorted(case.expect)}): "
                                                        f"{(out.splitlines() or err.splitlines() or [''])[0][:300]}"))
        elif case.one_error_line and (out.strip() or len(err.strip().splitlines()) != 1
                                      or not err.startswith("ckptlint: error:")):
            outcome.problems.append(("wrong exit code", f"not one error line: {err[-300:]!r} {out[:100]!r}"))
        if "--format" in case.args and code in (0, 1):
            try:
                json.loads(out)
            except ValueError:
                outcome.problems.append(("wrong exit code", f"--format json is not JSON: {out[:200]!r}"))
    shutil.rmtree(root, ignore_errors=True)
    return outcome


def generate(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    makers = {"factory": factory_case, "command": command_case, "options": options_case}
    weights = {"factory": 0.55, "command": 0.2, "options": 0.25}
    return [makers[rng.choices(KINDS, [weights[k] for k in KINDS])[0]](rng, i) for i in range(count)]


def run_cases(cases: list[Case], workdir: Path, parallel: int = 2, progress: bool = True) -> list[Outcome]:
    """Run the cases (`parallel` at a time), in their order."""
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(parallel) as pool:
        for done, outcome in enumerate(pool.map(lambda ic: run_case(ic[1], workdir, ic[0]), enumerate(cases)), 1):
            outcomes.append(outcome)
            if progress:
                mark = "ok" if not outcome.problems else ", ".join(k for k, _ in outcome.problems)
                print(f"[{done}/{len(cases)}] {outcome.kind}: {outcome.name}: exit {outcome.code}, "
                      f"{outcome.seconds:.0f} s: {mark}", flush=True)
    return outcomes


def summarize(outcomes: list[Outcome]) -> dict:
    by_kind: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        row = by_kind.setdefault(outcome.kind, {"inputs": 0, **{category: 0 for category in CATEGORIES}})
        row["inputs"] += 1
        for problem in {k for k, _ in outcome.problems}:
            row[problem] += 1
    return {"inputs": len(outcomes), "problems": sum(bool(o.problems) for o in outcomes), "by_kind": by_kind,
            "slowest_run_seconds": round(max((o.seconds for o in outcomes), default=0.0), 1),
            "failures": [asdict(o) for o in outcomes if o.problems]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=60, help="runs of `ckptlint verify` (one input each)")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-verify-") as workdir:
        outcomes = run_cases(generate(args.seed, args.count), Path(workdir), args.parallel)
    summary = {**summarize(outcomes), "seconds": round(time.monotonic() - started, 1),
               "command": "python benchmarks/fuzz_verify.py " + " ".join(sys.argv[1:])}
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}, indent=2))
    for outcome in outcomes:
        for kind, detail in outcome.problems:
            print(f"- {outcome.kind} {outcome.name}: {kind}: {detail[:400]!r}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 1 if summary["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
