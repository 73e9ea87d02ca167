"""Rules ask the model, never the parser: a rule module imports only the model's face and vocabulary,
the rule contract and the fix helpers, and never reads the builder behind the model."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
ALLOWED_IMPORTS = (
    "ckptlint.model", "ckptlint.model.vocabulary", "ckptlint.model.restores", "ckptlint.model.loading",
    "ckptlint.model.paths", "ckptlint.model.counters", "ckptlint.model.mentions", "ckptlint.model.target",
    "ckptlint.model.keras_usage",
    "ckptlint.lint.rule", "ckptlint.lint.findings", "ckptlint.lint.serial", "ckptlint.lint.fix.edits", "ckptlint.lint.prefilter",
    "ckptlint.rules._key_mismatch_summary",
)
RULE_FILES = sorted(p for p in RULES_DIR.glob("*.py") if not p.name.startswith("__") and p.name != "_catalogue.py")


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_a_rule_imports_only_the_models_face_and_the_contract(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ckptlint"):
            assert node.module in ALLOWED_IMPORTS, f"{path.name}:{node.lineno} imports {node.module}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert not alias.name.startswith("ckptlint") or alias.name in ALLOWED_IMPORTS, f"{path.name}:{node.lineno} imports {alias.name}"


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_a_rule_never_reads_the_builder(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("builder", "_builder"):
            pytest.fail(f"{path.name}:{node.lineno} reads `.{node.attr}`: add a query to ModuleModel instead")
