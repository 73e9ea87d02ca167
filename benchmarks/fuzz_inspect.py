"""Fuzz `ckptlint inspect` and `ckptlint diff` with thousands of crafted and corrupt artifacts.

    python benchmarks/fuzz_inspect.py --seed 1 --count 2000 --out /tmp/fuzz

Seed artifacts (real TF/Keras files of every format) are built once with TensorFlow in a subprocess
(tests/inspect/inspect_artifacts.py) under OUT/seeds, then tests/fuzz_artifacts.py writes COUNT crafted
inputs under OUT/cases and runs `inspect` and `diff` on each, every command in its own forked child of
this process (which never imports TensorFlow). Printed: inputs and runs, tracebacks, hangs (no exit
within --timeout seconds), wrong exit codes, exit 2 without exactly one `ckptlint: error:` line, other
stderr output, runs that hit the --memory-limit safety net, and peak RSS (largest child, from wait4).
Exit status 0 when every count of a problem is zero.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import fuzz_artifacts as fz  # noqa: E402


def seed_artifacts(directory: Path) -> dict[str, Path]:
    manifest = directory / "manifest.json"
    if not manifest.exists():
        directory.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, str(REPO / "tests" / "inspect" / "inspect_artifacts.py"),
                               str(directory / "files")], capture_output=True, text=True, check=True)
        built = dict(line.split(None, 1) for line in proc.stdout.splitlines() if line.strip())
        manifest.write_text(json.dumps(built))
    return {name: Path(path) for name, path in json.loads(manifest.read_text()).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=2000, help="number of crafted inputs (2 runs each)")
    parser.add_argument("--out", type=Path, default=None, help="working directory (default: a new temp dir)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds before a run counts as a hang")
    parser.add_argument("--memory-limit-gb", type=float, default=4.0,
                        help="address-space limit per run, a safety net for the machine (0: none)")
    parser.add_argument("--json", type=Path, default=None, help="also write every outcome here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="ckptlint-fuzz-"))
    started = time.monotonic()
    seeds = seed_artifacts(out / "seeds")
    cases = fz.generate(seeds, out / f"cases-{args.seed}", args.seed, args.count)
    generated = time.monotonic()
    limit = int(args.memory_limit_gb * (1 << 30)) or None
    outcomes = fz.run_cases(cases, timeout=args.timeout, memory_limit=limit)
    finished = time.monotonic()

    problems = Counter()
    for o in outcomes:
        for p in fz.problems(o):
            problems["exit 2 without exactly one error line" if p.startswith("exit 2") else p] += 1
    wrong_codes = sum(1 for o in outcomes if not o.timed_out and (o.code is None or o.code not in (0, 1, 2)))
    seconds = [o.seconds for o in outcomes]
    peak = max(outcomes, key=lambda o: o.max_rss_kb)
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"inputs:                    {len(cases)} (seed {args.seed}; generation errors: {len(fz.GENERATION_ERRORS)})")
    print(f"runs (inspect + diff):     {len(outcomes)}")
    print(f"families:                  {dict(sorted(Counter(c.family for c in cases).items()))}")
    print(f"exit codes:                {dict(sorted(Counter(str(o.code) for o in outcomes).items()))}")
    print(f"tracebacks:                {problems['traceback']}")
    print(f"hangs (> {args.timeout} s):            {problems['hang']}")
    print(f"wrong exit codes:          {wrong_codes}")
    print(f"exit 2 without one line:   {problems['exit 2 without exactly one error line']}")
    print(f"other output on stderr:    {problems['output on stderr']}")
    print(f"memory limit hit:          {problems['memory limit hit']}")
    print(f"peak RSS:                  {peak.max_rss_kb / 1024:.0f} MiB ({peak.case}, {peak.argv[0]})")
    print(f"seconds per run:           median {statistics.median(seconds):.2f}, "
          f"p95 {sorted(seconds)[int(0.95 * (len(seconds) - 1))]:.2f}, max {slowest.seconds:.2f} ({slowest.case})")
    print(f"wall:                      {finished - started:.0f} s (generation {generated - started:.0f} s)")
    for error in fz.GENERATION_ERRORS[:5]:
        print(f"generation error: {error}")
    bad = [o for o in outcomes if fz.problems(o)]
    for o in bad[:20]:
        print(f"PROBLEM {fz.problems(o)} {o.case} {' '.join(o.argv[:1])}: {o.stderr[-400:]!r}")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 0 if not bad and not wrong_codes else 1


if __name__ == "__main__":
    raise SystemExit(main())
