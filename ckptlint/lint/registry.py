"""Finding and selecting rules. Rules are discovered from the `ckptlint.rules` package (the top-level
rules/ directory): adding a rule is adding a module."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ckptlint.errors import CkptlintError
from ckptlint.lint.findings import Severity
from ckptlint.lint.rule import Rule  # the contract only: it does not import libcst

# Codes the engine itself emits; they are not rule modules but can be selected and ignored like rules.
ENGINE_CODES = {
    "CKPT000": ("syntax-error", "The file could not be parsed; nothing else was checked in it."),
    "CKPT001": ("unreadable-file", "The file could not be read or decoded (encoding, binary content, notebook JSON)."),
}


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    import ckptlint.rules as package

    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"ckptlint.rules.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.__module__ == module.__name__ and getattr(value, "code", None):
                found.append(value)
    return tuple(sorted(found, key=lambda r: r.code))


def rule_by_code(code: str) -> type[Rule]:
    for rule in all_rules():
        if rule.code == code.upper() or rule.name == code.lower():
            return rule
    raise CkptlintError(f"unknown rule {code!r} (see `ckptlint rules`)")


def known_codes() -> set[str]:
    from ckptlint.lint.catalogue import entries  # no rule module imported to validate a selector

    return {entry.code for entry in entries()} | set(ENGINE_CODES)


def _matches(code: str, selector: str) -> bool:
    selector = selector.upper()
    return selector == "ALL" or code.startswith(selector)


def validate_selectors(selectors: list[str], origin: str) -> None:
    codes = known_codes()
    for selector in selectors:
        if selector.upper() != "ALL" and not any(_matches(code, selector) for code in codes):
            raise CkptlintError(f"{origin}: unknown rule code or prefix {selector!r}")


def is_selected(code: str, default_enabled: bool, select: list[str] | None, ignore: list[str]) -> bool:
    """ruff's semantics: `select` replaces the default set (prefixes allowed), `ignore` removes, and the
    more specific selector wins (`select CKPT2` + `ignore CKPT20` + `select CKPT201` keeps CKPT201).
    An off-by-default rule runs only when named by its full code or by `ALL`: a prefix such as `CKPT1`
    means "the default rules of that band"."""

    def specificity(selectors: list[str]) -> int:
        return max((0 if s.upper() == "ALL" else len(s) for s in selectors if _matches(code, s)), default=-1)

    chosen = specificity(ignore)
    if select is None:
        return default_enabled and chosen < 0
    picked = specificity(select)
    if picked < 0 or picked <= chosen:
        return False
    return default_enabled or picked in (0, len(code))


def severity_of(code: str) -> Severity:
    if code in ENGINE_CODES:
        return Severity.ERROR
    return rule_by_code(code).severity
