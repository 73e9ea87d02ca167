"""`ckptlint check` must run after a plain `pip install ckptlint` on every Python that `requires-python`
admits: each third-party module the linter imports is a dependency there (tomli stands in for the
standard library's tomllib before Python 3.11)."""

from __future__ import annotations

import ast
import re
import sys

from packaging.requirements import Requirement
from samples import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The linter's code: the harness and the inspector import TensorFlow, h5py and numpy lazily (extras).
_LINTER_ONLY = ("harness", "inspect")


def _third_party_imports() -> set[str]:
    found: set[str] = set()
    paths = [*(REPO / "ckptlint").rglob("*.py"), *(REPO / "rules").glob("*.py")]
    for path in paths:
        if any(part in _LINTER_ONLY for part in path.relative_to(REPO).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {name.split(".")[0] for name in names}
    return {name for name in found - {"ckptlint", "__future__"} if name not in sys.stdlib_module_names}


def _oldest_python() -> str:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    match = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"])
    assert match, project["requires-python"]
    return match[1]


def test_the_linter_imports_only_declared_dependencies_on_the_oldest_python():
    oldest = _oldest_python()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    environment = {"python_version": oldest, "python_full_version": f"{oldest}.0"}
    installed = {r.name.lower() for r in requirements if r.marker is None or r.marker.evaluate(environment)}
    imported = _third_party_imports()
    assert "libcst" in imported and "tomli" in imported  # the walk above sees the version-guarded import too
    assert imported <= installed, f"imported by the linter, not installed on Python {oldest}: {sorted(imported - installed)}"
