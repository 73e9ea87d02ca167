"""Every sample project's twins are linted with the default rules, and the findings are exactly the
ones in its expected.json: the buggy twin is flagged for its bug, the fixed twin is clean."""

from __future__ import annotations

import json

import pytest

from cli_helpers import run_ckptlint
from samples import REPO, SAMPLES, projects, twins


def test_there_are_sample_projects_for_every_default_rule():
    from ckptlint.lint.registry import all_rules

    covered = {code for _name, expected in projects() for code, _line in expected["findings"]["buggy"]}
    covered |= {expected.get("rule") for _name, expected in projects()}
    missing = {rule.code for rule in all_rules()} - covered
    assert not missing, f"rules without a sample project: {sorted(missing)}"


@pytest.mark.parametrize(("project", "expected"), projects(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_project_has_a_runtime_proof(project, expected):
    if expected.get("harness"):
        assert set(expected["harness"]) == {"buggy", "fixed"}
        return
    runtime = expected.get("runtime_test")
    assert runtime and (REPO / runtime["test"]).is_file(), f"{project}: no harness expectation and no runtime test"


@pytest.mark.parametrize(("project", "twin", "expected"), twins(), ids=lambda v: v if isinstance(v, str) else "")
def test_twin_findings_are_exact(project, twin, expected):
    result = run_ckptlint("check", "--no-cache", "--format", "json", str(SAMPLES / project / twin), cwd=REPO)
    assert result.returncode in (0, 1), result.stderr
    found = sorted([f["code"], f["location"]["row"]] for f in json.loads(result.stdout))
    assert found == sorted(expected["findings"][twin])
    assert result.returncode == (1 if found else 0)
    selected = expected.get("findings_when_selected")
    if selected:  # off-by-default rules: what they find when a user turns them on
        result = run_ckptlint("check", "--no-cache", "--format", "json", "--extend-select", ",".join(selected["select"]),
                              str(SAMPLES / project / twin), cwd=REPO)
        found = sorted([f["code"], f["location"]["row"]] for f in json.loads(result.stdout))
        assert found == sorted(selected[twin] + expected["findings"][twin])
