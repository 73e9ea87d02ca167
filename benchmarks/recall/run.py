"""Recall of ckptlint on real training code with bugs seeded by hand.

    python benchmarks/recall/run.py                        # every case, this work tree's ckptlint
    python benchmarks/recall/run.py --ckptlint-root /work/main --case r03-nerf-expect-partial

Each case under cases/<id>/ is a manifest (manifest.json: package, path, sha256 of the original file
in the precision corpus, the rule expected and the line it should be reported at in the patched file)
and a unified diff (case.patch) against that original. Third-party code is never committed: the
package is copied out of the precision cache (benchmarks/precision/fetch.py downloads it), the patch is
applied to the copy, and ckptlint checks the copy with every rule selected.

A case is `found` when the expected rule is reported at the expected line of the patched file and the
unpatched original has no finding of that rule on a line with the same text (the seeded bug, not one
the file already had). Otherwise it is `missed`, and the findings of the patched file are printed so
that the miss can be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "precision"))

import fetch  # noqa: E402  (the precision corpus: pins, download and cache)

CASES = HERE / "cases"
DEFAULT_ROOT = HERE.parent.parent
_ROOT_MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Case:
    id: str
    package: str
    path: str
    sha256: str
    rule: str
    line: int
    cell: int | None = None
    also_lint: list[str] = field(default_factory=list)
    flow: str = ""
    bug: str = ""

    @classmethod
    def load(cls, directory: Path) -> "Case":
        data = json.loads((directory / "manifest.json").read_text())
        known = {name for name in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise SystemExit(f"recall: {directory.name}: unknown manifest keys {sorted(unknown)}")
        case = cls(**data)
        if case.id != directory.name:
            raise SystemExit(f"recall: {directory.name}: manifest id is {case.id!r}")
        return case


def apply_patch(original: str, patch: str) -> str:
    """The original with a one-file unified diff applied; every context and removed line must match
    exactly (a patch made against another version of the file is an error, never a fuzzy apply)."""
    source = original.splitlines(keepends=True)
    out: list[str] = []
    position = 0  # index in `source` of the next line not yet copied
    lines = patch.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        match = _HUNK.match(lines[index])
        index += 1
        if not match:
            continue
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        if start < position:
            raise ValueError("hunks overlap or are out of order")
        out += source[position:start]
        position = start
        while index < len(lines) and not lines[index].startswith("@@"):
            text = lines[index]
            index += 1
            if text.startswith("\\"):  # "\ No newline at end of file"
                if out and out[-1].endswith("\n"):
                    out[-1] = out[-1][:-1]
                continue
            tag, body = text[:1], text[1:]
            if tag in (" ", "-"):
                if position >= len(source) or source[position].rstrip("\r\n") != body.rstrip("\r\n"):
                    raise ValueError(f"context does not match at line {position + 1}: {body.rstrip()!r}")
                if tag == " ":
                    out.append(source[position])
                position += 1
            elif tag == "+":
                out.append(body)
            elif text.startswith(("---", "+++")):
                break
    return "".join(out + source[position:])


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def copy_package(corpus: Path, package: str, destination: Path) -> Path:
    """The package, linked file by file (nothing is copied or written in the cache). A package root
    without a project marker (an unpacked wheel) gets an empty setup.cfg, as its source repository
    has, so that imports between its modules resolve against the package root."""
    root = destination / package
    shutil.copytree(corpus / package, root, copy_function=_link_or_copy, symlinks=True)
    if not any((root / marker).exists() for marker in _ROOT_MARKERS):
        (root / "setup.cfg").write_text("")
    return root


def lint(ckptlint_root: Path, cwd: Path, targets: list[str]) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ckptlint_root), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        command = [sys.executable, "-m", "ckptlint", "check", *targets, "--select", "ALL", "--no-cache",
                   "--format", "json", "--exit-zero", "-o", report.name]
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ckptlint exited {done.returncode}: {done.stderr.strip()[-1000:]}")
        return json.loads(Path(report.name).read_text())


def line_of(text: str, cell: int | None, row: int) -> str:
    if cell is not None:
        source = json.loads(text)["cells"][cell - 1]["source"]
        text = "".join(source) if isinstance(source, list) else source
    rows = text.splitlines()
    return " ".join(rows[row - 1].split()) if 0 < row <= len(rows) else ""


def run_case(case: Case, directory: Path, corpus: Path, ckptlint_root: Path) -> tuple[bool, str]:
    original_path = corpus / case.package / case.path
    original = original_path.read_bytes()
    digest = hashlib.sha256(original).hexdigest()
    if digest != case.sha256:
        return False, f"original changed: sha256 {digest[:12]} != {case.sha256[:12]}"
    patched = apply_patch(original.decode("utf-8"), (directory / "case.patch").read_text())
    targets = [f"{case.package}/{p}" for p in [case.path, *case.also_lint]]
    with tempfile.TemporaryDirectory(prefix="ckptlint-recall-") as scratch:
        work = Path(scratch)
        copy_package(corpus, case.package, work)
        baseline = lint(ckptlint_root, work, targets)
        target = work / case.package / case.path
        target.unlink()  # a hard link into the cache: replace it, never write through it
        target.write_text(patched, encoding="utf-8")
        findings = lint(ckptlint_root, work, targets)
    wanted = f"{case.package}/{case.path}"
    before = {(f["code"], line_of(original.decode("utf-8"), f.get("cell"), f["location"]["row"]))
              for f in baseline if f["filename"] == wanted}
    mine = [f for f in findings if f["filename"] == wanted]
    for finding in mine:
        if (finding["code"] == case.rule and finding["location"]["row"] == case.line
                and finding.get("cell") == case.cell):
            text = line_of(patched, case.cell, case.line)
            if (case.rule, text) in before:
                return False, f"{case.rule} at line {case.line} was already reported on the original"
            return True, finding["message"]
    seen = "; ".join(f"{f['code']}@{'cell_' + str(f['cell']) + ':' if f.get('cell') else ''}{f['location']['row']}"
                     for f in mine) or "no findings in the file"
    return False, seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckptlint-root", type=Path, default=DEFAULT_ROOT,
                        help="the ckptlint source tree to run (default: this work tree)")
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--cache", type=Path, default=fetch.DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    root = args.ckptlint_root.resolve()
    if not (root / "ckptlint" / "__main__.py").is_file():
        raise SystemExit(f"recall: {root} is not a ckptlint source tree (no ckptlint/__main__.py)")
    corpus = fetch.ensure_corpus(fetch.load_spec(fetch.DEFAULT_SPEC), args.cache)
    directories = sorted(d for d in CASES.iterdir() if (d / "manifest.json").is_file())
    if args.case:
        directories = [d for d in directories if d.name in set(args.case)]
        if len(directories) != len(set(args.case)):
            raise SystemExit("recall: unknown case in --case")
    results = []
    for directory in directories:
        case = Case.load(directory)
        try:
            found, detail = run_case(case, directory, corpus, root)
        except (ValueError, RuntimeError, OSError) as error:
            found, detail = False, f"error: {error}"
        results.append({"id": case.id, "rule": case.rule, "found": found, "detail": detail})
        print(f"{'found ' if found else 'MISSED'}  {case.rule}  {case.id}: {detail}", flush=True)
    total = sum(r["found"] for r in results)
    print(f"\n{total} of {len(results)} seeded bugs found")
    if args.json:
        args.json.write_text(json.dumps({"found": total, "cases": len(results), "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
