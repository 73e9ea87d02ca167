"""Finding the rule classes. Rules are discovered from the `ckptlint.rules` package (the top-level rules/
directory): adding a rule is adding a module. Importing them imports libcst, so only the parts that run
rules (the per-file pass, `ckptlint rule CODE`, the catalogue's generator) come here; everything else
reads the catalogue."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ckptlint.errors import CkptlintError
from ckptlint.lint.rule import Rule


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
