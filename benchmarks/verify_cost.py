"""What one `ckptlint verify` costs, phase by phase: prints wall-clock figures, asserts nothing.

    python benchmarks/verify_cost.py [--repeat 3] [--target tests.harness.setups.tape:make_checkpoint_full]

Runs the CLI as a user does (JSON report) and prints the median of each phase's timing: the supervisor's
total, the training process's start-up (TensorFlow import and target), run A, the cold start, run B part 1,
and the fresh-process worker's import (overlapped with run A), restore and resumed training. Figures depend
on the machine's load: note it with the numbers (`uptime`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def one_run(target: str, steps: int, method: str | None) -> dict[str, float]:
    args = [sys.executable, "-m", "ckptlint", "verify", target, "--steps", str(steps), "--format", "json"]
    if method:
        args += ["--method", method]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - started
    data = json.loads(proc.stdout)
    report = data["reports"][data["default"]] if "reports" in data else data
    return {"wall (process start to exit)": wall, **report["timings"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="tests.harness.setups.tape:make_checkpoint_full")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--method", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [one_run(args.target, args.steps, args.method) for _ in range(args.repeat)]
    print(f"{args.target}, --steps {args.steps}" + (f", --method {args.method}" if args.method else "")
          + f": median of {args.repeat} runs; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for key in runs[0]:
        values = [r[key] for r in runs if key in r]
        print(f"  {key:<34} {statistics.median(values):7.2f} s   ({' / '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
