"""The rule contract, in the style of Fixit: a class with metadata, a page, VALID/INVALID examples and a
check over the semantic model; and the one record of a rule's metadata every other part reads.

A rule's docstring is its page (`ckptlint rule CODE`), written like a ruff rule page: what it finds, why
state is lost (with the measured framework behaviour), the fix, its safety, references. The page's
`## Example` is not written by hand: it is rendered from the rule's first INVALID example (or the one
marked `example=True`), so the example on the page is one the test suite proves fires. VALID and INVALID
examples are run by the test suite, so the page's claims about what is and is not flagged are tested.

This module sits below the engine: rules and reporters import it, it imports neither.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Iterable, Sequence

from ckptlint.lint.findings import Severity

if TYPE_CHECKING:  # pragma: no cover  (libcst is imported by the rules that run, not by the contract)
    import libcst as cst

    from ckptlint.lint.project import ProjectFacts
    from ckptlint.model import ModuleModel


class FixSafety(str, Enum):
    """ruff's model: a safe fix keeps the behaviour the code clearly intends; an unsafe one may change
    behaviour someone relies on and runs only with `--unsafe-fixes`."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class RuleRecord:
    """Everything known about a code without running it: the catalogue stores these, the engine selects
    and prefilters with them, and every reporter prints from them. Engine codes (CKPT000/CKPT001) have
    records too (`engine=True`)."""

    code: str
    name: str
    severity: Severity
    summary: str
    default_enabled: bool = True
    fix_safety: FixSafety | None = None
    # Repository path of the rule's page (docs/rules/<CODE>.md), rendered from the rule by
    # `python -m ckptlint.lint.catalogue`.
    page_path: str | None = None
    # The measured precision on real code (benchmarks/precision), as the rule page states it.
    precision: str | None = None
    api_words: tuple = ()
    keras: int | None = None  # the Keras generation the rule is about (None: both)
    custom_prefilter: bool = False
    project: bool = False
    engine: bool = False


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag. `lines` lists the 1-based lines findings must land on (one entry
    per expected finding; empty: at least one finding, anywhere). `message`: text every finding's message
    must contain. `fixed`: the code after `--fix` (with `--unsafe-fixes` for an unsafe rule); None when
    the example is not about the fix. `example`: the one shown on the rule page (default: the first).
    `keras`: the Keras generation the example's project declares (as `keras-version` or its pins would)."""

    code: str
    lines: tuple[int, ...] = ()
    message: str | None = None
    fixed: str | None = None
    example: bool = False
    keras: int | None = None


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
    message. `related` points at other nodes of the same module that explain it. `severity` overrides
    the rule's default for this finding (a latent risk reported as a warning by an error rule)."""

    node: cst.CSTNode
    message: str
    related: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    fix: Fix | None = None
    severity: Severity | None = None

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
    # Whether `--fix` has a fix for this rule and how much to trust it (None: no fix).
    fix_safety: ClassVar[FixSafety | None] = None
    # Words a file's code must contain for this rule to possibly fire: the union over the selected rules
    # is the engine's prefilter. An entry is a word, or a tuple of words that must all appear
    # (`(".save(", ".fit(")`: a save *and* training); put the rarest word first, it is searched first.
    # A word `.name(` is a call of method `name`, however spaced; any other word is a substring. Tests
    # run every INVALID example and sample project through it.
    api_words: ClassVar[tuple[str | tuple[str, ...], ...]] = ()
    # The measured precision on real code, as the page states it (set from benchmarks/precision).
    precision: ClassVar[str | None] = None
    # The Keras generation the rule's claim is about (2 or 3), or None when it holds for both. The engine
    # runs the rule only on code for that generation (ckptlint.lint.target; unknown counts as 3).
    keras: ClassVar[int | None] = None
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
    def record(cls) -> RuleRecord:
        return RuleRecord(
            code=cls.code,
            name=cls.name,
            severity=Severity(cls.severity),
            summary=cls.summary,
            default_enabled=bool(cls.default_enabled),
            fix_safety=FixSafety(cls.fix_safety) if cls.fix_safety else None,
            page_path=f"docs/rules/{cls.code}.md",
            precision=cls.precision,
            api_words=tuple(cls.api_words),
            keras=cls.keras,
            # a classmethod read from its class is a bound method, which has __func__; mypy types it as a
            # plain callable
            custom_prefilter=cls.prefilter.__func__ is not Rule.prefilter.__func__,  # type: ignore[attr-defined]
            project=issubclass(cls, ProjectRule),
        )

    @classmethod
    def page_example(cls) -> Invalid | None:
        marked = [example for example in cls.INVALID if example.example]
        return marked[0] if marked else (cls.INVALID[0] if cls.INVALID else None)

    @classmethod
    def page(cls) -> str:
        """The rule's page in Markdown: a header with its metadata, then the docstring with the page
        example inserted before `## Use instead` (or at the end)."""
        doc = inspect.cleandoc(cls.__doc__ or "")
        safety = cls.fix_safety.value if isinstance(cls.fix_safety, FixSafety) else (cls.fix_safety or "none")
        meta = [
            f"# {cls.code} {cls.name}",
            "",
            f"Severity: {Severity(cls.severity).value}" + ("" if cls.default_enabled else " (off by default; select it)"),
            f"Autofix: {safety}",
            f"Precision: {cls.precision or 'not measured yet'}",
            f"Applies to: {'Keras ' + str(cls.keras) + ' code' if cls.keras else 'Keras 2 and Keras 3 code'}",
            "",
            "",
        ]
        example = cls.page_example()
        if example is not None:
            block = "## Example\n```python\n" + textwrap.dedent(example.code).strip("\n") + "\n```\n"
            heading = re.search(r"^## Use instead\b", doc, re.M)
            doc = doc[: heading.start()] + block + "\n" + doc[heading.start():] if heading else doc + "\n\n" + block
        return "\n".join(meta) + doc.rstrip("\n") + "\n"


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

    def may_report_in(self, summary: object) -> bool:
        """Whether `check_project` may put a finding in the file `summary` is of. The file's suppression
        comments are read (a tokenization of the whole file) only when some rule may report there."""
        return True
