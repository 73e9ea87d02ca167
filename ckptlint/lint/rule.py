"""The rule contract, in the style of Fixit: a class with metadata, a page, VALID/INVALID examples and a
check over the semantic model.

A rule's docstring is its page (`ckptlint rule CODE`), written like a ruff rule page: what it finds, why
state is lost (with the measured framework behaviour), an example, the fix. VALID and INVALID examples are
run by the test suite, so the page's claims about what is and is not flagged are tested.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterable, Sequence

from ckptlint.lint.findings import Severity

if TYPE_CHECKING:  # pragma: no cover  (libcst is imported by the rules that run, not by the contract)
    import libcst as cst

    from ckptlint.model import ModuleModel
    from ckptlint.lint.project import ProjectFacts


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag. `lines` lists the 1-based lines findings must land on
    (one entry per expected finding); empty means "at least one finding, anywhere"."""

    code: str
    lines: tuple[int, ...] = ()


@dataclass
class Fix:
    """An autofix, Fixit-style: replace `target` (a node of the module the rule read) by `replacement`
    (a node, a FlattenSentinel to insert statements around it, or a RemovalSentinel). `safe` follows
    ruff: safe fixes keep behaviour the user relies on; unsafe ones need --unsafe-fixes."""

    target: cst.CSTNode
    replacement: cst.CSTNode | cst.FlattenSentinel | cst.RemovalSentinel
    safe: bool = True
    description: str = ""


@dataclass
class Diagnostic:
    """What a rule reports: a node (positions are computed by the engine, only when needed) and a
    message. `related` points at other nodes of the same module that explain it."""

    node: cst.CSTNode
    message: str
    related: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    fix: Fix | None = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    # Off-by-default rules run only when selected explicitly (by code or prefix).
    default_enabled: ClassVar[bool] = True
    # "safe", "unsafe" or None: whether `--fix` has a fix for this rule and how much to trust it.
    fix_safety: ClassVar[str | None] = None
    # Words a file's code must contain for this rule to possibly fire: the union over the selected rules
    # is the engine's prefilter. An entry is a word, or a tuple of words that must all appear
    # (`(".save(", ".fit(")`: a save *and* training); put the rarest word first, it is searched first.
    # A word `.name(` is a call of method `name`, however spaced; any other word is a substring. Tests
    # run every INVALID example and sample project through it.
    api_words: ClassVar[tuple[str | tuple[str, ...], ...]] = ()
    VALID: ClassVar[Sequence[str]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def check(self, module: ModuleModel) -> Iterable[Diagnostic]:
        return ()

    @classmethod
    def prefilter(cls, code: str) -> bool:
        """A sharper test than `api_words`, for rules that need one (a count, say): called only when
        the words matched, on the raw text or on the code with comments and strings blanked
        (ckptlint.lint.prefilter). It must never say False for a module the rule fires on (the suite runs
        every INVALID example and sample project through it), and must stay False when characters
        are removed from a text it said False for."""
        return True

    @classmethod
    def page(cls) -> str:
        doc = inspect.cleandoc(cls.__doc__ or "")
        meta = [
            f"# {cls.code} {cls.name}",
            "",
            f"Severity: {cls.severity.value}" + ("" if cls.default_enabled else " (off by default; select it)"),
            f"Autofix: {cls.fix_safety or 'none'}",
            "",
            "",
        ]
        return "\n".join(meta) + doc + "\n"


class ProjectRule(Rule):
    """A rule that needs facts from several modules (a save in train.py, a restore in evaluate.py).

    The per-file pass stores a small summary (ckptlint.lint.project); the rule runs once per lint run over
    the joined summaries, so the process pool and the cache keep working."""

    # The class of the summaries `summarize` returns. It must have `to_data()` (plain JSON, for the result
    # cache) and a classmethod `from_data(data)` that rebuilds an equal summary and raises
    # ckptlint.lint.serial.DataError on anything else.
    summary_type: ClassVar[type]

    def summarize(self, module: ModuleModel, locator) -> object:
        """The small summary of one module this rule needs later (with Locations, not nodes), an instance
        of `summary_type`. Define that class in a module that does not import libcst
        (rules/_key_mismatch_summary.py): the cache stores summaries as JSON and rebuilds them only for
        the project pass, which imports the rule anyway."""
        raise NotImplementedError

    def check_project(self, project: ProjectFacts) -> Iterable:
        """Findings (ckptlint.lint.findings.Finding) over the summaries of every linted file."""
        raise NotImplementedError
