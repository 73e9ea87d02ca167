"""Per-rule precision of a run (run.py's findings joined with the labels in triage.json).

    python benchmarks/precision/report.py                   # findings.json + triage.json
    python benchmarks/precision/report.py --findings /tmp/main-findings.json --patterns

Prints, per rule: findings, true, false, unclear, untriaged and precision = true / (true + false);
then the findings no label covers yet (what needs reading after a linter change), and with
--patterns the false-alarm patterns with their counts. Labels whose finding is gone are counted, not
deleted: a rule change may bring them back.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = ("true", "false", "unclear")


def load_labels(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    labels = json.loads(path.read_text())["labels"]
    for key, entry in labels.items():
        if entry.get("label") not in LABELS:
            raise SystemExit(f"report: {path}: {key}: label must be one of {', '.join(LABELS)}")
    return labels


def precision(true: int, false: int) -> str:
    return f"{true / (true + false):.2f}" if true + false else "-"


def table(findings: list[dict], labels: dict[str, dict]) -> list[str]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for finding in findings:
        entry = labels.get(finding["id"])
        counts[finding["code"]][entry["label"] if entry else "untriaged"] += 1
    rows = ["| rule | findings | true | false | unclear | untriaged | precision |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    total: Counter[str] = Counter()
    for code in sorted(counts):
        c = counts[code]
        total.update(c)
        rows.append(f"| {code} | {sum(c.values())} | {c['true']} | {c['false']} | {c['unclear']} | "
                    f"{c['untriaged']} | {precision(c['true'], c['false'])} |")
    rows.append(f"| **all** | {sum(total.values())} | {total['true']} | {total['false']} | {total['unclear']} | "
                f"{total['untriaged']} | **{precision(total['true'], total['false'])}** |")
    return rows


def patterns(findings: list[dict], labels: dict[str, dict], label: str) -> list[str]:
    found: Counter[tuple[str, str]] = Counter()
    for finding in findings:
        entry = labels.get(finding["id"])
        if entry and entry["label"] == label:
            found[(finding["code"], entry.get("pattern", "?"))] += 1
    return [f"  {count:3d}  {code}  {pattern}" for (code, pattern), count in
            sorted(found.items(), key=lambda item: (-item[1], item[0]))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=Path, default=HERE / "findings.json")
    parser.add_argument("--triage", type=Path, default=HERE / "triage.json")
    parser.add_argument("--patterns", action="store_true", help="also count the false-alarm and true patterns")
    args = parser.parse_args(argv)
    run = json.loads(args.findings.read_text())
    findings = run["findings"]
    labels = load_labels(args.triage)
    print(f"ckptlint {run['ckptlint_commit']} (linter sources of {run.get('ckptlint_source_commit', '?')}) on {run['corpus']}: {run['files']:,} files, {run['lines']:,} lines, "
          f"{len(findings)} findings, {run['seconds']} s\n")
    for error in run.get("errors", []):
        print(f"ckptlint failed on {error['package']} (exit {error['exit']}; its other files' findings are counted): "
              f"{error['stderr'].splitlines()[-1] if error['stderr'] else ''}")
    print("\n".join(table(findings, labels)))
    current = {f["id"] for f in findings}
    gone = sum(1 for key in labels if key not in current)
    if gone:
        print(f"\n{gone} label(s) match no finding of this run (fixed, or the line changed).")
    if args.patterns:
        for label in ("false", "true", "unclear"):
            print(f"\n{label} findings by pattern:")
            print("\n".join(patterns(findings, labels, label)) or "  none")
    untriaged = [f for f in findings if f["id"] not in labels]
    if untriaged:
        print(f"\n{len(untriaged)} untriaged finding(s):")
        for f in untriaged:
            cell = f"cell_{f['cell']}:" if f["cell"] else ""
            where = f"{f['package']}/{f['path']}:{cell}{f['row']}"
            print(f"  {f['id']}\n    {where}: {f['code']} {f['message']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
