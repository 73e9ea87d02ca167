"""A release of this tree as a user gets it: a git repository tagged `v<version>` (a plain module, shared
by the pre-commit and release tests).

The working tree (tracked and untracked, not ignored files) is committed into a new repository, so
uncommitted edits are what gets tested, and tagged the way a release is (an annotated `v<version>`
tag). The tests never need the tag to exist in the developer's repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def version() -> str:
    """The version pyproject.toml declares."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def git(*args: str, cwd: Path) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=ckptlint tests", "-c", "user.email=tests@ckptlint.invalid", "-c", "commit.gpgsign=false",
         "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed in {cwd}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def _working_tree_files() -> list[str]:
    if shutil.which("git") is None:
        pytest.fail("git is required to build a release repository")
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git checkout: the release repository is built from git's file list")
    listing = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def tagged_release(destination: Path) -> tuple[Path, str]:
    """A repository at `destination` holding the working tree, tagged `v<version>`; (path, tag)."""
    for name in _working_tree_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    git("init", "-q", cwd=destination)
    git("add", "-A", cwd=destination)
    git("commit", "-q", "-m", "snapshot of the working tree", cwd=destination)
    tag = f"v{version()}"
    git("tag", "-a", tag, "-m", f"ckptlint {version()}", cwd=destination)
    return destination, tag


def readme_block(heading: str, language: str) -> str:
    """The first ```language block after the README heading `heading`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no {language} block after {heading!r} in README.md"
    return match.group(1)
