"""The README stays true: its rule table is generated from rule metadata, and CI runs its test command."""

from __future__ import annotations

import re

from samples import REPO

from ckptlint.lint.rules_command import markdown_table

START, END = "<!-- rules:start -->\n", "<!-- rules:end -->"


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_rule_table_is_current():
    text = readme()
    table = text[text.index(START) + len(START):text.index(END)]
    assert table == markdown_table(), (
        "README rule table is stale: replace the block between the rules markers with the output of "
        "`ckptlint rules --format markdown`"
    )


def test_ci_runs_exactly_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", readme(), flags=re.S)
    assert len(commands) >= 2
    test_command = commands[1].split("&&")[-1].strip()
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert ci_lines[-1] == test_command
    install = re.search(r'-e "\.\[[a-z,-]+\]"', commands[1])  # the extras the README installs
    assert install and any("install" in line and install.group(0) in line for line in ci_lines)
