"""The pre-commit hook on a one-file commit inside a big project: what reading the project's context costs.

A pre-commit hook runs `ckptlint check FILE` from the repository's root on the staged files. Project
rules (CKPT203) then also read the project's other files (ckptlint.lint.context): from the cache when it
has them, else by linting them. This script copies one package of the performance corpus into a fresh git
repository (the project), and times the command the hook runs, in a fresh process each time, with its
own cache directory:

- cold: an empty cache (the first commit after installing the hook);
- warm: the cache filled by the previous run, nothing changed (pre-commit run twice);
- warm, file edited: the staged file changed since the last run (the usual commit): the file itself is
  linted again, its project context comes from the cache;
- no context: `--ignore CKPT203`, so no project rule runs and only the file is read (the floor, and
  what the hook cost before project context).

    python benchmarks/precommit_context.py                       # tf-models-official, 10 warm runs
    python benchmarks/precommit_context.py --package tf-keras --file tf_keras/src/callbacks.py

The corpus is the one benchmarks/bench.py downloads (~/.cache/ckptlint-bench); run that first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_CACHE = Path.home() / ".cache" / "ckptlint-bench"
DEFAULT_PACKAGE = "tf-models-official"
DEFAULT_FILE = "official/projects/nhnet/trainer.py"


def corpus_package(name: str) -> Path:
    found = sorted(BENCH_CACHE.glob(f"corpus-*/{name}"))
    if not found:
        sys.exit(f"precommit_context: no {name} under {BENCH_CACHE}/corpus-*: run benchmarks/bench.py first")
    return found[-1]


def make_project(package: Path, workdir: Path) -> Path:
    """A git repository holding a copy of the package, everything committed."""
    project = workdir / "project"
    shutil.copytree(package, project, symlinks=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@ckptlint.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "corpus"], cwd=project, check=True)
    return project


def timed(args: list[str], project: Path, cache: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "CKPTLINT_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ckptlint", "check", *args], cwd=project, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"precommit_context: ckptlint exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return elapsed, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", default=DEFAULT_PACKAGE, help=f"a package of the corpus (default {DEFAULT_PACKAGE})")
    parser.add_argument("--file", default=DEFAULT_FILE, help=f"the staged file, relative to the package (default {DEFAULT_FILE})")
    parser.add_argument("--runs", type=int, default=10, help="warm runs of each kind (default 10)")
    args = parser.parse_args()

    package = corpus_package(args.package)
    with tempfile.TemporaryDirectory(prefix="ckptlint-precommit-") as tmp:
        workdir = Path(tmp)
        project = make_project(package, workdir)
        staged = project / args.file
        if not staged.is_file():
            sys.exit(f"precommit_context: {args.file} is not a file of {args.package}")
        files = int(subprocess.run(["git", "ls-files"], cwd=project, capture_output=True, text=True,
                                   check=True).stdout.count(".py\n"))
        cache = workdir / "cache"
        cold, proc = timed([args.file], project, cache)
        findings = proc.stdout.count(": CKPT")
        warm = [timed([args.file], project, cache)[0] for _ in range(args.runs)]
        edited = []
        original = staged.read_text(encoding="utf-8")
        for run in range(args.runs):
            staged.write_text(original + f"# edit {run}\n", encoding="utf-8")
            edited.append(timed([args.file], project, cache)[0])
        staged.write_text(original, encoding="utf-8")
        floor_cache = workdir / "cache-no-context"
        floor_cold = timed(["--ignore", "CKPT203", args.file], project, floor_cache)[0]
        floor_warm = [timed(["--ignore", "CKPT203", args.file], project, floor_cache)[0] for _ in range(args.runs)]

    print(f"project: a copy of {args.package} ({files:,} Python files, git); staged file: {args.file} "
          f"({len(original.splitlines()):,} lines, {findings} finding(s))")
    print(f"{'run':<44} {'median':>8} {'min':>8} {'max':>8}")
    rows = [
        ("cold (empty cache)", [cold]),
        ("warm (nothing changed)", warm),
        ("warm, the staged file edited", edited),
        ("no context (--ignore CKPT203), cold", [floor_cold]),
        ("no context (--ignore CKPT203), warm", floor_warm),
    ]
    for label, times in rows:
        print(f"{label:<44} {statistics.median(times):>7.2f}s {min(times):>7.2f}s {max(times):>7.2f}s")


if __name__ == "__main__":
    main()
