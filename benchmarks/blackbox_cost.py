"""What a black-box verification costs next to one plain run of the same small training script.

    python benchmarks/blackbox_cost.py [--program PATH] [--repeat 3]

Prints the wall time of the plain run (`python PROGRAM OUT`), of `ckptlint verify -- python PROGRAM {out}`
with and without the determinism run (U2), and the ratios. The target is a ratio of at most 5 for a
small script. Figures depend on the load of the machine: run it on a quiet one.
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

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PROGRAM = REPO / "tests" / "harness" / "blackbox" / "programs" / "made" / "manager_loop.py"


def timed(argv: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program", type=Path, default=DEFAULT_PROGRAM)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    program = args.program.resolve()
    rows: dict[str, list[float]] = {"plain run": [], "verify --no-determinism-check": [], "verify": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as out:
            rows["plain run"].append(timed([sys.executable, str(program), out], program.parent))
        verify = [sys.executable, "-m", "ckptlint", "verify"]
        rows["verify --no-determinism-check"].append(
            timed([*verify, "--no-determinism-check", "--", sys.executable, str(program), "{out}"], program.parent))
        rows["verify"].append(timed([*verify, "--", sys.executable, str(program), "{out}"], program.parent))
    plain = statistics.median(rows["plain run"])
    print(f"program: {program.relative_to(REPO) if program.is_relative_to(REPO) else program}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, times in rows.items():
        median = statistics.median(times)
        runs = " / ".join(f"{t:.1f}" for t in times)
        print(f"{name:32s} {median:6.1f} s  ({runs})  {median / plain:4.1f}x plain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
