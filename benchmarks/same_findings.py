"""Check that a speed change left every finding alone: run ckptlint on a corpus and save its findings,
or compare them with a saved run.

    python benchmarks/same_findings.py save CORPUS before.json [--ckptlint-root TREE] [--jobs 2]
    python benchmarks/same_findings.py compare CORPUS before.json [--ckptlint-root TREE] [--jobs 2]
    python benchmarks/same_findings.py compare CORPUS before.json --report findings.json  # a run made already

Every rule runs (`--select ALL`), without a cache, so the run analyses every file. The comparison is of
the whole JSON records (rule, message, position, related locations...), as sets; the exit code is 0
when they are identical, 1 otherwise (the differences are printed), 2 when ckptlint itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_check(corpus: Path, root: Path, jobs: int) -> tuple[list[dict], str]:
    """The findings of the ckptlint of source tree `root` on `corpus`, and what it wrote to stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(root.resolve()), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="ckptlint-same-") as scratch:
        report = Path(scratch) / "findings.json"
        done = subprocess.run(
            [sys.executable, "-m", "ckptlint", "check", ".", "--select", "ALL", "--exit-zero", "--no-cache",
             "--format", "json", "-o", str(report), "--jobs", str(jobs)],
            cwd=corpus, env=env, capture_output=True, text=True, check=False)
        if not report.is_file():
            raise SystemExit(f"same_findings: ckptlint exited {done.returncode}: {done.stderr[-2000:]}")
        return json.loads(report.read_text()), done.stderr


def _key(finding: dict) -> str:
    return json.dumps(finding, sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "compare"))
    parser.add_argument("corpus", type=Path)
    parser.add_argument("saved", type=Path)
    parser.add_argument("--ckptlint-root", type=Path, default=HERE.parent, help="the source tree to run")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--report", type=Path, help="compare this JSON report (of a run on CORPUS with --select "
                                                    "ALL) instead of running ckptlint; stderr is then not compared")
    args = parser.parse_args(argv)

    if args.report:
        findings, stderr = json.loads(args.report.read_text()), None
    else:
        findings, stderr = run_check(args.corpus, args.ckptlint_root, args.jobs)
    if args.action == "save":
        args.saved.write_text(json.dumps({"findings": sorted(findings, key=_key), "stderr": stderr}, indent=1))
        print(f"{len(findings)} findings saved to {args.saved}")
        return 0
    saved = json.loads(args.saved.read_text())
    before = {_key(f) for f in saved["findings"]}
    after = {_key(f) for f in findings}
    for key in sorted(before - after):
        print(f"- {key}")
    for key in sorted(after - before):
        print(f"+ {key}")
    if stderr is not None and stderr != saved["stderr"]:
        print(f"stderr differs:\n--- before\n{saved['stderr']}\n--- after\n{stderr}")
    same = before == after and len(findings) == len(saved["findings"]) and stderr in (None, saved["stderr"])
    print(f"{'identical' if same else 'DIFFERENT'}: {len(saved['findings'])} findings before, {len(findings)} after")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
