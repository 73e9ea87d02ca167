"""Rule metadata as the reporters need it: one flat record per code, for rule classes and engine codes alike.

Names and links come from the rule catalogue (no rule module imported); the full records, with each
rule's page, import the rules, which only the SARIF report needs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from ckptlint.lint.findings import Severity


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    severity: Severity
    summary: str
    description: str  # the first paragraph of the rule's page body (falls back to the summary)
    page: str  # the full rule page, as `ckptlint rule CODE` prints it
    default_enabled: bool = True
    fix_safety: str | None = None
    url: str | None = None
    precision: str | None = None  # SARIF/GitHub: very-high, high, medium, low (a rule may declare it)
    engine: bool = False


def _first_paragraph(doc: str) -> str:
    """The first paragraph of prose in a rule page: Markdown headings and code fences are skipped."""
    for paragraph in inspect.cleandoc(doc or "").split("\n\n"):
        lines = [line for line in paragraph.splitlines() if not line.lstrip().startswith("#")]
        if lines and lines[0].lstrip().startswith("```"):
            continue
        text = " ".join(" ".join(lines).split())
        if text:
            return text
    return ""


def _engine_page(code: str, name: str, description: str) -> str:
    return "\n".join(
        [
            f"# {code} {name}",
            "",
            f"Severity: {Severity.ERROR.value}",
            "Autofix: none",
            "",
            description,
            "",
            "This code is emitted by the ckptlint engine itself, not by a rule module. It can be selected",
            "and ignored like a rule.",
            "",
        ]
    )


@dataclass(frozen=True)
class RuleName:
    name: str
    url: str | None = None


def name_table() -> dict[str, RuleName]:
    """Each code's name and link, as the json, github and statistics reports print them: from the rule
    catalogue, so those reports never import the rules (nor libcst)."""
    from ckptlint.lint import registry
    from ckptlint.lint.catalogue import entries

    table = {code: RuleName(name) for code, (name, _description) in registry.ENGINE_CODES.items()}
    table.update((entry.code, RuleName(entry.name, entry.url)) for entry in entries())
    return table


def rule_table() -> dict[str, RuleInfo]:
    """Every known code, sorted: the engine codes and every rule from `registry.all_rules()`."""
    from ckptlint.lint import registry

    table: dict[str, RuleInfo] = {}
    for code, (name, description) in registry.ENGINE_CODES.items():
        table[code] = RuleInfo(
            code=code,
            name=name,
            severity=Severity.ERROR,
            summary=description,
            description=description,
            page=_engine_page(code, name, description),
            engine=True,
        )
    for rule in registry.all_rules():
        summary = (getattr(rule, "summary", "") or "").strip()
        table[rule.code] = RuleInfo(
            code=rule.code,
            name=rule.name,
            severity=Severity(rule.severity),
            summary=summary or rule.name,
            description=_first_paragraph(rule.__doc__ or "") or summary or rule.name,
            page=rule.page(),
            default_enabled=bool(getattr(rule, "default_enabled", True)),
            fix_safety=getattr(rule, "fix_safety", None),
            url=getattr(rule, "url", None) or None,
            precision=getattr(rule, "precision", None) or None,
        )
    return dict(sorted(table.items()))


def unknown_rule(code: str, severity: Severity) -> RuleInfo:
    """A record for a code the registry does not know (a plugin removed since the cache was written):
    reporters still produce valid output for it instead of failing."""
    text = f"{code} is not a known ckptlint rule."
    return RuleInfo(code=code, name=code.lower(), severity=severity, summary=text, description=text, page=f"# {code}\n\n{text}\n")
