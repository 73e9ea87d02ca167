"""The lint pipeline for one run: files -> (cache | prefilter -> parse -> model -> rules ->
suppressions) -> findings, in a process pool; then the project-wide rules over per-file summaries.

Work crosses process boundaries as small picklable tasks and results (paths in, findings and rule
summaries out), never as syntax trees. Results are cached as JSON data (FileOutcome.to_data), never
as pickles (ckptlint.lint.cache).
"""

from __future__ import annotations

import os
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable

from ckptlint.errors import CkptlintError, InternalError
from ckptlint.lint import serial
from ckptlint.lint.cache import Cache
from ckptlint.lint.catalogue import records, rule_records
from ckptlint.lint.config import Config, ConfigResolver
from ckptlint.lint.discovery import discover
from ckptlint.lint.target import Target
from ckptlint.lint.target import for_file as target_for_file
from ckptlint.lint.sources import FileTooLarge, Source, UnreadableFile, decode, read_regular_file
from ckptlint.lint.findings import Finding, LintResult, Location, Related, Severity
from ckptlint.lint.budget import wall_backstop
from ckptlint.lint.pool import Pool, default_jobs
from ckptlint.lint.prefilter import might_matter
from ckptlint.lint.registry import all_rules, rule_by_code
from ckptlint.lint.selection import is_selected
from ckptlint.lint.rule import ProjectRule, Rule


@dataclass(frozen=True)
class FileTask:
    path: str  # as displayed (relative to where the user ran ckptlint when possible)
    codes: tuple[str, ...]  # the rules selected for this file
    max_size: int
    cache_context: str | None  # the cache key's part shared by this file's configuration (None: no cache)
    keras: int | None = None  # the Keras generation the project targets (ckptlint.lint.target)


@dataclass(frozen=True)
class StoredSummary:
    """A project rule's summary as the cache holds it (JSON data): rebuilt with the rule's
    `summary_type.from_data` only if the project pass has to run, which imports the rule anyway."""

    data: object


_EMPTY: dict[str, object] = {"findings": [], "summaries": {}, "notice": None}


@dataclass
class FileOutcome:
    findings: list[Finding] = field(default_factory=list)
    # project rule code -> (its summary, or a StoredSummary; the file's suppressions or None)
    summaries: dict[str, tuple] = field(default_factory=dict)
    notice: str | None = None
    internal_error: str | None = None  # a crash of ckptlint itself on this file (exit code 2)
    internal_traceback: str | None = None  # for --verbose
    run_notice: str | None = None  # about the run, not this file (the libcst guard's); never cached
    # Other files this result was computed from, as (path, content digest): the cache checks them again.
    depends_on: list[tuple[str, str]] = field(default_factory=list)
    # Only with lint_text(..., with_fixes=True) (ckptlint.lint.fix.apply, in-process, never cached): the parsed
    # module and the fixes of the findings kept after suppressions.
    fixes: list = field(default_factory=list)  # [(Finding, rule.Fix)]
    module: object | None = None
    # The cache key of the file's content this outcome is for (None without a cache): the project pass
    # is cached under the keys of the files it read.
    cache_key: str | None = None
    # Other project files this result read (their summaries: ckptlint.lint.imports), with the digest of
    # their content: a cached result is reused only while they are unchanged.
    dependencies: dict[str, str] = field(default_factory=dict)

    @property
    def cacheable(self) -> bool:
        """A crash of ckptlint is not a property of the file: it is tried again next time."""
        return self.internal_error is None

    def to_data(self) -> dict:
        from ckptlint.lint.suppressions import Suppressions

        summaries = {}
        for code, (summary, marks) in self.summaries.items():
            data = summary.data if isinstance(summary, StoredSummary) else summary.to_data()
            summaries[code] = {"summary": data, "marks": marks.to_data() if isinstance(marks, Suppressions) else None}
        return {"findings": [f.to_data() for f in self.findings], "summaries": summaries, "notice": self.notice}

    @classmethod
    def from_data(cls, data) -> FileOutcome:
        if data == _EMPTY:  # most files of a code base: nothing found, nothing to summarize
            return cls()
        item = serial.record(data, ("findings", "summaries", "notice"))
        summaries = {}
        stored = item["summaries"]
        if type(stored) is not dict:
            raise serial.DataError("summaries must be an object")
        if stored:
            from ckptlint.lint.suppressions import Suppressions

            for code, entry in stored.items():
                entry = serial.record(entry, ("summary", "marks"))
                marks = None if entry["marks"] is None else Suppressions.from_data(entry["marks"])
                summaries[serial.text(code)] = (StoredSummary(entry["summary"]), marks)
        return cls([Finding.from_data(f) for f in serial.array(item["findings"])], summaries,
                   serial.optional_text(item["notice"]))


