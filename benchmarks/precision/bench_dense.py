"""Time ckptlint and ruff side by side on the dense corpus (checkpoint-heavy training code).

    python benchmarks/precision/bench_dense.py                 # dense.json, 3 runs each, --jobs 2
    python benchmarks/precision/bench_dense.py --repeat 5 --ckptlint-root /work/main

On most code ckptlint's prefilter drops nearly every file before parsing; the dense corpus is chosen so
that it drops few (every file mentions checkpoint, save or load vocabulary), which makes this the
unflattering comparison: ckptlint parsing and modelling most files against `ruff check --select ALL`
(every ruff rule, Rust, its own parallelism). Each run is a separate process timed from spawn to exit,
wall clock; the median of --repeat runs is printed with every run.

- ckptlint cold: `--select ALL --jobs N`, empty cache directory.
- ckptlint warm: the same, on the cache the cold run left.
- ruff cold: `ruff check --isolated --select ALL --no-cache --exit-zero` (ruff reads .ipynb too).
- ruff warm: the same with ruff's cache in a scratch directory, filled by a first run.
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

import fetch
from run import DEFAULT_ROOT


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench_dense: {' '.join(command[:4])} ... exited {done.returncode}: {done.stderr[-1000:]}")
    return wall, done.returncode


def measure(name: str, command: list[str], cwd: Path, env: dict[str, str], repeat: int, before=None) -> list[float]:
    walls = []
    for index in range(repeat):
        if before:
            before()
        wall, _ = timed(command, cwd, env)
        walls.append(wall)
        fetch.log(f"{name} #{index + 1}: {wall:.2f} s")
    return walls


def ruff_command() -> list[str]:
    script = Path(sys.executable).parent / "ruff"
    if script.exists():
        return [str(script)]
    found = shutil.which("ruff")
    if found is None:
        raise SystemExit("bench_dense: ruff is not installed (pip install ruff)")
    return [found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=fetch.HERE / "dense.json")
    parser.add_argument("--cache", type=Path, default=fetch.DEFAULT_CACHE)
    parser.add_argument("--ckptlint-root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--jobs", type=int, default=2, help="ckptlint worker processes (ruff uses its own threads)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    corpus = fetch.ensure_corpus(fetch.load_spec(args.spec), args.cache)
    files, lines, size = fetch.corpus_size(corpus)
    notebooks = sum(1 for p in fetch.corpus_files(corpus) if p.suffix == ".ipynb")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(args.ckptlint_root.resolve()), *filter(None, [env.get("PYTHONPATH")])])
    scratch = Path(tempfile.mkdtemp(prefix="ckptlint-dense-"))
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    ckpt_cache, ruff_cache, report = scratch / "ckptlint-cache", scratch / "ruff-cache", scratch / "report.json"
    ckptlint = [sys.executable, "-m", "ckptlint", "check", ".", "--select", "ALL", "--exit-zero", "--format", "json",
                "-o", str(report), "--jobs", str(args.jobs), "--cache-dir", str(ckpt_cache)]
    ruff = [*ruff_command(), "check", ".", "--isolated", "--select", "ALL", "--exit-zero", "--quiet"]
    version = subprocess.run([*ruff_command(), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    results: dict[str, list[float]] = {}
    try:
        timed([sys.executable, "-m", "ckptlint", "--version"], corpus, env)  # compile ckptlint's bytecode once
        results["ckptlint cold"] = measure("ckptlint cold", ckptlint, corpus, env, args.repeat,
                                           before=lambda: shutil.rmtree(ckpt_cache, ignore_errors=True))
        findings = len(json.loads(report.read_text()))
        results["ckptlint warm"] = measure("ckptlint warm", ckptlint, corpus, env, args.repeat)
        results["ruff cold"] = measure("ruff cold", [*ruff, "--no-cache"], corpus, env, args.repeat)
        timed([*ruff, "--cache-dir", str(ruff_cache)], corpus, env)  # fill ruff's cache
        results["ruff warm"] = measure("ruff warm", [*ruff, "--cache-dir", str(ruff_cache)], corpus, env, args.repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    base = statistics.median(results["ckptlint cold"])
    print(f"Dense corpus {corpus.name}: {len(fetch.load_spec(args.spec).packages)} packages, {files:,} files "
          f"({notebooks:,} notebooks), {lines:,} lines, {size / 1e6:.1f} MB; ckptlint --jobs {args.jobs}, {version}; "
          f"{os.cpu_count()} cores, load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| run | wall, median (runs) | files/s | time ÷ ckptlint cold |\n| --- | ---: | ---: | ---: |")
    for name, walls in results.items():
        median = statistics.median(walls)
        print(f"| {name} | **{median:.2f} s** ({'/'.join(f'{w:.2f}' for w in walls)}) | {files / median:,.0f} | "
              f"{median / base:.2f}× |")
    print(f"\nckptlint findings on the dense corpus: {findings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
