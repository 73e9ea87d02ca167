"""Record the label of one finding (or of every finding whose id starts with a prefix) in triage.json.

    python benchmarks/precision/label.py ID false restore-for-eval "restore only before evaluation"
    python benchmarks/precision/label.py 'deepchem:deepchem/rl/' true ... --prefix

label: true | false | unclear; pattern: a short kebab-case name of the pattern (report.py --patterns
counts them); reason: one line saying why, in the terms of the code. The finding's rule and line are
copied from findings.json so that triage.json can be read on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from report import HERE, LABELS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("id")
    parser.add_argument("label", choices=LABELS)
    parser.add_argument("pattern")
    parser.add_argument("reason")
    parser.add_argument("--prefix", action="store_true", help="label every finding whose id starts with ID")
    parser.add_argument("--findings", type=Path, default=HERE / "findings.json")
    parser.add_argument("--triage", type=Path, default=HERE / "triage.json")
    args = parser.parse_args(argv)
    findings = {f["id"]: f for f in json.loads(args.findings.read_text())["findings"]}
    keys = [k for k in findings if k.startswith(args.id)] if args.prefix else [args.id]
    if not keys or any(k not in findings for k in keys):
        raise SystemExit(f"label: no finding {'starts with' if args.prefix else 'has the id'} {args.id!r}")
    triage = json.loads(args.triage.read_text()) if args.triage.is_file() else {
        "comment": "Labels of ckptlint findings on the precision corpus, keyed by run.py's stable ids "
                   "(package:path:rule:hash of the reported line). label: true (the code loses or risks state, or "
                   "crashes, as the rule page says), false (it does not), unclear (cannot tell from the code).",
        "labels": {}}
    for key in keys:
        finding = findings[key]
        triage["labels"][key] = {"label": args.label, "pattern": args.pattern, "reason": args.reason,
                                 "code": finding["code"], "line": finding["line"][:160]}
    triage["labels"] = dict(sorted(triage["labels"].items()))
    args.triage.write_text(json.dumps(triage, indent=1, ensure_ascii=False) + "\n")
    print(f"labelled {len(keys)}: {', '.join(keys)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
