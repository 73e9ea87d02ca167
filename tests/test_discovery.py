"""Discovery: which files a directory walk yields, in which order, and how the exclude patterns match.
The walk resolves each directory once and compiles the patterns once; these tests pin the
matching semantics the per-file version had."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ckptlint.lint.config import Config, ConfigResolver
from ckptlint.lint.discovery import discover


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def _found(root: Path, *paths: str, config: Config | None = None) -> list[str]:
    resolver = ConfigResolver(explicit=config, default_root=root)
    files = discover([str(root / p) for p in paths] or [str(root)], resolver).files
    return [Path(f).resolve().relative_to(root.resolve()).as_posix() for f in files]


def test_walk_order_is_depth_first_by_name_with_files_before_subdirectories(tmp_path):
    _touch(tmp_path, "b.py", "a.py", "pkg/z.py", "pkg/sub/y.py", "pkg/a.py", "aa/x.py", "notes.txt", "nb.ipynb")
    assert _found(tmp_path) == ["a.py", "b.py", "nb.ipynb", "aa/x.py", "pkg/a.py", "pkg/z.py", "pkg/sub/y.py"]


@pytest.mark.parametrize(
    ("pattern", "excluded"),
    [
        ("generated", {"generated/a.py", "src/generated/b.py"}),  # a component, at any depth
        ("gen*", {"generated/a.py", "src/generated/b.py"}),
        ("old_*.py", {"scripts/old_train.py"}),  # a file name
        ("scripts/old_*.py", {"scripts/old_train.py"}),  # a path from the root
        ("src/generated", {"src/generated/b.py"}),  # a directory path excludes what is below it
        ("src/generated/", {"src/generated/b.py"}),
        ("src/*", {"src/generated/b.py", "src/keep.py"}),  # fnmatch's * crosses "/"
        ("generated/a.py", {"generated/a.py"}),
        ("nothing", set()),
    ],
)
def test_exclude_patterns(tmp_path, pattern, excluded):
    files = {"generated/a.py", "src/generated/b.py", "scripts/old_train.py", "scripts/train.py", "src/keep.py"}
    _touch(tmp_path, *files)
    config = Config(root=tmp_path.resolve(), extend_exclude=(pattern,))
    assert set(_found(tmp_path, config=config)) == files - excluded
    # A file named on the command line is matched the same way (Config.is_excluded).
    for name in files:
        assert config.is_excluded(tmp_path / name) == (name in excluded), name


def test_a_walk_that_starts_inside_an_excluded_directory_finds_nothing(tmp_path):
    _touch(tmp_path, "build/lib/a.py", "src/a.py")
    config = Config(root=tmp_path.resolve())  # "build" is a default exclude
    assert _found(tmp_path, "build/lib", config=config) == []
    assert _found(tmp_path, "src", config=config) == ["src/a.py"]


def test_outside_the_config_root_only_names_are_matched(tmp_path):
    _touch(tmp_path, "elsewhere/build/a.py", "elsewhere/keep/b.py", "elsewhere/keep/old_c.py")
    root = tmp_path / "project"
    root.mkdir()
    config = Config(root=root.resolve(), extend_exclude=("old_*.py", "keep/b.py"))
    # "build" still prunes the directory, "old_*" the name; "keep/b.py" is a path from a root the
    # files are not under, so it matches nothing.
    assert _found(tmp_path, "elsewhere", config=config) == ["elsewhere/keep/b.py"]


def test_nested_pyproject_excludes_apply_below_it(tmp_path):
    _touch(tmp_path, "a/gen.py", "sub/gen.py", "sub/deep/gen.py", "sub/keep.py")
    (tmp_path / "sub" / "pyproject.toml").write_text('[tool.ckptlint]\nextend-exclude = ["gen.py"]\n')
    assert _found(tmp_path) == ["a/gen.py", "sub/keep.py"]


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_symlinks_files_followed_once_directories_not_entered(tmp_path):
    _touch(tmp_path, "real/a.py")
    (tmp_path / "link.py").symlink_to(tmp_path / "real" / "a.py")  # the same file twice: linted once
    (tmp_path / "dirlink").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "broken.py").symlink_to(tmp_path / "missing.py")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert _found(tmp_path) == ["real/a.py"]


def _git(cwd: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-c", "core.fsmonitor=false", *args], cwd=cwd, check=True, capture_output=True,
                   env={"PATH": os.environ["PATH"], "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"})


@pytest.mark.skipif(os.name != "posix", reason="shell scripts")
def test_a_hostile_git_config_in_the_linted_tree_runs_nothing(tmp_path):
    """A tarball or checkout can ship .git/config: every setting that names a command points at a
    script that leaves a marker. Discovery still honours .gitignore, and nothing runs."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from cli_helpers import run_ckptlint

    marker = tmp_path / "PWNED"
    project = tmp_path / "project"
    project.mkdir()
    _git(project, "init", "-q", ".")
    _touch(project, "kept.py", "ignored.py")
    (project / ".gitignore").write_text("ignored.py\n")
    (project / ".gitattributes").write_text("*.py filter=evil diff=evil\n")
    _git(project, "add", "kept.py", ".gitignore", ".gitattributes")
    _git(project, "-c", "user.email=a@b", "-c", "user.name=n", "commit", "-qm", "init")
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\ncat\n")
    script.chmod(0o755)
    hooks = project / ".git" / "hooks"
    for hook in ("pre-commit", "post-checkout", "post-index-change", "fsmonitor-watchman", "reference-transaction"):
        (hooks / hook).write_text(script.read_text())
        (hooks / hook).chmod(0o755)
    included = tmp_path / "included.gitconfig"
    included.write_text(f"[core]\n\tfsmonitor = {script}\n")
    with open(project / ".git" / "config", "a") as config:
        config.write(
            f"[core]\n\tfsmonitor = {script}\n\tpager = {script}\n\tsshCommand = {script}\n\taskPass = {script}\n"
            f"\thooksPath = {hooks}\n\teditor = {script}\n\tuntrackedCache = true\n"
            f"[include]\n\tpath = {included}\n"
            f"[alias]\n\tls-files = !{script}\n"
            f"[pager]\n\tls-files = {script}\n"
            f"[filter \"evil\"]\n\tclean = {script}\n\tsmudge = {script}\n\tprocess = {script}\n"
            f"[diff \"evil\"]\n\ttextconv = {script}\n\tcommand = {script}\n"
            f"[credential]\n\thelper = !{script}\n"
        )
    # The attack works on a plain git, so the test is not vacuous.
    subprocess.run(["git", "ls-files"], cwd=project, capture_output=True, env={"PATH": os.environ["PATH"]})
    assert marker.exists(), "the hostile config does not even fire on a plain git"
    marker.unlink()

    result = run_ckptlint("check", "--no-cache", "--format", "json", ".", cwd=project,
                          env={"GIT_DIR": str(project / ".git"), "GIT_EXTERNAL_DIFF": str(script), "PAGER": str(script)})
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), marker.read_text()
    files = discover([str(project)], ConfigResolver(default_root=project)).files
    assert [f.name for f in files] == ["kept.py"]  # .gitignore still honoured through git
    assert not marker.exists(), marker.read_text()


@pytest.mark.skipif(os.name != "posix", reason="symlinks and FIFOs")
def test_a_walk_lists_regular_files_only_and_no_link_out_of_the_tree(tmp_path):
    outside = tmp_path / "outside"
    _touch(outside, "theirs.py")
    project = tmp_path / "project"
    _touch(project, "ours.py", "sub/inner.py")
    (project / "link_out.py").symlink_to(outside / "theirs.py")  # --fix would write there
    (project / "link_in.py").symlink_to(project / "sub" / "inner.py")
    (project / "dev.py").symlink_to("/dev/zero")
    os.mkfifo(project / "fifo.py")
    (project / "dir.py").mkdir()
    assert sorted(_found(project)) == ["ours.py", "sub/inner.py"]  # the link in, linted once
    # named on the command line, a link is the user's choice and is followed
    named = discover([str(project / "link_out.py")], ConfigResolver(default_root=project)).files
    assert [p.name for p in named] == ["link_out.py"]
