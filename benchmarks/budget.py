"""The linter's speed budget, line by line, for one or more ckptlint source trees side by side with ruff.

    python benchmarks/budget.py --tree now=. --tree base=/path/to/older/tree --repeat 3

Budget lines (the figures this prints):
- benchmark corpus (benchmarks/corpus.json), cold: ckptlint `--select ALL`, empty cache, default
  --jobs, against `ruff check --select ALL --no-cache` on the same files (goal: <= 1.3x ruff);
- benchmark corpus, warm: the same on the cache the cold run left (goal: <= 1 s);
- dense corpus (benchmarks/precision/dense.json: checkpoint-heavy files, the prefilter drops few),
  cold, against ruff the same way (goal: no slower than before);
- one training module in pre-commit (benchmarks/hook_one_file.py's file, goal: <= 0.75 s).

The runs of every tree and of ruff are interleaved (tree A, tree B, ruff, tree A, ...), so that a
machine whose load changes during the measurement treats them alike; medians of --repeat runs are
printed with every run. Each run is a separate process timed from spawn to exit (wall clock), and its
CPU time (user + system, the process and the children it waited for: ckptlint's pool workers, ruff's
threads) is printed too: on a machine other jobs share, CPU time is the steadier figure. `--save-findings
DIR` keeps each tree's findings of its last cold run (compare them with benchmarks/same_findings.py).
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
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "precision")]

import bench  # noqa: E402  (benchmarks/bench.py: the benchmark corpus)
import fetch  # noqa: E402  (benchmarks/precision/fetch.py: the dense corpus)
import hook_one_file  # noqa: E402


@dataclass
class Series:
    name: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.walls.append(wall)
        self.cpus.append(cpu)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one process run, spawn to exit; CPU includes the children it waited for."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"budget: {' '.join(command[:5])} ... exited {code}: {stderr[-1500:]}")
    return wall, usage.ru_utime + usage.ru_stime


PYTHONS: dict[str, str] = {}  # tree name -> the interpreter that runs it


def tree_env(root: Path, pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(root.resolve())
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def ruff_command() -> list[str]:
    script = Path(sys.executable).parent / "ruff"
    found = str(script) if script.exists() else shutil.which("ruff")
    if found is None:
        raise SystemExit("budget: ruff is not installed (pip install ruff)")
    return [found]


def log(message: str) -> None:
    print(f"[budget {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def corpus_side_by_side(label: str, corpus: Path, trees: dict[str, Path], scratch: Path, repeat: int,
                        warm: bool, save: Path | None) -> list[Series]:
    """Cold (and warm) ckptlint of every tree and ruff, interleaved, on one corpus."""
    ruff = Series("ruff --select ALL, no cache")
    cold = {name: Series(f"ckptlint {name} cold") for name in trees}
    hot = {name: Series(f"ckptlint {name} warm") for name in trees}
    ruff_cmd = [*ruff_command(), "check", ".", "--isolated", "--select", "ALL", "--exit-zero", "--quiet", "--no-cache"]
    for index in range(repeat):
        for name, root in trees.items():
            env = tree_env(root, scratch / f"pycache-{name}")
            cache = scratch / f"cache-{name}-{label}"
            report = scratch / f"findings-{name}-{label}.json"
            command = [PYTHONS[name], "-m", "ckptlint", "check", ".", "--select", "ALL", "--exit-zero",
                       "--format", "json", "-o", str(report), "--cache-dir", str(cache)]
            if index == 0:
                timed([PYTHONS[name], "-m", "ckptlint", "--version"], corpus, env)  # bytecode compiled once
            shutil.rmtree(cache, ignore_errors=True)
            cold[name].add(*timed(command, corpus, env))
            log(f"{label}: {cold[name].name} #{index + 1}: {cold[name].walls[-1]:.2f} s wall, {cold[name].cpus[-1]:.2f} s CPU")
            if save is not None:
                shutil.copyfile(report, save / f"{label}-{name}.json")
            if warm:
                hot[name].add(*timed(command, corpus, env))
                log(f"{label}: {hot[name].name} #{index + 1}: {hot[name].walls[-1]:.2f} s wall, {hot[name].cpus[-1]:.2f} s CPU")
        ruff.add(*timed(ruff_cmd, corpus, os.environ.copy()))
        log(f"{label}: ruff #{index + 1}: {ruff.walls[-1]:.2f} s wall, {ruff.cpus[-1]:.2f} s CPU")
    return [*cold.values(), *(hot.values() if warm else ()), ruff]


def hook(trees: dict[str, Path], scratch: Path, repeat: int, module: Path) -> list[Series]:
    out = {name: Series(f"ckptlint {name}: one module, pre-commit") for name in trees}
    for name, root in trees.items():  # untimed: compiles every module's bytecode once
        timed(hook_one_file.command(module, scratch / f"hook-cache-{name}", PYTHONS[name]), module.parent,
              tree_env(root, scratch / f"pycache-{name}"))
        shutil.rmtree(scratch / f"hook-cache-{name}", ignore_errors=True)
    for index in range(repeat):
        for name, root in trees.items():
            env = tree_env(root, scratch / f"pycache-{name}")
            out[name].add(*timed(hook_one_file.command(module, scratch / f"hook-cache-{name}", PYTHONS[name]), module.parent, env))
            shutil.rmtree(scratch / f"hook-cache-{name}", ignore_errors=True)
        log(f"hook #{index + 1}: " + ", ".join(f"{s.name} {s.walls[-1]:.2f} s" for s in out.values()))
    return list(out.values())


def table(title: str, rows: list[Series], ruff: Series | None) -> str:
    lines = [f"**{title}**", "", "| run | wall, median (runs) | CPU, median (runs) | wall ÷ ruff | CPU ÷ ruff |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for row in rows:
        walls = "/".join(f"{w:.2f}" for w in row.walls)
        cpus = "/".join(f"{c:.2f}" for c in row.cpus)
        ratio = (f"{row.wall / ruff.wall:.2f}×", f"{row.cpu / ruff.cpu:.2f}×") if ruff and row is not ruff else ("", "")
        lines.append(f"| {row.name} | **{row.wall:.2f} s** ({walls}) | {row.cpu:.2f} s ({cpus}) | {ratio[0]} | {ratio[1]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH[@PYTHON]",
                        help="a ckptlint source tree to measure (repeatable; default: now=this tree), run by "
                             "PYTHON (default: this interpreter; an older tree may need the venv it was installed in)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hook-repeat", type=int, default=7)
    parser.add_argument("--only", choices=("bench", "dense", "hook"), action="append",
                        help="measure only these budget lines (repeatable)")
    parser.add_argument("--save-findings", type=Path, help="keep each tree's findings of its cold runs here")
    args = parser.parse_args(argv)
    trees = dict(item.split("=", 1) for item in args.tree) if args.tree else {"now": str(HERE.parent)}
    for name, spec in trees.items():
        path, _, python = spec.partition("@")
        PYTHONS[name] = python or sys.executable
        trees[name] = Path(path).resolve()
    only = set(args.only or ("bench", "dense", "hook"))
    if args.save_findings:
        args.save_findings.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="ckptlint-budget-"))
    out = [f"{os.cpu_count()} cores, load average at start {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
           f"trees: {', '.join(f'{n} = {p}' for n, p in trees.items())}\n"]
    try:
        if "hook" in only:
            module = hook_one_file.pick()
            rows = hook(trees, scratch, args.hook_repeat, module)
            out.append(table(f"One {hook_one_file.lines(module)}-line training module, as the pre-commit hook runs "
                             f"it (`{module.name}`, empty cache)", rows, None))
        if "bench" in only:
            corpus = bench.ensure_corpus(Path(os.environ.get("CKPTLINT_BENCH_CACHE", Path.home() / ".cache" / "ckptlint-bench")),
                                         json.loads(bench.SPEC.read_text()))
            files, lines, _ = bench.corpus_size(corpus)
            rows = corpus_side_by_side("bench", corpus, trees, scratch, args.repeat, True, args.save_findings)
            out.append(table(f"Benchmark corpus: {files:,} files, {lines:,} lines", rows, rows[-1]))
        if "dense" in only:
            corpus = fetch.ensure_corpus(fetch.load_spec(fetch.HERE / "dense.json"))
            files, lines, _ = fetch.corpus_size(corpus)
            rows = corpus_side_by_side("dense", corpus, trees, scratch, args.repeat, False, args.save_findings)
            out.append(table(f"Dense corpus: {files:,} files, {lines:,} lines", rows, rows[-1]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out.append(f"Load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
