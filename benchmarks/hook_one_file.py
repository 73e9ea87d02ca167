"""The pre-commit budget: one real ~800-line training module, linted as the hook lints a staged file.

    python benchmarks/hook_one_file.py [--repeat 10]

The module is the training module of the benchmark corpus (benchmarks/bench.py: a file that builds a
`tf.train.Checkpoint` and trains with `apply_gradients` or `fit`, not a test) whose length is nearest
800 lines. The command is the hook's, `ckptlint check FILE`, with the default rules and an empty cache
directory (a staged file has changed, so its cache entry misses); the project modules it imports are
in the corpus next to it and are read as in a checkout. Each run is a separate process timed from spawn
to exit; the median of --repeat runs is printed with every run (goal: <= 0.75 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402

TARGET_LINES = 800


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def pick(corpus: Path | None = None) -> Path:
    """The corpus's training module nearest TARGET_LINES lines (ties: the first by path)."""
    if corpus is None:
        cache = Path(os.environ.get("CKPTLINT_BENCH_CACHE", Path.home() / ".cache" / "ckptlint-bench"))
        corpus = bench.ensure_corpus(cache, json.loads(bench.SPEC.read_text()))
    best: tuple[int, str] | None = None
    for path in sorted(corpus.rglob("*.py")):
        if "test" in path.name:
            continue
        text = path.read_text("utf-8", "replace")
        if "Checkpoint(" in text and ("apply_gradients" in text or ".fit(" in text):
            candidate = (abs(text.count("\n") - TARGET_LINES), str(path))
            best = min(best, candidate) if best else candidate
    if best is None:
        raise SystemExit("hook_one_file: no training module in the corpus")
    return Path(best[1])


def command(module: Path, cache_dir: Path, python: str = sys.executable) -> list[str]:
    return [python, "-m", "ckptlint", "check", module.name, "--cache-dir", str(cache_dir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    module = pick()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    scratch = Path(tempfile.mkdtemp(prefix="ckptlint-hook-"))
    walls: list[float] = []
    try:
        subprocess.run([sys.executable, "-m", "ckptlint", "--version"], env=env, capture_output=True, check=False)
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(command(module, scratch / "cache"), cwd=module.parent, env=env, capture_output=True, check=False)
            walls.append(time.perf_counter() - start)
            shutil.rmtree(scratch / "cache", ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{module} ({lines(module)} lines): median {statistics.median(walls):.2f} s "
          f"({'/'.join(f'{w:.2f}' for w in walls)}); load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
