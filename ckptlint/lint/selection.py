"""Which codes run: ruff's selection semantics over the catalogue's records (no rule module imported)."""

from __future__ import annotations

from ckptlint.errors import CkptlintError
from ckptlint.lint.catalogue import records


def known_codes() -> set[str]:
    return set(records())


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
