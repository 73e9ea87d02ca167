"""A release a user can pin: one version everywhere, a CHANGELOG entry for it, and README snippets that
name its tag and no package index (ckptlint is not on one). The snippets themselves are run by
tests/test_precommit_hook.py (pre-commit) and tests/test_action.py (the GitHub Action)."""

from __future__ import annotations

import re

import ckptlint
from cli_helpers import run_ckptlint
from release_repo import ROOT, readme_block, version


def test_one_version_everywhere():
    assert re.fullmatch(r"\d+\.\d+\.\d+", version())
    assert ckptlint.__version__ == version()
    proc = run_ckptlint("--version")
    assert proc.returncode == 0 and proc.stdout == f"ckptlint {version()}\n"


def test_the_changelog_starts_with_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+)$", text, flags=re.M)
    assert headings[0] == version(), headings
    assert len(headings) == len(set(headings))
    for heading in headings:  # every version has something under it
        body = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
        assert re.search(r"^- \S", body, flags=re.M), heading


def test_readme_snippets_name_this_version():
    tag = f"v{version()}"
    assert f"    rev: {tag}\n" in readme_block("### pre-commit", "yaml")
    assert readme_block("### Installing a release", "bash").strip() == f'pip install "ckptlint @ git+<URL>@{tag}"'
    assert f"--branch {tag} <URL>" in readme_block("### CI: GitHub code scanning", "yaml")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # Every tag the README names is this one.
    assert set(re.findall(r"\bv\d+\.\d+\.\d+\b", readme)) == {tag}


def test_no_snippet_installs_from_a_package_index():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [part.strip() for line in re.findall(r"pip install [^`\n]*", readme) for part in line.split("&&")]
    installs = [command for command in commands if command.startswith("pip install") and "ckptlint" in command]
    assert installs
    for command in installs:  # ckptlint by name only in pip's VCS form
        assert re.match(r'pip install "ckptlint(\[[\w,]+\])? @ git\+<URL>@v', command), command
    assert "ckptlint[tf] @" in readme


def test_the_readme_pip_command_installs_the_tagged_release(tmp_path):
    """The README's pip line, with `<URL>` a tagged release of this tree: pip clones it at the tag and
    builds it (a dry run: nothing is installed)."""
    import json
    import subprocess
    import sys

    from release_repo import tagged_release

    release, _tag = tagged_release(tmp_path / "ckptlint")
    command = readme_block("### Installing a release", "bash").strip().replace("<URL>", release.as_uri())
    requirement = re.fullmatch(r'pip install "(.*)"', command).group(1)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--quiet", "--report", "-",
         "--disable-pip-version-check", requirement],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (item,) = json.loads(proc.stdout)["install"]
    assert item["metadata"]["name"] == "ckptlint" and item["metadata"]["version"] == version()
    assert item["download_info"]["vcs_info"]["requested_revision"] == f"v{version()}"