@lru_cache(maxsize=64)
def rules_for(codes: tuple[str, ...]) -> tuple[Rule, ...]:
    wanted = set(codes)
    return tuple(rule() for rule in all_rules() if rule.code in wanted)


class PhaseFailed(Exception):
    """ckptlint itself failed in one phase of one file's analysis: reported as an internal error (exit
    code 2) naming the file and the phase; the other files are still linted."""

    def __init__(self, phase: str, error: BaseException) -> None:
        super().__init__(phase, error)
        self.phase = phase
        self.error = error
        self.traceback = "".join(traceback.format_exception(type(error), error, error.__traceback__))


@contextmanager
def phase(name: str):
    """Run one phase (`name` completes "internal error ...": "while parsing", "in CKPT101"); an
    unexpected exception becomes PhaseFailed(name). A RecursionError or a
    MemoryError is the input's depth or size, not a bug: it passes through (the file is not analysed)."""
    try:
        yield
    except (PhaseFailed, RecursionError, MemoryError):
        raise
    except Exception as exc:
        raise PhaseFailed(name, exc) from exc


def lint_text(path: str, source: Source, codes: tuple[str, ...], *, with_fixes: bool = False,
              keras: int | None = None, imports=None) -> FileOutcome:
    """Lint decoded source. Used by the pool worker and directly by tests. `with_fixes` (for --fix and
    --diff only) also returns the module and each kept finding's Fix. Never raises for a problem of the
    file (it becomes a finding) nor for a bug of ckptlint (it becomes the outcome's internal error)."""
    outcome = _lint_module(path, source, codes, with_fixes=with_fixes, keras=keras, imports=imports)
    if source.cell_starts is not None:
        from ckptlint.lint.notebooks import NotebookSource

        if isinstance(source, NotebookSource):
            # What the notebook reader found (CKPT000 only where the rules would look, as for files), then
            # the modules its `%%writefile` cells write, each linted as a module of its own.
            try:
                with phase("while reading the notebook's cells"):
                    outcome.findings += source.problem_findings(path, codes, might_matter)
            except PhaseFailed as failure:
                return _failed(outcome, path, failure)
            for written in source.written:
                part = _lint_module(path, written.source, codes, keras=keras, imports=imports)
                # Not fixable here: --fix rewrites the notebook's module, not the files its cells write.
                outcome.findings += [replace(finding, fixable=False) for finding in part.findings]
                if outcome.internal_error is None and part.internal_error is not None:
                    outcome.internal_error, outcome.internal_traceback = part.internal_error, part.internal_traceback
                outcome.notice = outcome.notice or part.notice
    return outcome


def _lint_module(path: str, source: Source, codes: tuple[str, ...], *, with_fixes: bool = False,
                 keras: int | None = None, imports=None) -> FileOutcome:
    outcome = FileOutcome()
    try:
        with phase("in the prefilter"):
            if not source.text.strip() or not might_matter(source.text, codes):
                return outcome  # before any import of libcst: a run that drops every file never loads it
        with warnings.catch_warnings():
            # Compiling the file's literals (CPython's parser, ast.literal_eval) warns about their
            # escapes; those warnings are about the linted code, and not ours to print.
            warnings.simplefilter("ignore")
            return _analyse(path, source, codes, with_fixes, outcome, keras, imports)
    except PhaseFailed as failure:
        outcome.summaries = {}  # half-made: a project pass must not read them
        return _failed(outcome, path, failure)
    except RecursionError:
        return _not_analysed(outcome, path, codes, "nested too deeply for ckptlint's analysis (Python's recursion limit)")
    except MemoryError:
        return _not_analysed(outcome, path, codes, "ran out of memory")


