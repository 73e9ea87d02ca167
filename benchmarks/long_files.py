"""How the linter's cost grows with the length of one file: CPU seconds of `ckptlint check --select ALL`
on generated modules of N repeated statements (the shapes the fuzz campaign's long sources use), for
growing N. A linear analysis keeps seconds/N flat; a quadratic path doubles it with every doubling.

    python benchmarks/long_files.py                      # N = 500, 1000, 2000, 4000, 8000
    python benchmarks/long_files.py --sizes 1000 10000 --shapes checkpoints restores
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fuzz  # noqa: E402  (benchmarks/fuzz.py: the statement shapes)


def cpu_seconds(path: Path) -> float:
    """CPU time (user + system) of one cold `check` of `path` in a fresh process, pool disabled."""
    before = os.times()
    subprocess.run([sys.executable, "-m", "ckptlint", "check", "--no-cache", "--select", "ALL", "--jobs", "1",
                    "--file-timeout", "600", str(path)], capture_output=True, check=False)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000, 8000])
    parser.add_argument("--shapes", nargs="+", default=sorted(fuzz.STATEMENTS), choices=sorted(fuzz.STATEMENTS))
    args = parser.parse_args()
    print(f"{'shape':<18} {'N':>6} {'CPU s':>8} {'ms per N':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes:
            for n in args.sizes:
                path = Path(tmp) / f"{shape.replace(' ', '_')}_{n}.py"
                path.write_text(fuzz.PREFIX + fuzz.STATEMENTS[shape](n), encoding="utf-8")
                seconds = cpu_seconds(path)
                print(f"{shape:<18} {n:>6} {seconds:>8.2f} {1000 * seconds / n:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
