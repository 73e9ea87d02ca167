"""action.yml, the composite GitHub Action: its declaration, and its shell steps run as the runner runs
them (`bash --noprofile --norc -eo pipefail`), with the inputs passed the way GitHub passes them.

The install step runs for real, in a fresh virtualenv, from a tagged release of this tree (the action's
own checkout, tests/release_repo.py); the lint steps then run that installed ckptlint on sample projects,
so the command lines in action.yml are checked against the CLI itself. The steps that use other actions
(setup-python, upload-sarif) cannot run here: their inputs are checked instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from release_repo import ROOT, tagged_release
from samples import SAMPLES

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _step(name_part: str) -> dict:
    (step,) = [s for s in STEPS if name_part in s.get("name", "")]
    return step


def test_declaration():
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"paths", "args", "python-version", "sarif-file"}
    assert {name: spec.get("default") for name, spec in ACTION["inputs"].items()} == {
        "paths": ".", "args": "", "python-version": "3.11", "sarif-file": "ckptlint.sarif"}
    assert all(spec.get("description") for spec in ACTION["inputs"].values())
    for step in STEPS:  # a composite action's run steps must name their shell
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash", step
            # Inputs reach scripts through the environment only: an expression in a script is injection.
            assert "${{" not in step["run"], step["name"]


def test_the_steps_that_use_other_actions():
    setup = _step("Set up Python")
    assert setup["uses"] == "actions/setup-python@v5"
    assert setup["if"] == "inputs.python-version != ''"
    assert setup["with"] == {"python-version": "${{ inputs.python-version }}"}
    upload = _step("Upload")
    assert upload["uses"] == "github/codeql-action/upload-sarif@v3"
    assert upload["with"] == {"sarif_file": "${{ inputs.sarif-file }}", "category": "ckptlint"}
    assert "if" not in upload  # the SARIF step never fails on findings, so the upload always runs
    assert STEPS.index(_step("(SARIF report)")) < STEPS.index(upload) < STEPS.index(_step("Fail on findings"))


def test_install_step_installs_the_action_checkout():
    assert _step("Install")["run"].strip() == (
        'python -m pip install --disable-pip-version-check --quiet "$GITHUB_ACTION_PATH"')


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtualenv where the action's install step installed ckptlint from a tagged release."""
    base = tmp_path_factory.mktemp("action")
    release, _tag = tagged_release(base / "ckptlint-action")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = _runner_env(venv, release, base / "install-output")
    proc = _bash(_step("Install")["run"], env, cwd=base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv, release


def _runner_env(venv: Path, action_path: Path, output: Path) -> dict[str, str]:
    output.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "PIP_"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", GITHUB_ACTIONS="true",
               GITHUB_ACTION_PATH=str(action_path), GITHUB_OUTPUT=str(output), NO_COLOR="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """A `shell: bash` step as the runner starts it."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def _evaluate(value: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    """GitHub's `${{ }}` for the two kinds of expression action.yml uses; anything else fails the test."""

    def one(match: re.Match) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        assert found, f"action.yml uses an expression this test does not evaluate: {expression}"
        return outputs.get(found.group(1), {}).get(found.group(2), "")

    return EXPRESSION.sub(one, value)


def _run_action(venv: Path, release: Path, workspace: Path, **given: str) -> dict:
    """The action's shell steps after the install, in order, on `workspace`: what each printed and
    returned, and the step outputs."""
    inputs = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | given
    outputs: dict[str, dict[str, str]] = {}
    ran = {}
    for step in STEPS:
        if "run" not in step or step["name"].startswith("Install"):
            continue
        output_file = workspace.parent / f"{workspace.name}-output-{len(ran)}"
        env = _runner_env(venv, release, output_file)
        env.update({key: _evaluate(str(value), inputs, outputs) for key, value in step.get("env", {}).items()})
        proc = _bash(step["run"], env, cwd=workspace)
        ran[step["name"]] = proc
        if "id" in step:
            outputs[step["id"]] = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if line)
        if proc.returncode != 0:
            break
    return {"ran": ran, "outputs": outputs, "inputs": inputs}


def _workspace(base: Path, sample: str, twin: str) -> Path:
    """A checked-out repository holding one sample twin, as actions/checkout leaves it."""
    workspace = base / f"{sample}-{twin}"
    shutil.copytree(SAMPLES / sample / twin, workspace)
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True, timeout=60)
    return workspace


def test_a_buggy_project_gets_a_sarif_report_a_text_report_and_a_failed_job(installed, tmp_path):
    venv, release = installed
    workspace = _workspace(tmp_path, "checkpoint_missing_optimizer", "buggy")
    run = _run_action(venv, release, workspace)
    ran = run["ran"]
    sarif_step, text_step, fail_step = (ran[_step(part)["name"]] for part in ("(SARIF report)", "(text report)", "Fail"))
    assert sarif_step.returncode == 0 and sarif_step.stdout == "", sarif_step.stderr
    sarif = json.loads((workspace / "ckptlint.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for r in sarif["runs"][0]["results"]] == [("CKPT101", "train.py")]
    # The text report, not the github format the CLI picks by default under GitHub Actions.
    assert re.search(r"^train\.py:\d+:\d+: CKPT101 (\[\*\] )?\[error\]", text_step.stdout, re.M), text_step.stdout
    assert "::error" not in text_step.stdout
    assert run["outputs"]["report"] == {"exit-code": "1"}
    assert fail_step.returncode == 1


def test_a_clean_project_passes(installed, tmp_path):
    venv, release = installed
    workspace = _workspace(tmp_path, "checkpoint_missing_optimizer", "fixed")
    run = _run_action(venv, release, workspace, **{"sarif-file": "reports/ckptlint.sarif"})
    assert all(proc.returncode == 0 for proc in run["ran"].values()), {k: p.stderr for k, p in run["ran"].items()}
    assert json.loads((workspace / "reports" / "ckptlint.sarif").read_text())["runs"][0]["results"] == []
    assert "All checks passed" in run["ran"][_step("(text report)")["name"]].stdout
    assert run["outputs"]["report"] == {"exit-code": "0"}


def test_paths_and_args_reach_the_command_line(installed, tmp_path):
    venv, release = installed
    workspace = _workspace(tmp_path, "checkpoint_missing_optimizer", "buggy")
    (workspace / "elsewhere").mkdir()
    (workspace / "elsewhere" / "clean.py").write_text("print('hello')\n")
    run = _run_action(venv, release, workspace, paths="elsewhere  train.py", args="--ignore CKPT101 --statistics")
    text = run["ran"][_step("(text report)")["name"]].stdout
    assert "All checks passed (2 files)" in text, text
    assert run["outputs"]["report"] == {"exit-code": "0"}
    # A glob in `paths` is not expanded by the shell: ckptlint gets it as written and says it is missing.
    run = _run_action(venv, release, workspace, paths="*.py")
    sarif_step = run["ran"][_step("(SARIF report)")["name"]]
    assert sarif_step.returncode == 2 and "ckptlint: error: *.py: no such file or directory" in sarif_step.stderr
    assert len(run["ran"]) == 1  # a failed step stops the job


def test_bad_options_fail_the_sarif_step(installed, tmp_path):
    venv, release = installed
    workspace = _workspace(tmp_path, "checkpoint_missing_optimizer", "fixed")
    run = _run_action(venv, release, workspace, args="--select NOPE")
    sarif_step = run["ran"][_step("(SARIF report)")["name"]]
    assert sarif_step.returncode == 2 and sarif_step.stderr.startswith("ckptlint: error:"), sarif_step.stderr