def _analyse(path: str, source: Source, codes: tuple[str, ...], with_fixes: bool, outcome: FileOutcome,
             keras: int | None, imports) -> FileOutcome:
    from ckptlint.lint import guard

    with phase("while checking the nesting (CPython's parser)"):
        refusal = guard.check(source.text)
    if refusal is not None:
        if not refusal.syntax:
            return _not_analysed(outcome, path, codes, refusal.message.removeprefix("not analysed: "))
        if "CKPT000" in codes:
            locator = _locator(None, path, source)
            outcome.findings.append(Finding("CKPT000", refusal.message, Severity.ERROR,
                                            locator.at(refusal.line, refusal.column), locator.line_text(refusal.line)))
        return outcome
    with phase("while importing libcst"):
        import libcst as cst

        from ckptlint.lint import libcst_guard, suppressions
        from ckptlint.lint.positions import Locator
        from ckptlint.model import ModuleModel
    with phase("while checking libcst's traversal"):
        outcome.run_notice = libcst_guard.check()
    left_out: list[Finding] = []  # notebook cells libcst rejects, each one CKPT000
    while True:
        try:
            with phase("while parsing"):
                module = cst.parse_module(source.text)
            break
        except PhaseFailed as failure:
            error = failure.error
            if not isinstance(error, (cst.ParserSyntaxError, cst.CSTValidationError)):
                raise
            # A notebook cell CPython parses but libcst does not is left out, the rest is linted.
            narrowed = (source.without_part_at(path, error.raw_line, error.raw_column + 1, error.message)
                        if isinstance(error, cst.ParserSyntaxError) else None)
            if narrowed is None:
                outcome.findings += [f for f in left_out if f.code in codes]
                if "CKPT000" in codes:
                    with phase("while reporting a syntax error"):
                        outcome.findings.append(_syntax_error(path, source, error))
                return outcome
            source, finding = narrowed
            left_out.append(finding)
    with phase("while building the semantic model"):
        model = ModuleModel.build(module, imports)
        model.project_keras = keras
    locator = Locator(module, path, source)
    rules = [rule for rule in rules_for(codes) if rule.keras is None or rule.keras == (model.keras_generation() or 3)]
    raw: list[Finding] = []
    summaries: dict[str, object] = {}  # code -> the project rule's summary; outcome's once suppressions are read
    fixes: dict[int, object] = {}  # id(finding) -> its Fix, with_fixes only
    for rule in rules:
        try:
            with phase(f"in {rule.code}"):
                diagnostics = list(rule.check(model))
                summary = rule.summarize(model, locator) if isinstance(rule, ProjectRule) else None
                found = []
                for diagnostic in diagnostics:
                    location = locator.location(diagnostic.node)
                    related = tuple(Related(locator.location(node), message) for node, message in diagnostic.related)
                    found.append((Finding(rule.code, diagnostic.message, diagnostic.severity or rule.severity, location,
                                          _source_line(locator, location), related, diagnostic.fixable), diagnostic.fix))
        except PhaseFailed as failure:  # one rule's bug: the others still run
            _failed(outcome, path, failure)
            continue
        for finding, fix in found:
            raw.append(finding)
            if with_fixes and fix is not None:
                fixes[id(finding)] = fix
        if summary is not None:
            with phase(f"in {rule.code} (summary)"):
                summaries[rule.code] = summary
    # Comments are tokenized only when something could be suppressed: a finding here, or a project
    # rule's summary that may put a cross-module finding in this file. Summaries are kept even under
    # `disable-file`: that hides this file's findings, not the facts other files are checked against.
    with phase("while reading suppressions"):
        hosts = any(rule.may_report_in(summaries[rule.code]) for rule in rules
                    if isinstance(rule, ProjectRule) and rule.code in summaries)
        if raw or hosts or "disable-file" in source.text:
            marks = suppressions.parse(source.text)
            outcome.findings = [f for f in raw if not marks.suppresses(f.code, _joined_line(source, f.location))]
            outcome.summaries = {c: (s, marks) for c, s in summaries.items()}
        else:
            outcome.summaries = {c: (s, None) for c, s in summaries.items()}
    outcome.findings[:0] = [f for f in left_out if f.code in codes]
    if with_fixes:
        outcome.module = module
        outcome.fixes = [(f, fixes[id(f)]) for f in outcome.findings if id(f) in fixes]
    return outcome


