"""Which files to lint: the paths given, directories walked in name order, `.gitignore` (through git,
run so that the tree's own git configuration cannot run anything) and the configured excludes applied.
A walk lists regular files only, follows a symbolic link to a file only when the file is inside the
walked tree, and never enters a linked directory."""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ckptlint.errors import CkptlintError
from ckptlint.lint.config import ConfigResolver

LINTABLE_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True)
class Discovered:
    files: list[Path]
    excluded_explicit: int  # files named on the command line that the config excludes


# A linted tree is data, and so is its .git/config: a tarball or a checkout can ship one that sets
# `core.fsmonitor` (a command git runs on `ls-files`), hooks, a pager or aliases. git is run so that none
# of those can run anything: the settings that name commands are overridden on the command line (which
# wins over every config file), the system config is not read, and the environment holds only what git
# needs to find itself and the user's own settings. git's own ownership check (safe.directory) stays
# on: it refuses a repository that belongs to another user, and the walk then goes without .gitignore.
_GIT_HARDENING = (
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.pager=cat",
    "-c", "core.untrackedCache=false",
    "-c", "core.sshCommand=false",
    "-c", "protocol.allow=never",
    "-c", "credential.helper=",
    "--no-pager",
    "--no-replace-objects",
)
_GIT_ENVIRONMENT_KEPT = ("PATH", "HOME", "XDG_CONFIG_HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")


def git_environment() -> dict[str, str]:
    """A minimal environment for git: no GIT_DIR / GIT_WORK_TREE / GIT_CONFIG_* / GIT_EXEC_PATH from the
    caller's environment (they would point git elsewhere or add configuration), no system config."""
    env = {name: os.environ[name] for name in _GIT_ENVIRONMENT_KEPT if name in os.environ}
    env.update({
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",  # a read must not write the index
        "GIT_NO_REPLACE_OBJECTS": "1",
        "LC_ALL": "C",
    })
    return env


def _git_visible(directory: Path) -> set[str] | None:
    """Files under `directory` that git does not ignore (tracked or untracked), or None outside git.
    git applies .gitignore exactly (nested files, negations), which a hand-written matcher would not.
    Paths are the real directory joined with git's names (the last component, a symlink perhaps, is
    not followed), as `_walk` spells them."""
    try:
        out = subprocess.run(
            ["git", *_GIT_HARDENING, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "."],
            cwd=directory, capture_output=True, timeout=60, check=False, env=git_environment(),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if out.returncode != 0:
        return None
    real = os.path.realpath(directory)
    return {os.path.join(real, name) for name in out.stdout.decode("utf-8", "surrogateescape").split("\0") if name}


def discover(paths: list[str], resolver: ConfigResolver) -> Discovered:
    files: list[Path] = []
    seen: set[str] = set()
    excluded_explicit = 0
    for raw in paths:
        path = Path(raw)
        try:
            exists = path.exists()
            is_dir = path.is_dir()
        except OSError as exc:  # e.g. ELOOP for a symlink loop
            raise CkptlintError(f"{raw}: {exc.strerror or exc}") from None
        if not exists:
            if path.is_symlink():
                raise CkptlintError(f"{raw}: broken symbolic link")
            raise CkptlintError(f"{raw}: no such file or directory")
        if is_dir:
            for found, real in _walk(path, resolver):
                if real not in seen:
                    seen.add(real)
                    files.append(found)
        else:
            if resolver.for_file(path).is_excluded(path):
                excluded_explicit += 1
                continue
            real = str(path.resolve())
            if real not in seen:
                seen.add(real)
                files.append(path)
    return Discovered(files, excluded_explicit)


def walk_tree(root: Path, resolver: ConfigResolver) -> list[tuple[Path, str]]:
    """(path as found, resolved path) of each lintable file under the directory `root`, with
    `.gitignore` and the configured excludes applied, as a directory named on the command line is."""
    return _walk(root, resolver)


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _walk(root: Path, resolver: ConfigResolver) -> list[tuple[Path, str]]:
    """(path as found, resolved path) of each lintable file under `root`, in sorted order. Each
    directory is resolved and matched against the excludes once; its entries come from one scandir,
    which also says which are symlinks, so a plain file costs no system call of its own."""
    visible = _git_visible(root)
    tree = os.path.realpath(root)
    tree_prefix = tree.rstrip(os.sep) + os.sep
    found: list[tuple[Path, str]] = []
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue  # vanished or unreadable while walking: nothing to lint there
        real_directory = os.path.realpath(directory)
        excluded = resolver.for_directory(Path(real_directory), resolved=True).exclusion_in(real_directory)
        subdirectories: list[str] = []
        for entry in entries:
            name = entry.name
            try:
                is_symlink = entry.is_symlink()
                # A symlinked directory is not entered, so symlink loops cannot recurse.
                if not is_symlink and entry.is_dir():
                    if not excluded(name):
                        subdirectories.append(entry.path)
                    continue
            except OSError:
                continue
            if not name.endswith(LINTABLE_SUFFIXES) or excluded(name):
                continue
            real = os.path.join(real_directory, name)  # the last component, a symlink perhaps, not followed
            if visible is not None and real not in visible:
                continue
            if is_symlink:
                real = os.path.realpath(entry.path)
                # A link out of the walked tree is not followed: its target is not this project's, and
                # `--fix` would otherwise rewrite a file elsewhere. Broken links and links to
                # directories or special files are not files to lint.
                if not (real == tree or real.startswith(tree_prefix)) or not _is_regular(real):
                    continue
            elif not entry.is_file(follow_symlinks=False):
                continue  # a FIFO, socket or device named *.py: reading it could block or never end
            found.append((Path(entry.path), real))
        pending.extend(reversed(subdirectories))  # depth first, in name order, like os.walk
    return found
