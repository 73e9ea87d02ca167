"""Run `ckptlint check` (every rule) over the precision corpus and write its findings with stable ids.

    python benchmarks/precision/run.py                                  # this work tree's ckptlint
    python benchmarks/precision/run.py --ckptlint-root /work/main -o /tmp/main-findings.json

The ckptlint that runs is the source tree at --ckptlint-root (default: the work tree holding this
script), imported from there (`python -m ckptlint` with that tree first on PYTHONPATH), so two trees can
be compared on the same corpus without reinstalling anything. It runs from the corpus directory, so each
finding's file is `<package>/<path in the package>`.

Each finding gets an id that survives line moves and re-runs: package, path, rule code and a hash of the
text of the reported line (whitespace-normalised), plus `~N` for the N-th identical one in the same file.
triage.json is keyed by these ids; report.py joins the two.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import fetch

DEFAULT_ROOT = fetch.HERE.parent.parent
DEFAULT_OUTPUT = fetch.HERE / "findings.json"


def line_text(corpus: Path, filename: str, cell: int | None, row: int) -> str:
    """The reported line as written (a notebook's line is read from its cell)."""
    path = corpus / filename
    try:
        if cell is not None:
            cells = json.loads(path.read_text("utf-8")).get("cells", [])
            source = cells[cell - 1].get("source", "")
            text = "".join(source) if isinstance(source, list) else source
        else:
            text = path.read_text("utf-8", "replace")
        lines = text.splitlines()
        return lines[row - 1] if 0 < row <= len(lines) else ""
    except (OSError, ValueError, IndexError, AttributeError):
        return ""


def finding_id(package: str, path: str, code: str, text: str) -> str:
    digest = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:10]
    return f"{package}:{path}:{code}:{digest}"


def with_ids(raw: list[dict], corpus: Path) -> list[dict]:
    """The findings, sorted, each with package, path, line text and id."""
    seen: Counter[str] = Counter()
    out = []
    for item in sorted(raw, key=lambda f: (f["filename"], f.get("cell") or 0, f["location"]["row"],
                                             f["location"]["column"], f["code"])):
        package, _, path = item["filename"].partition("/")
        text = line_text(corpus, item["filename"], item.get("cell"), item["location"]["row"])
        base = finding_id(package, path, item["code"], text)
        seen[base] += 1
        out.append({
            "id": base if seen[base] == 1 else f"{base}~{seen[base]}",
            "package": package, "path": path, "code": item["code"], "cell": item.get("cell"),
            "row": item["location"]["row"], "column": item["location"]["column"],
            "line": text.strip(), "message": item["message"],
            "related": [f"{r.get('cell') and 'cell_%s:' % r['cell'] or ''}{r['row']}: {r['message']}"
                        for r in item.get("related", [])],
        })
    return out


def run_ckptlint(root: Path, corpus: Path, jobs: int) -> tuple[list[dict], float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="ckptlint-precision-") as scratch:
        report = Path(scratch) / "findings.json"
        command = [sys.executable, "-m", "ckptlint", "check", ".", "--select", "ALL", "--no-cache",
                   "--format", "json", "--exit-zero", "--jobs", str(jobs), "-o", str(report)]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=corpus, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"run: ckptlint exited {done.returncode}: {done.stderr.strip()[-2000:]}")
        return json.loads(report.read_text()), wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckptlint-root", type=Path, default=DEFAULT_ROOT,
                        help="the ckptlint source tree to run (default: this work tree)")
    parser.add_argument("--spec", type=Path, default=fetch.DEFAULT_SPEC)
    parser.add_argument("--cache", type=Path, default=fetch.DEFAULT_CACHE)
    parser.add_argument("--jobs", type=int, default=2, help="ckptlint worker processes (default 2)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    root = args.ckptlint_root.resolve()
    if not (root / "ckptlint" / "__main__.py").is_file():
        raise SystemExit(f"run: {root} is not a ckptlint source tree (no ckptlint/__main__.py)")
    corpus = fetch.ensure_corpus(fetch.load_spec(args.spec), args.cache)
    files, lines, _ = fetch.corpus_size(corpus)
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "unknown"
    fetch.log(f"ckptlint at {root} ({head}) on {corpus}: {files:,} files, {lines:,} lines")
    raw, wall = run_ckptlint(root, corpus, args.jobs)
    findings = with_ids(raw, corpus)
    args.output.write_text(json.dumps({
        "ckptlint_root": str(root), "ckptlint_commit": head, "corpus": corpus.name,
        "files": files, "lines": lines, "seconds": round(wall, 2), "findings": findings,
    }, indent=1) + "\n")
    by_code = Counter(f["code"] for f in findings)
    fetch.log(f"{len(findings)} findings in {wall:.1f} s ({', '.join(f'{c} {n}' for c, n in sorted(by_code.items()))})"
              f" -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