def _locator(module, path: str, source: Source):
    from ckptlint.lint.positions import Locator

    return Locator(module, path, source)


def _failed(outcome: FileOutcome, path: str, failure: PhaseFailed) -> FileOutcome:
    """Record a failure of ckptlint on this file (the first one: later phases may fail because of it)."""
    if outcome.internal_error is None:
        outcome.internal_error = f"{path}: internal error {failure.phase}: {failure.error!r} (please report it)"
        outcome.internal_traceback = failure.traceback
    return outcome


def _not_analysed(outcome: FileOutcome, path: str, codes: tuple[str, ...], reason: str) -> FileOutcome:
    """A file ckptlint cannot analyse (too deep, over its time budget): a CKPT001 finding when selected,
    so CI sees it, else a notice. Nothing else is reported for the file."""
    outcome.findings, outcome.summaries = [], {}
    message = f"not analysed: {reason}"
    if "CKPT001" in codes:
        outcome.findings = [Finding("CKPT001", message, Severity.ERROR, Location(path, 1, 1, 1, 1))]
    else:
        outcome.notice = f"{path}: {message}"
    return outcome


def _syntax_error(path: str, source: Source, exc) -> Finding:
    """CKPT000 with CPython's message and position when it has one: libcst's parser points at where it
    gave up (often the next line), CPython at the mistake."""
    from ckptlint.lint.positions import Locator

    # A ParserSyntaxError has a position; a CSTValidationError (`b"" ""`) has only a message.
    line, col = getattr(exc, "raw_line", 1), getattr(exc, "raw_column", 0) + 1
    message = getattr(exc, "message", None) or (str(exc).splitlines() or ["invalid syntax"])[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CPython's SyntaxWarnings are not ours to print
            compile(source.text, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST
    except SyntaxError as py_exc:
        line, col, message = py_exc.lineno or line, py_exc.offset or col, py_exc.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    locator = Locator(None, path, source)
    return Finding("CKPT000", f"syntax error: {message}", Severity.ERROR, locator.at(line, col),
                   locator.line_text(line))


def _joined_line(source: Source, location: Location) -> int:
    """Line number in the joined source (notebooks number lines per cell in findings)."""
    return source.joined_line(location.cell, location.line)


def _source_line(locator, location: Location) -> str:
    return locator.line_text(_joined_line(locator.source, location))


def lint_file(task: FileTask, cache: Cache | None) -> FileOutcome:
    """One file, start to end: read, cache, decode, lint. Never raises: a bug of ckptlint in any phase
    is the outcome's internal error, so a pool worker always has an answer to send back."""
    try:
        return _lint_file(task, cache)
    except PhaseFailed as failure:
        return _failed(FileOutcome(), task.path, failure)
    except RecursionError:
        return _not_analysed(FileOutcome(), task.path, task.codes, "nested too deeply for ckptlint's analysis")
    except MemoryError:
        return _not_analysed(FileOutcome(), task.path, task.codes, "ran out of memory")


def _lint_file(task: FileTask, cache: Cache | None) -> FileOutcome:
    try:
        with phase("while reading"):
            data = read_regular_file(task.path, task.max_size)
    except PhaseFailed as failure:
        if isinstance(failure.error, FileTooLarge):
            return _too_large(task, failure.error.size)
        if isinstance(failure.error, UnreadableFile):
            return _unreadable(task, str(failure.error))
        raise
    with phase("while reading the cache"):
        key = Cache.key(task.cache_context, task.path, data) if cache and task.cache_context else None
        cached = _from_cache(cache, key) if cache and key else None
    if cached is not None:
        return cached
    try:
        with phase("while decoding"):
            source = decode(Path(task.path), data)
    except PhaseFailed as failure:
        if not isinstance(failure.error, UnreadableFile):
            raise
        outcome = _unreadable(task, str(failure.error))
    else:
        from ckptlint.lint.imports import ProjectImports

        imports = ProjectImports(task.path, task.max_size)
        outcome = lint_text(task.path, source, task.codes, keras=task.keras, imports=imports)
        outcome.depends_on = sorted(imports.used.items())
    if cache and key:
        if outcome.cacheable:
            with phase("while writing the cache"):
                cache.put(key, "file", outcome.to_data(), outcome.depends_on)
        outcome.cache_key = key
    return outcome


def _from_cache(cache: Cache, key: str) -> FileOutcome | None:
    value = cache.get(key, "file")
    if value is None:
        return None
    try:
        outcome = FileOutcome.from_data(value)
    except serial.DataError:
        return None
    outcome.cache_key = key
    return outcome


def _too_large(task: FileTask, size: int) -> FileOutcome:
    return FileOutcome(notice=f"{task.path}: skipped: {size:,} bytes is over max-file-size ({task.max_size:,})")


def _unreadable(task: FileTask, message: str) -> FileOutcome:
    if "CKPT001" not in task.codes:
        return FileOutcome(notice=f"{task.path}: {message}")
    return FileOutcome([Finding("CKPT001", message, Severity.ERROR, Location(task.path, 1, 1, 1, 1))])


# ---- the run ----------------------------------------------------------------------------------
@dataclass
class Options:
    select: list[str] | None = None  # command line overrides the config when given
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    jobs: int = 0  # 0: one per core
    use_cache: bool = True
    cache_dir: Path | None = None
    file_timeout: float = 60.0  # seconds one file may take before it is reported not analysed
    # Told (files done, files in all) as files are linted: the terminal's progress line.
    progress: Callable[[int, int], None] | None = field(default=None, compare=False, repr=False)


def selected_codes(config: Config, options: Options, path: Path) -> tuple[str, ...]:
    """The rules that run on `path`: `select` (command line over config, else the defaults), plus
    `extend-select`, minus `ignore` and the file's `per-file-ignores`."""
    select = options.select if options.select is not None else config.select
    extend = [*config.extend_select, *options.extend_select]
    ignore = [*config.ignore, *options.ignore, *config.ignored_codes_for(path)]
    catalogue = [(record.code, record.default_enabled) for record in records().values()]
    codes = [
        code for code, default_enabled in catalogue
        if is_selected(code, default_enabled, list(select) if select is not None else None, ignore)
        or (extend and is_selected(code, default_enabled, extend, ignore))
    ]
    return tuple(sorted(codes))


def _display(path: Path) -> str:
    return os.path.join(_display_directory(str(path.parent)), path.name)


@lru_cache(maxsize=4096)
def _display_directory(directory: str) -> str:
    """A directory as shown in findings: relative to where ckptlint runs when possible (worked out
    once per directory; relpath per file was a tenth of a warm run)."""
    try:
        relative = os.path.relpath(directory)
    except ValueError:  # another drive (Windows)
        return directory
    return "" if relative == "." else relative


def run(paths: list[str], resolver: ConfigResolver, options: Options) -> LintResult:
    from ckptlint.lint import imports

    imports.new_run()
    try:
        discovered = discover(paths, resolver)
    except CkptlintError:
        raise
    except Exception as exc:  # a bug of ours: one line, exit code 2 (--verbose: the traceback)
        raise InternalError(f"internal error while finding the files to lint in {', '.join(paths)}: {exc!r} "
                            f"(please report it)") from exc
    from ckptlint.lint.context import context_roots

    roots = context_roots(paths)  # of the files named on the command line (ckptlint.lint.context)
    cache = None
    if options.use_cache:
        trees = [Path(p) if os.path.isdir(p) else Path(p).parent for p in paths] + [Path(root) for root in roots]
        cache = Cache.open(options.cache_dir, resolver.for_directory(Path.cwd()).root, trees)
    make_task = _TaskMaker(resolver, options, cache)
    tasks = [make_task(path) for path in discovered.files]
    described = list(make_task.described)  # the targets of the files linted, not of their context
    project_codes = frozenset(entry.code for entry in rule_records() if entry.project)
    reads_summaries = any(code in project_codes for task in tasks for code in task.codes)
    context = _context(roots, discovered.files, resolver) if roots and reads_summaries else None
    # The context files are linted for the project rules' summaries only: their prefilter keeps the
    # few files that mention a checkpoint, and their cache entries are of that selection.
    context_tasks = [task for task in (make_task(path, project_codes) for path in (context.files if context else ()))
                     if task.codes]  # a file whose per-file-ignores drop every project rule has nothing to add
    if cache is not None and len(tasks) + len(context_tasks) >= Cache.PACK_MIN_FILES:
        # A run with project context is named by its projects, not by the files given: the next
        # commit stages other files and reads the same pack.
        cache.use_pack(roots if context_tasks else paths, label="context" if context_tasks else "")
    outcomes = _run_tasks(tasks + context_tasks, cache, options.jobs, options.file_timeout, options.progress)
    findings: list[Finding] = []
    notices: list[str] = []
    internal_errors: list[str] = []
    tracebacks: list[str] = []
    summaries: dict[str, list] = {}
    keys: dict[str, list[str | None]] = {}  # project rule code -> the cache keys of the files it reads
    for task, outcome in zip(tasks, outcomes):
        findings.extend(outcome.findings)
        if outcome.notice:
            notices.append(outcome.notice)
        if outcome.run_notice and outcome.run_notice not in notices:
            notices.append(outcome.run_notice)
        if outcome.internal_error:
            internal_errors.append(outcome.internal_error)
            if outcome.internal_traceback:
                tracebacks.append(outcome.internal_traceback)
    for index, (task, outcome) in enumerate(zip(tasks + context_tasks, outcomes)):
        if outcome.internal_error and index >= len(tasks):
            # Not a file the user asked about: it fails nothing, but they learn its summary is missing.
            notices.append(f"project context: {outcome.internal_error}; project rules read the other files")
        for code, (summary, marks) in outcome.summaries.items():
            summaries.setdefault(code, []).append((task.path, summary, marks))
            keys.setdefault(code, []).append(outcome.cache_key)
    if context is not None and context.notice:
        notices.append(context.notice)
    scope = frozenset(task.path for task in tasks) if context_tasks else None
    findings.extend(_project_findings(summaries, keys, cache, internal_errors, tracebacks, scope))
    if cache is not None:
        cache.save_pack()
    if discovered.excluded_explicit:
        notices.append(f"{discovered.excluded_explicit} file(s) named on the command line are excluded by configuration")
    findings.sort(key=lambda f: f.sort_key)
    return LintResult(findings, len(tasks), notices, internal_errors, targets=described, tracebacks=tracebacks)


class _TaskMaker:
    """FileTasks for one run: configuration, selection, cache context and Keras target worked out once
    per directory (and per configuration and per-file ignores), not once per file."""

    def __init__(self, resolver: ConfigResolver, options: Options, cache: Cache | None) -> None:
        self.resolver = resolver
        self.options = options
        self.cache = cache
        self.configs: dict[Path, Config] = {}
        self.selections: dict[tuple, tuple[tuple[str, ...], str | None]] = {}
        self.targets: dict[Path, Target] = {}
        self.described: dict[str, None] = {}

    def __call__(self, path: Path, only: frozenset[str] | None = None) -> FileTask:
        """The task of `path`; `only`: run no rule outside these codes (the project rules, for context)."""
        config = self.configs.get(path.parent)
        if config is None:
            config = self.configs[path.parent] = self.resolver.for_file(path)
        target = self.targets.get(path.parent)
        if target is None:
            target = self.targets[path.parent] = target_for_file(config.keras_version, path)
        self.described[target.describe()] = None
        ignored = config.ignored_codes_for(path) if config.per_file_ignores else ()
        selection = self.selections.get((id(config), ignored, only))
        if selection is None:
            codes = selected_codes(config, self.options, path)
            if only is not None:
                codes = tuple(code for code in codes if code in only)
            context = self.cache.context(config.fingerprint(), codes, config.max_file_size) if self.cache else None
            selection = self.selections[id(config), ignored, only] = (codes, context)
        codes, context = selection
        if context is not None:
            context = f"{context}/keras{target.keras}"
        return FileTask(_display(path), codes, config.max_file_size, context, target.keras)


def _context(roots: list[str], linted: list[Path], resolver: ConfigResolver):
    """The other files of the named files' projects (ckptlint.lint.context)."""
    from ckptlint.lint.context import project_context

    try:
        return project_context(roots, linted, resolver)
    except CkptlintError:
        raise
    except Exception as exc:
        raise InternalError(f"internal error while reading the project context in {', '.join(roots)}: {exc!r} "
                            f"(please report it)") from exc


def _project_findings(summaries: dict[str, list], keys: dict[str, list[str | None]], cache: Cache | None,
                      internal_errors: list[str], tracebacks: list[str],
                      scope: frozenset[str] | None = None) -> list[Finding]:
    """Each project rule over the joined summaries; with a `scope` (files checked with their project's
    context), only the findings in those files."""
    kept: list[Finding] = []
    for entry in rule_records():
        if not entry.project or entry.code not in summaries:
            continue
        # A project pass reads only its summaries, and each is a function of its file's cache key: when
        # every key is known, the pass's findings are cached under all of them (a warm run then never
        # imports the rules, nor libcst).
        key = None
        known = [k for k in keys[entry.code] if k is not None]
        if cache is not None and len(known) == len(keys[entry.code]):
            key = cache.project_key(entry.code, known, scope)
            cached = _project_from_cache(cache, key)
            if cached is not None:
                kept.extend(cached)
                continue
        found = _run_project_rule(entry.code, summaries[entry.code], internal_errors, tracebacks, scope)
        if found is not None and key is not None and cache is not None:
            cache.put(key, "project", [finding.to_data() for finding in found])
        kept.extend(found or ())
    return kept


def _project_from_cache(cache: Cache, key: str) -> list[Finding] | None:
    value = cache.get(key, "project")
    if value is None:
        return None
    try:
        return [Finding.from_data(item) for item in serial.array(value)]
    except serial.DataError:
        return None


def _run_project_rule(code: str, gathered: list, internal_errors: list[str], tracebacks: list[str],
                      scope: frozenset[str] | None = None) -> list[Finding] | None:
    """The findings of one project rule over every file's summary, suppressions applied; None when the
    rule crashed (reported as an internal error)."""
    from ckptlint.lint.project import ProjectFacts

    rule = rule_by_code(code)
    assert issubclass(rule, ProjectRule)  # only ProjectRule classes are recorded as project rules
    marks_by_path = {path: marks for path, _summary, marks in gathered}
    try:
        facts = ProjectFacts({path: _summary_object(rule, summary) for path, summary, _marks in gathered}, scope)
        found = list(rule().check_project(facts))
    except RecursionError:
        internal_errors.append(f"internal error in {rule.code} (project pass): the summaries nest too deeply (please report it)")
        return None
    except Exception as exc:
        internal_errors.append(f"internal error in {rule.code} (project pass): {exc!r} (please report it)")
        tracebacks.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return None
    return [finding for finding in found
            if (scope is None or finding.location.path in scope)
            and ((marks := marks_by_path.get(finding.location.path)) is None
                 or not marks.suppresses(finding.code, finding.location.line))]


def _summary_object(rule, summary):
    """A summary as the rule wrote it: cached ones are rebuilt from their data (validated)."""
    return rule.summary_type.from_data(summary.data) if isinstance(summary, StoredSummary) else summary


def _worker(args: tuple[FileTask, Cache | None, float]) -> FileOutcome:
    task, cache, timeout = args
    return _in_process(task, cache, timeout)


def warm_up() -> None:
    """A pool worker's start, off the clock of its first file: libcst, the rules and the libcst guard."""
    import libcst  # noqa: F401

    from ckptlint.lint import libcst_guard

    libcst_guard.check()
    all_rules()


def _worker_died(args: tuple[FileTask, Cache | None, float], how: str) -> FileOutcome:
    task = args[0]
    return FileOutcome(internal_error=f"{task.path}: internal error while analysing it: the worker process {how} "
                                      f"(please report it)")


def _worker_overran(args: tuple, seconds: float) -> FileOutcome:
    task = args[0]
    return _not_analysed(FileOutcome(), task.path, task.codes,
                         f"it used more than {seconds:g} s of CPU time (--file-timeout)")


def _worker_stuck(args: tuple, seconds: float) -> FileOutcome:
    """The pool's wall-clock backstop: the worker neither finished nor overran its CPU budget."""
    task = args[0]
    return _not_analysed(FileOutcome(), task.path, task.codes,
                         f"it did not finish within {seconds:g} s of wall time (stuck; --file-timeout)")


def _run_tasks(tasks: list[FileTask], cache: Cache | None, jobs: int, timeout: float,
               progress: Callable[[int, int], None] | None = None) -> list[FileOutcome]:
    outcomes: list[FileOutcome | None] = [None] * len(tasks)
    tell = progress or (lambda _done, _total: None)
    pending = list(range(len(tasks)))
    if cache is not None:
        # Hits are read here, in the parent: a warm run starts no pool at all (shipping thousands of
        # cache hits through worker processes cost more than reading them).
        pending = []
        for index, task in enumerate(tasks):
            outcomes[index] = _cached(task, cache)
            if outcomes[index] is None:
                pending.append(index)
            tell(index + 1 - len(pending), len(tasks))
    jobs = jobs or default_jobs()
    if jobs == 1 or len(pending) < 4 * jobs:
        for done, index in enumerate(pending, start=len(tasks) - len(pending) + 1):
            outcomes[index] = _in_process(tasks[index], cache, timeout)
            tell(done, len(tasks))
        return _every_outcome(outcomes)
    # Largest files first, so the workers finish together: the files that matter cluster in a few
    # packages, and handing them out in directory order left one worker linting them alone.
    order = sorted(range(len(pending)), key=lambda i: _size(tasks[pending[i]].path), reverse=True)
    hits = len(tasks) - len(pending)
    pool = Pool(_worker, _worker_died, _worker_stuck, jobs, wall_backstop(timeout), warm_up=warm_up,
                on_progress=lambda answered: tell(hits + answered, len(tasks)))
    for index, outcome in zip(pending, pool.run([(tasks[index], cache, timeout) for index in pending], order)):
        outcomes[index] = outcome
        if cache is not None and outcome.cache_key and outcome.cacheable:  # stored by the worker
            cache.remember(outcome.cache_key, "file", outcome.to_data(), outcome.depends_on)
    return _every_outcome(outcomes)


def _every_outcome(outcomes: list[FileOutcome | None]) -> list[FileOutcome]:
    """The outcomes of a run in which every task got one (from the cache, in process or from the pool)."""
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(outcomes)
    return done


def _in_process(task: FileTask, cache: Cache | None, timeout: float) -> FileOutcome:
    """lint_file in this process, within the CPU-time budget (ckptlint.lint.budget)."""
    from ckptlint.lint.budget import Overran, time_budget

    try:
        with time_budget(timeout):
            return lint_file(task, cache)
    except Overran:
        return _worker_overran((task, cache), timeout)


def _cached(task: FileTask, cache: Cache) -> FileOutcome | None:
    """The cached outcome of a task, or None (a miss, or a file that cannot be read: lint_file says why)."""
    if task.cache_context is None:
        return None
    try:
        data = read_regular_file(task.path, task.max_size)
        return _from_cache(cache, Cache.key(task.cache_context, task.path, data))
    except Exception:  # a miss: lint_file reads the file again and reports whatever is wrong with it
        return None


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
