"""Discovery: which files a directory walk yields, in which order, and how the exclude patterns match.
The walk resolves each directory once and compiles the patterns once (issue #6); these tests pin the
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
