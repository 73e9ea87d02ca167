"""Both install modes work: the editable install the suite runs under, and a regular wheel, where rules/
must land as ckptlint.rules (never as a top-level `rules` package)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from samples import REPO


def test_editable_install_maps_rules_into_the_package():
    import ckptlint.rules

    assert Path(ckptlint.rules.__file__).resolve().parent == REPO / "rules"


def test_wheel_installs_rules_as_ckptlint_rules(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("ckptlint-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    rule_modules = sorted(p.name for p in (REPO / "rules").glob("*.py"))
    assert sorted(n.split("/")[-1] for n in names if n.startswith("ckptlint/rules/")) == rule_modules
    assert not any(n.startswith("rules/") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)
    assert "ckptlint/py.typed" in names  # PEP 561: the package's type hints reach its users
    on_disk = {str(p.parent.relative_to(REPO)) for p in (REPO / "ckptlint").rglob("__init__.py")}
    in_wheel = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py") and not n.startswith("ckptlint/rules/")}
    assert in_wheel == on_disk  # a subpackage left out of [tool.setuptools] packages would vanish from installs

    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    listing = subprocess.run(
        [sys.executable, "-c", "import ckptlint.rules, ckptlint.cli, sys; print(ckptlint.rules.__file__); "
         "sys.argv = ['ckptlint', 'rules']; raise SystemExit(ckptlint.cli.main())"],
        cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    first, *rows = listing.stdout.splitlines()
    assert first.startswith(str(target))
    public_modules = [name for name in rule_modules if not name.startswith("_")]  # not __init__, _catalogue
    assert len(rows) == len(public_modules) + 2  # every rule module, plus CKPT000/CKPT001
    fresh = subprocess.run(
        [sys.executable, "-c", "from ckptlint.lint import catalogue; print(catalogue._stored() is not None)"],
        cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert fresh.stdout.strip() == "True", "the installed catalogue must match the installed rules"
