"""The rest of the project, for files checked on their own.

A pre-commit hook passes only the staged files. A project rule compares files with each other (CKPT203:
the keys a restore in evaluate.py reads against the keys train.py writes), so with one side staged the
other side would be unseen and the mismatch never reported. For the files named on the command line,
the engine therefore also reads the other files of their project, for the project rules only: the
prefilter keeps the few that mention a checkpoint, and their results are cached (pre-commit runs with
the cache), so the next commit reads them from there. Only their summaries are used; nothing is
reported in them. (A module a restore imports its directory constant from is read through the
imports, ckptlint.lint.imports, whether or not it mentions a checkpoint.)

The project is the nearest directory above a named file with a `.git`, `pyproject.toml`, `setup.py` or
`setup.cfg` (ckptlint.lint.imports.marked_project_root), walked as a directory named on the command line
is: `.gitignore` and the configured excludes apply. A file outside any project has no context, and
neither does a directory named on the command line: it is linted as a whole, as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ckptlint.lint.config import ConfigResolver
from ckptlint.lint.discovery import walk_tree
from ckptlint.lint.imports import marked_project_root

# A project larger than this is not read for context (a home directory under git, say): the named files
# are then linted on their own, with a notice.
MAX_CONTEXT_FILES = 20_000


@dataclass
class ProjectContext:
    roots: list[str]  # the project directories read (absolute)
    files: list[Path] = field(default_factory=list)  # their lintable files, minus the linted ones
    notice: str | None = None


def context_roots(paths: list[str]) -> list[str]:
    """The project roots of the files named in `paths` (directories are not), outermost first, none
    inside another; empty when no named file belongs to a project."""
    found: set[str] = set()
    for path in paths:
        if not os.path.isdir(path):
            root = marked_project_root(os.path.dirname(os.path.abspath(path)))
            if root is not None:
                found.add(root)
    kept: list[str] = []
    for root in sorted(found, key=len):
        if not any(root == outer or root.startswith(outer.rstrip(os.sep) + os.sep) for outer in kept):
            kept.append(root)
    return kept


def project_context(roots: list[str], linted: list[Path], resolver: ConfigResolver) -> ProjectContext:
    """The lintable files under `roots` (context_roots) that are not among the `linted` ones."""
    linted_real = {os.path.realpath(path) for path in linted}
    context = ProjectContext(roots)
    seen: set[str] = set()
    for root in roots:
        for found, real in walk_tree(Path(root), resolver):
            if real in linted_real or real in seen:
                continue
            seen.add(real)
            context.files.append(found)
            if len(context.files) > MAX_CONTEXT_FILES:
                context.files = []
                context.notice = (f"{root}: more than {MAX_CONTEXT_FILES:,} files: project rules compare the "
                                  f"named files with each other only")
                return context
    return context
