"""Golden multi-module fixtures (tests/fixtures/projects/<name>/, in the style of TorchFix's): each is a
small project whose modules only make sense together, with the findings `ckptlint check` must give on
it in expected.json, as [file, line, code] triples. They prove the project-wide model: a factory in
another module, a constant a config module defines, an optimizer built elsewhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ckptlint.lint.config import ConfigResolver
from ckptlint.lint.engine import Options, run

PROJECTS = Path(__file__).resolve().parent / "fixtures" / "projects"
NAMES = sorted(p.name for p in PROJECTS.iterdir() if (p / "expected.json").is_file())


@pytest.mark.parametrize("name", NAMES)
def test_project_findings(name, tmp_path):
    project = tmp_path / name
    shutil.copytree(PROJECTS / name, project, ignore=shutil.ignore_patterns("expected.json", "__pycache__"))
    (project / "setup.py").write_text("")  # the project's root
    result = run([str(project)], ConfigResolver(default_root=project), Options(jobs=1, use_cache=False))
    found = sorted([Path(f.location.path).name, f.location.line, f.code] for f in result.findings)
    expected = sorted(json.loads((PROJECTS / name / "expected.json").read_text())["findings"])
    assert found == expected, [(f.code, f.location.display(), f.message) for f in result.findings]
    assert not result.internal_errors
