"""Time `ckptlint inspect` and `ckptlint diff` on a TF checkpoint with many variables.

    python benchmarks/inspect_many_variables.py                 # ~8,000 variables
    python benchmarks/inspect_many_variables.py --layers 4000   # ~24,000

The checkpoint is built once with TensorFlow in a subprocess (cached under --out): a Keras model with
LAYERS small Dense layers and its Adam optimizer, built but not trained, written by tf.train.Checkpoint
(2 variables per layer, 2 slots per variable, plus iterations and learning rate: 6 x LAYERS + 2).
Each command then runs as a fresh `python -m ckptlint` process, timed from spawn to exit (median of
--repeat runs), with its peak RSS from wait4. An inspection once scanned every stored key for every
object of the graph (quadratic: 66 s for 8,000 variables); the target is under 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_BUILD = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf, keras

class Wide(keras.Model):
    def __init__(self, n):
        super().__init__()
        self.blocks = [keras.layers.Dense(4) for _ in range(n)]
    def call(self, x):
        return sum(b(x) for b in self.blocks)

model = Wide(int(sys.argv[1]))
for block in model.blocks:
    block.build((None, 4))
optimizer = keras.optimizers.Adam()
optimizer.build(model.trainable_variables)
tf.train.Checkpoint(model=model, optimizer=optimizer).write(sys.argv[2])
"""


def timed(argv: list[str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB, exit code) of one fresh process. CPU time is printed
    too because wall time on a shared machine mostly measures the other jobs."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return (time.monotonic() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
            os.waitstatus_to_exitcode(status))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=1333, help="Dense layers (6 x LAYERS + 2 variables)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ckptlint-bench-many")
    args = parser.parse_args()
    prefix = args.out / f"wide-{args.layers}" / "ckpt"
    if not Path(f"{prefix}.index").exists():
        prefix.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {prefix} with TensorFlow ...", file=sys.stderr)
        subprocess.run([sys.executable, "-c", _BUILD, str(args.layers), str(prefix)], check=True,
                       stderr=subprocess.DEVNULL)
    size = sum(p.stat().st_size for p in prefix.parent.iterdir())
    print(f"checkpoint: {prefix} ({6 * args.layers + 2} variables, {size / 1e6:.1f} MB)")
    for label, argv in (("inspect", ["inspect", str(prefix)]),
                        ("inspect --format json", ["inspect", "--format", "json", str(prefix)]),
                        ("diff (itself)", ["diff", str(prefix), str(prefix)])):
        runs = [timed([sys.executable, "-m", "ckptlint", *argv]) for _ in range(args.repeat)]
        walls = [run[0] for run in runs]
        print(f"{label:24} {statistics.median(walls):6.2f} s wall (runs: {', '.join(f'{w:.2f}' for w in walls)}), "
              f"{statistics.median(run[1] for run in runs):.2f} s CPU, peak RSS {max(run[2] for run in runs) / 1024:.0f} "
              f"MiB, exit {sorted({run[3] for run in runs})}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
