"""Run `ckptlint check` (every rule) over the precision corpus and write its findings with stable ids.

    python benchmarks/precision/run.py                                  # this work tree's ckptlint
    python benchmarks/precision/run.py --ckptlint-root /work/main -o /tmp/main-findings.json

The ckptlint that runs is the source tree at --ckptlint-root (default: the work tree holding this
script), imported from there (`-m ckptlint` with that tree first on sys.path), so two trees can
be compared on the same corpus without reinstalling anything (an editable install of another tree in
the same virtualenv is bypassed). It runs from the corpus directory, once per
package (each package is a project of its own), so each finding's file is `<package>/<path in the package>`.

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
            "related": [f"{'cell_' + str(r['cell']) + ':' if r.get('cell') else ''}{r['row']}: {r['message']}"
                        for r in item.get("related", [])],
        })
    return out


# Runs `ckptlint` from the tree on sys.path[0] only. A virtualenv where ckptlint is installed in editable
# mode maps `ckptlint` and `ckptlint.rules` to *its* tree through a meta-path finder that wins over
# PYTHONPATH for `ckptlint.rules`; those finders are dropped, and the modules actually imported are
# checked, so that two trees are never mixed in one measurement. (Workers are forked: they inherit this.)
_BOOTSTRAP = r"""
import runpy, sys
root = sys.argv.pop(1)
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
import ckptlint, ckptlint.rules
for module in (ckptlint, ckptlint.rules):
    if not module.__file__.startswith(root):
        sys.exit(f"run: {module.__name__} was imported from {module.__file__}, not from {root}")
sys.argv[0] = "ckptlint"
runpy.run_module("ckptlint", run_name="__main__", alter_sys=True)
"""


def run_ckptlint(root: Path, corpus: Path, jobs: int, keep_going: bool = False,
                 errors: list[dict] | None = None) -> tuple[list[dict], float]:
    """One ckptlint process per package: each package is its own project, as when its authors lint it
    (the project-wide pass and the project's Keras pin must not see the other 86 packages).
    With keep_going, a package on which ckptlint exits 2 (an internal error in one of its files) is
    recorded in `errors` with ckptlint's message, and the findings it reported for the package's other
    files are kept, so that one crashing file does not hide the rest of the corpus."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    findings: list[dict] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ckptlint-precision-") as scratch:
        report = Path(scratch) / "findings.json"
        for package in sorted(p.name for p in corpus.iterdir() if p.is_dir()):
            command = [sys.executable, "-c", _BOOTSTRAP, str(root) + os.sep, "check", package, "--select", "ALL",
                       "--no-cache", "--format", "json", "--exit-zero", "--jobs", str(jobs), "-o", str(report)]
            report.unlink(missing_ok=True)
            done = subprocess.run(command, cwd=corpus, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0 and keep_going and errors is not None and report.is_file():
                errors.append({"package": package, "exit": done.returncode, "stderr": done.stderr.strip()[-2000:]})
                fetch.log(f"{package}: ckptlint exited {done.returncode}: {done.stderr.strip()[-300:]}")
            elif done.returncode != 0:
                raise SystemExit(f"run: ckptlint exited {done.returncode} on {package}: {done.stderr.strip()[-2000:]}")
            findings += json.loads(report.read_text())
    return findings, time.perf_counter() - start


def git_commit(root: Path, *path_args: str) -> str:
    """The tree's HEAD, or with `-- paths` the last commit that changed the linter's own sources (the
    commit that names what was measured when the tree also holds unrelated work)."""
    done = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h", *path_args],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckptlint-root", type=Path, default=DEFAULT_ROOT,
                        help="the ckptlint source tree to run (default: this work tree)")
    parser.add_argument("--spec", type=Path, default=fetch.DEFAULT_SPEC)
    parser.add_argument("--cache", type=Path, default=fetch.DEFAULT_CACHE)
    parser.add_argument("--jobs", type=int, default=2, help="ckptlint worker processes (default 2)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--keep-going", action="store_true",
                        help="record a package on which ckptlint exits with an error and go on (see `errors` in the output)")
    args = parser.parse_args(argv)

    root = args.ckptlint_root.resolve()
    if not (root / "ckptlint" / "__main__.py").is_file():
        raise SystemExit(f"run: {root} is not a ckptlint source tree (no ckptlint/__main__.py)")
    corpus = fetch.ensure_corpus(fetch.load_spec(args.spec), args.cache)
    files, lines, _ = fetch.corpus_size(corpus)
    head = git_commit(root)
    source = git_commit(root, "--", "ckptlint", "rules", "pyproject.toml")
    fetch.log(f"ckptlint at {root} ({head}, linter sources of {source}) on {corpus}: {files:,} files, {lines:,} lines")
    errors: list[dict] = []
    raw, wall = run_ckptlint(root, corpus, args.jobs, args.keep_going, errors)
    findings = with_ids(raw, corpus)
    args.output.write_text(json.dumps({
        "ckptlint_root": str(root), "ckptlint_commit": head, "ckptlint_source_commit": source, "corpus": corpus.name,
        "files": files, "lines": lines, "seconds": round(wall, 2), "errors": errors, "findings": findings,
    }, indent=1) + "\n")
    by_code = Counter(f["code"] for f in findings)
    fetch.log(f"{len(findings)} findings in {wall:.1f} s ({', '.join(f'{c} {n}' for c, n in sorted(by_code.items()))})"
              f" -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
