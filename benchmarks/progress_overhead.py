"""What the progress line costs `ckptlint check`: the same cold run with stderr on a pseudo-terminal
(progress drawn) and on a pipe (no progress), best of a few runs each. Prints figures; asserts nothing.

    python benchmarks/progress_overhead.py [--files 300] [--runs 3] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = """import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense({n})])
optimizer = tf.keras.optimizers.Adam()
ckpt = tf.train.Checkpoint(model=model)
def step(x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    ckpt.save("/tmp/c{n}")
"""


def _run(directory: Path, jobs: int, on_terminal: bool) -> tuple[float, int]:
    """Seconds for one cold run, and the bytes written to stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    command = [sys.executable, "-m", "ckptlint", "check", "--no-cache", "-j", str(jobs), "."]
    started = time.perf_counter()
    if not on_terminal:
        done = subprocess.run(command, cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return time.perf_counter() - started, len(done.stderr)
    master, slave = pty.openpty()
    process = subprocess.Popen(command, cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = 0
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += len(chunk)
    os.close(master)
    process.wait()
    return time.perf_counter() - started, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ckptlint-progress-") as tmp:
        directory = Path(tmp)
        for n in range(args.files):
            (directory / f"m{n}.py").write_text(SOURCE.format(n=n + 1))
        for label, on_terminal in (("stderr on a pipe (no progress)", False), ("stderr on a terminal", True)):
            runs = [_run(directory, args.jobs, on_terminal) for _ in range(args.runs)]
            best = min(seconds for seconds, _ in runs)
            print(f"{label:32s} best of {args.runs}: {best:6.2f} s  "
                  f"(runs: {', '.join(f'{s:.2f}' for s, _ in runs)}; stderr bytes: {runs[-1][1]})")


if __name__ == "__main__":
    main()
