"""What the report says about fixes (the `[*]` marks, "N fixable with the `--fix` option"), without
importing the fixes themselves: those import libcst, and a report of cached findings needs none of it."""

from __future__ import annotations

from dataclasses import replace

from ckptlint.lint.rule import FixSafety


def fix_safety_of(code: str) -> FixSafety | None:
    """The rule's fix safety, from the rule catalogue (None: no fix)."""
    from ckptlint.lint.catalogue import record_of

    record = record_of(code)
    return record.fix_safety if record is not None else None


def applicable(code: str, unsafe: bool) -> bool:
    safety = fix_safety_of(code)
    return safety is FixSafety.SAFE or (safety is FixSafety.UNSAFE and unsafe)


def mark_fixable(result, *, unsafe: bool):
    """Findings whose fix needs --unsafe-fixes are not marked fixable without it. Returns the result
    and how many fixes that hides."""
    hidden = 0
    findings = []
    for finding in result.findings:
        if finding.fixable and not applicable(finding.code, unsafe):
            hidden += 1
            finding = replace(finding, fixable=False)
        findings.append(finding)
    if not hidden:
        return result, 0
    return replace(result, findings=findings), hidden


def fixable_summary(result, hidden: int) -> list[str]:
    """ruff's hint under the report: how many findings `--fix` would fix, and how many more need
    `--unsafe-fixes`."""
    count = sum(1 for f in result.findings if f.fixable)
    if not count and not hidden:
        return []
    hint = f"{hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with the `--unsafe-fixes` option"
    if not count:
        return [f"No fixes available ({hint})."]
    line = f"[*] {count} fixable with the `--fix` option"
    return [line + (f" ({hint})." if hidden else ".")]
