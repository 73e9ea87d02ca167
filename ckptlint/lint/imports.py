"""The project modules a linted module imports, summarized on demand.

When the model of `train.py` meets `model = build_model(cfg)` with `from models import build_model`,
it asks here: the import path is resolved to a file of the project (relative imports against the
module's package, absolute ones against its directory and the directories above it, up to the
project's root), that file is parsed and summarized (ckptlint.model.summary) once per process, and the
summary answers. Files are read as data, within the project root (a symlink out of it is not followed),
up to the size limit; a file that cannot be read or parsed answers nothing. Every file a result depends
on is recorded with the digest of its content, so that a cached result is reused only while they are
unchanged.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

_ROOT_MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg")
_MAX_DEPTH = 2  # a summary may use the summaries of its own imports, one level down
TREE_CHARS = 1_000_000  # source characters whose syntax trees a store keeps (a few large modules)


class SummaryStore:
    """Summaries by file, for one process (the pool's workers each keep their own).

    A summary is kept under its file, the depth it was made at and the project root its imports were
    resolved in: the same file summarized one level further down sees fewer of its own imports, and
    sharing the two made a module's findings depend on which files the process had linted before it.
    A summary made while an import cycle was cut (a module in progress answers nothing) is not kept
    either, for the same reason."""

    def __init__(self) -> None:
        self.summaries: dict[tuple[str, int, str], tuple[dict | None, str, dict[str, str]]] = {}
        self.in_progress: set[str] = set()
        # What the file system answered about candidate module files, asked once per run: resolving
        # the same import paths from every module of a package was a stat() per candidate per use.
        self.real_paths: dict[str, str | None] = {}  # candidate -> its real path, None: not a file
        # The syntax trees of the last modules summarized, by content digest: one file is often
        # summarized at two depths while one module is linted (directly, and through another import).
        self.trees: OrderedDict[str, tuple[object, int]] = OrderedDict()  # digest -> (tree, characters)
        self.tree_chars = 0

    def parse(self, digest: str, text: str):
        """libcst's tree of `text` (whose digest is `digest`), or None when the nesting guard refuses it;
        the trees of the last TREE_CHARS characters of source parsed are kept."""
        if digest in self.trees:
            self.trees.move_to_end(digest)
            return self.trees[digest][0]
        import libcst as cst

        from ckptlint.lint import guard

        tree = None if guard.check(text) is not None else cst.parse_module(text)
        self.trees[digest] = (tree, len(text))
        self.tree_chars += len(text)
        while self.tree_chars > TREE_CHARS and len(self.trees) > 1:
            _, (_, chars) = self.trees.popitem(last=False)
            self.tree_chars -= chars
        return tree

    def real_file(self, candidate: str) -> str | None:
        """The real path of `candidate` when it is a regular file (or a link to one), else None."""
        try:
            return self.real_paths[candidate]
        except KeyError:
            real = os.path.realpath(candidate) if os.path.isfile(candidate) else None
            self.real_paths[candidate] = real
            return real


_STORE = SummaryStore()
# directory -> its project root (None: none), for every directory a walk up has passed during this run:
# the files of one package share their walk, which cost 40 stat calls a file on a deep tree without markers.
_ROOTS: dict[str, str | None] = {}


def new_run() -> None:
    """Forget what earlier runs in this process learnt: files may have changed between two runs (a
    pool worker starts empty anyway; this is for the runs made in the parent process)."""
    global _STORE
    _STORE = SummaryStore()
    _ROOTS.clear()


def project_root(directory: str) -> str:
    """The nearest directory at or above `directory` that holds a `.git`, `pyproject.toml`, `setup.py`
    or `setup.cfg`; the directory itself when none does."""
    return marked_project_root(directory) or directory


def marked_project_root(directory: str) -> str | None:
    """The nearest directory at or above `directory` that holds a `.git`, `pyproject.toml`, `setup.py`
    or `setup.cfg`; None when none does (a file that belongs to no project)."""
    passed: list[str] = []
    current = directory
    found: str | None = None
    for _ in range(40):
        if current in _ROOTS:
            found = _ROOTS[current]
            break
        passed.append(current)
        if any(os.path.exists(os.path.join(current, marker)) for marker in _ROOT_MARKERS):
            found = current
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for walked in passed:
        _ROOTS[walked] = found
    return found


class ProjectImports:
    """The `Imports` of one module (see ckptlint.model.summary.Imports)."""

    def __init__(self, path: str, max_size: int, *, root: str | None = None, depth: int = _MAX_DEPTH,
                 store: SummaryStore | None = None) -> None:
        self.file = os.path.realpath(path)
        self.directory = os.path.dirname(self.file)
        self.root = root or project_root(self.directory)
        self.max_size = max_size
        self.depth = depth
        self.store = store or _STORE
        self.used: dict[str, str] = {}  # file -> sha256 of the content the results depend on
        # Answers by import path: the model asks about the same names many times. An answer never
        # changes during a run: a module being summarized (an import cycle) stays so while this
        # object's module is analysed.
        self._resolved: dict[str, tuple[dict, tuple[str, ...]] | None] = {}
        self.cut_cycle = False  # an answer was None because its module was in progress (an import cycle)

    def resolve(self, dotted: str) -> tuple[dict, tuple[str, ...]] | None:
        try:
            return self._resolved[dotted]
        except KeyError:
            answer = self._resolved[dotted] = self._resolve(dotted)
            return answer

    def _resolve(self, dotted: str) -> tuple[dict, tuple[str, ...]] | None:
        if self.depth <= 0:
            return None
        found = self._locate(dotted)
        if found is None:
            return None
        file, rest = found
        summary = self._summary(file)
        return (summary, rest) if summary is not None else None

    # ---- finding the file ------------------------------------------------------------------------
    def _locate(self, dotted: str) -> tuple[str, tuple[str, ...]] | None:
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            base = self.directory
            for _ in range(level - 1):
                base = os.path.dirname(base)
            parts = [p for p in dotted[level:].split(".") if p]
            return self._in(base, parts)
        parts = dotted.split(".")
        base = self.directory
        for _ in range(40):
            found = self._in(base, parts)
            if found is not None:
                return found
            if base == self.root or not base.startswith(self.root):
                return None
            parent = os.path.dirname(base)
            if parent == base:
                return None
            base = parent
        return None

    def _in(self, base: str, parts: list[str]) -> tuple[str, tuple[str, ...]] | None:
        """The longest prefix of `parts` that is a module under `base`, and the attribute path after it."""
        for k in range(len(parts), 0, -1):
            stem = os.path.join(base, *parts[:k])
            for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
                if self._inside(candidate):
                    rest = tuple(parts[k:])
                    if not rest:
                        return None  # the module itself, not a function or class of it
                    return candidate, rest
        return None

    def _inside(self, candidate: str) -> bool:
        """Whether `candidate` is a file of the project other than this module."""
        real = self.store.real_file(candidate)
        return real is not None and real != self.file and (real == self.root or real.startswith(self.root + os.sep))

    # ---- summarizing it --------------------------------------------------------------------------
    def _summary(self, file: str) -> dict | None:
        real = os.path.realpath(file)
        key = (real, self.depth, self.root)
        known = self.store.summaries.get(key)
        if known is not None:
            summary, digest, deps = known
            self.used[real] = digest
            self.used.update(deps)
            return summary
        if real in self.store.in_progress:
            self.cut_cycle = True
            return None  # an import cycle: what is being summarized answers nothing about itself
        self.store.in_progress.add(real)
        try:
            summary, digest, deps, cut = self._compute(real)
        finally:
            self.store.in_progress.discard(real)
        if cut:
            self.cut_cycle = True
        else:
            self.store.summaries[key] = (summary, digest, deps)
        self.used[real] = digest
        self.used.update(deps)
        return summary

    def _compute(self, real: str) -> tuple[dict | None, str, dict[str, str], bool]:
        """The summary of `real`, the digest of its content, the files it used, and whether an import
        cycle was cut while making it."""
        from ckptlint.lint.sources import FileTooLarge, UnreadableFile, read_regular_file

        try:  # a regular file only: a FIFO named like a module must not stall the run
            data = read_regular_file(real, self.max_size)
        except (FileTooLarge, UnreadableFile):
            return None, "", {}, False
        digest = hashlib.sha256(data).hexdigest()
        try:
            from ckptlint.lint.sources import UnreadableFile, read_source
            from ckptlint.model import ModuleModel
            from ckptlint.model.summary import summarize

            source = read_source(Path(real), self.max_size, data)
            tree = self.store.parse(digest, source.text) if source is not None else None
            if tree is None:  # unreadable, or nesting libcst's parser cannot take
                return None, digest, {}, False
            inner = ProjectImports(real, self.max_size, root=self.root, depth=self.depth - 1, store=self.store)
            model = ModuleModel.build(tree, inner)
            return summarize(model), digest, dict(inner.used), inner.cut_cycle
        except (UnreadableFile, RecursionError, MemoryError):
            return None, digest, {}, False
        except Exception:  # libcst's parser errors and anything a hostile file provokes: no summary
            return None, digest, {}, False
