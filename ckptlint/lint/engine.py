"""The lint pipeline for one run: files -> (cache | prefilter -> parse -> model -> rules ->
suppressions) -> findings, in a process pool; then the project-wide rules over per-file summaries.

Work crosses process boundaries as small picklable tasks and results (paths in, findings and rule
summaries out), never as syntax trees. Results are cached as JSON data (FileOutcome.to_data), never
as pickles (ckptlint.lint.cache).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ckptlint.lint import serial
from ckptlint.lint.cache import Cache
from ckptlint.lint.catalogue import entries
from ckptlint.lint.config import Config, ConfigResolver
from ckptlint.lint.discovery import discover
from ckptlint.lint.sources import FileTooLarge, Source, UnreadableFile, decode, read_regular_file
from ckptlint.lint.findings import Finding, LintResult, Location, Related, Severity
from ckptlint.lint.prefilter import might_matter
from ckptlint.lint.registry import ENGINE_CODES, all_rules, is_selected, rule_by_code
from ckptlint.lint.rule import ProjectRule, Rule


@dataclass(frozen=True)
class FileTask:
    path: str  # as displayed (relative to where the user ran ckptlint when possible)
    codes: tuple[str, ...]  # the rules selected for this file
    max_size: int
    cache_context: str | None  # the cache key's part shared by this file's configuration (None: no cache)


@dataclass(frozen=True)
class StoredSummary:
    """A project rule's summary as the cache holds it (JSON data): rebuilt with the rule's
    `summary_type.from_data` only if the project pass has to run, which imports the rule anyway."""

    data: object


@dataclass
class FileOutcome:
    findings: list[Finding] = field(default_factory=list)
    # project rule code -> (its summary, or a StoredSummary; the file's suppressions or None)
    summaries: dict[str, tuple] = field(default_factory=dict)
    notice: str | None = None
    internal_error: str | None = None  # a crash of ckptlint itself on this file (exit code 2)
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


def lint_text(path: str, source: Source, codes: tuple[str, ...], *, with_fixes: bool = False) -> FileOutcome:
    """Lint decoded source. Used by the pool worker and directly by tests. `with_fixes` (for --fix and
    --diff only) also returns the module and each kept finding's Fix."""
    outcome = FileOutcome()
    if not source.text.strip() or not might_matter(source.text, codes):
        return outcome  # before any import of libcst: a run that drops every file never loads it
    import libcst as cst

    from ckptlint.lint import libcst_guard, suppressions
    from ckptlint.lint.positions import Locator
    from ckptlint.model import ModuleModel

    outcome.run_notice = libcst_guard.check()

    try:
        module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:
        if "CKPT000" in codes:
            outcome.findings.append(_syntax_error(path, source, exc))
        return outcome
    except RecursionError:
        outcome.notice = f"{path}: skipped: nesting too deep for the parser"
        return outcome
    try:
        model = ModuleModel.build(module)
    except Exception as exc:  # a bug of ours must not end the run: report it, lint the other files
        outcome.internal_error = f"{path}: internal error while building the semantic model: {exc!r}"
        return outcome
    locator = Locator(module, path, source)
    rules = rules_for(codes)
    raw: list[Finding] = []
    fixes: dict[int, object] = {}  # id(finding) -> its Fix, with_fixes only
    for rule in rules:
        try:
            diagnostics = list(rule.check(model))
            summary = rule.summarize(model, locator) if isinstance(rule, ProjectRule) else None
        except Exception as exc:
            outcome.internal_error = f"{path}: internal error in {rule.code}: {exc!r} (please report it)"
            continue
        for diagnostic in diagnostics:
            location = locator.location(diagnostic.node)
            related = tuple(Related(locator.location(node), message) for node, message in diagnostic.related)
            raw.append(Finding(rule.code, diagnostic.message, rule.severity, location,
                               _source_line(locator, location), related, diagnostic.fixable))
            if with_fixes and diagnostic.fix is not None:
                fixes[id(raw[-1])] = diagnostic.fix
        if summary is not None:
            outcome.summaries[rule.code] = summary
    # Comments are tokenized only when something could be suppressed: a finding here, or a project
    # rule's summary (its cross-module findings may land in this file). Summaries are kept even under
    # `disable-file`: that hides this file's findings, not the facts other files are checked against.
    if raw or outcome.summaries or "disable-file" in source.text:
        marks = suppressions.parse(source.text)
        outcome.findings = [f for f in raw if not marks.suppresses(f.code, _joined_line(source, f.location))]
        outcome.summaries = {c: (s, marks) for c, s in outcome.summaries.items()}
    else:
        outcome.summaries = {c: (s, None) for c, s in outcome.summaries.items()}
    if with_fixes:
        outcome.module = module
        outcome.fixes = [(f, fixes[id(f)]) for f in outcome.findings if id(f) in fixes]
    return outcome


def _syntax_error(path: str, source: Source, exc) -> Finding:
    """CKPT000 with CPython's message and position when it has one: libcst's parser points at where it
    gave up (often the next line), CPython at the mistake."""
    from ckptlint.lint.positions import Locator

    line, col, message = exc.raw_line, exc.raw_column + 1, exc.message
    try:
        compile(source.text, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST
    except SyntaxError as py_exc:
        line, col, message = py_exc.lineno or line, py_exc.offset or col, py_exc.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    locator = Locator(None, path, source)  # type: ignore[arg-type]
    return Finding("CKPT000", f"syntax error: {message}", Severity.ERROR, locator.at(line, col),
                   locator.line_text(line))


def _joined_line(source: Source, location: Location) -> int:
    """Line number in the joined source (notebooks number lines per cell in findings)."""
    if location.cell is None or not source.cell_starts:
        return location.line
    start = dict(source.cell_starts)[location.cell]
    return start + location.line - 1


def _source_line(locator, location: Location) -> str:
    return locator.line_text(_joined_line(locator.source, location))


def lint_file(task: FileTask, cache: Cache | None) -> FileOutcome:
    try:
        data = read_regular_file(task.path, task.max_size)
    except FileTooLarge as exc:
        return _too_large(task, exc.size)
    except UnreadableFile as exc:
        return _unreadable(task, str(exc))
    key = Cache.key(task.cache_context, task.path, data) if cache and task.cache_context else None
    if cache and key:
        cached = _from_cache(cache, key)
        if cached is not None:
            return cached
    try:
        source = decode(Path(task.path), data)
    except UnreadableFile as exc:
        outcome = _unreadable(task, str(exc))
    else:
        outcome = lint_text(task.path, source, task.codes)
    if cache and key:
        if outcome.cacheable:
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


def selected_codes(config: Config, options: Options, path: Path) -> tuple[str, ...]:
    """The rules that run on `path`: `select` (command line over config, else the defaults), plus
    `extend-select`, minus `ignore` and the file's `per-file-ignores`."""
    select = options.select if options.select is not None else config.select
    extend = [*config.extend_select, *options.extend_select]
    ignore = [*config.ignore, *options.ignore, *config.ignored_codes_for(path)]
    catalogue = [(e.code, e.default_enabled) for e in entries()] + [(c, True) for c in ENGINE_CODES]
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
    discovered = discover(paths, resolver)
    tasks: list[FileTask] = []
    # Resolved once per directory and per (config, per-file ignores), not once per file.
    configs: dict[Path, Config] = {}
    cache = None
    if options.use_cache:
        trees = [Path(p) if os.path.isdir(p) else Path(p).parent for p in paths]
        cache = Cache.open(options.cache_dir, resolver.for_directory(Path.cwd()).root, trees)
    selections: dict[tuple[int, tuple[str, ...]], tuple[tuple[str, ...], str | None]] = {}
    for path in discovered.files:
        config = configs.get(path.parent)
        if config is None:
            config = configs[path.parent] = resolver.for_file(path)
        ignored = config.ignored_codes_for(path) if config.per_file_ignores else ()
        selection = selections.get((id(config), ignored))
        if selection is None:
            codes = selected_codes(config, options, path)
            context = cache.context(config.fingerprint(), codes, config.max_file_size) if cache else None
            selection = selections[id(config), ignored] = (codes, context)
        codes, context = selection
        tasks.append(FileTask(_display(path), codes, config.max_file_size, context))
    outcomes = _run_tasks(tasks, cache, options.jobs)
    findings: list[Finding] = []
    notices: list[str] = []
    internal_errors: list[str] = []
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
        for code, (summary, marks) in outcome.summaries.items():
            summaries.setdefault(code, []).append((task.path, summary, marks))
            keys.setdefault(code, []).append(outcome.cache_key)
    findings.extend(_project_findings(summaries, keys, cache, internal_errors))
    if discovered.excluded_explicit:
        notices.append(f"{discovered.excluded_explicit} file(s) named on the command line are excluded by configuration")
    findings.sort(key=lambda f: f.sort_key)
    return LintResult(findings, len(tasks), notices, internal_errors)


def _project_findings(summaries: dict[str, list], keys: dict[str, list[str | None]], cache: Cache | None,
                      internal_errors: list[str]) -> list[Finding]:
    kept: list[Finding] = []
    for entry in entries():
        if not entry.project or entry.code not in summaries:
            continue
        # A project pass reads only its summaries, and each is a function of its file's cache key: when
        # every key is known, the pass's findings are cached under all of them (a warm run then never
        # imports the rules, nor libcst).
        key = None
        if cache is not None and None not in keys[entry.code]:
            key = cache.project_key(entry.code, keys[entry.code])
            cached = _project_from_cache(cache, key)
            if cached is not None:
                kept.extend(cached)
                continue
        found = _run_project_rule(entry.code, summaries[entry.code], internal_errors)
        if found is not None and key is not None:
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


def _run_project_rule(code: str, gathered: list, internal_errors: list[str]) -> list[Finding] | None:
    """The findings of one project rule over every file's summary, suppressions applied; None when the
    rule crashed (reported as an internal error)."""
    from ckptlint.lint.project import ProjectFacts

    rule = rule_by_code(code)
    marks_by_path = {path: marks for path, _summary, marks in gathered}
    try:
        facts = ProjectFacts({path: _summary_object(rule, summary) for path, summary, _marks in gathered})
        found = list(rule().check_project(facts))
    except Exception as exc:
        internal_errors.append(f"internal error in {rule.code} (project pass): {exc!r} (please report it)")
        return None
    return [finding for finding in found
            if (marks := marks_by_path.get(finding.location.path)) is None
            or not marks.suppresses(finding.code, finding.location.line)]


def _summary_object(rule, summary):
    """A summary as the rule wrote it: cached ones are rebuilt from their data (validated)."""
    return rule.summary_type.from_data(summary.data) if isinstance(summary, StoredSummary) else summary


def _worker(args: tuple[FileTask, Cache | None]) -> FileOutcome:
    return lint_file(*args)


def _run_tasks(tasks: list[FileTask], cache: Cache | None, jobs: int) -> list[FileOutcome]:
    outcomes: list[FileOutcome | None] = [None] * len(tasks)
    pending = list(range(len(tasks)))
    if cache is not None:
        # Hits are read here, in the parent: a warm run starts no pool at all (shipping thousands of
        # cache hits through worker processes cost more than reading them).
        pending = []
        for index, task in enumerate(tasks):
            outcomes[index] = _cached(task, cache)
            if outcomes[index] is None:
                pending.append(index)
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(pending) < 4 * jobs:
        for index in pending:
            outcomes[index] = lint_file(tasks[index], cache)
        return outcomes  # type: ignore[return-value]
    # Largest files first, in small chunks, so the workers finish together: the files that matter
    # cluster in a few packages, and contiguous big chunks left one worker linting them alone.
    order = sorted(pending, key=lambda index: _size(tasks[index].path), reverse=True)
    chunk = max(1, min(16, len(order) // (jobs * 16)))
    from concurrent.futures import ProcessPoolExecutor  # not imported when one process is enough

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = pool.map(_worker, [(tasks[index], cache) for index in order], chunksize=chunk)
        for index, outcome in zip(order, results):
            outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def _cached(task: FileTask, cache: Cache) -> FileOutcome | None:
    """The cached outcome of a task, or None (a miss, or a file that cannot be read: lint_file says why)."""
    if task.cache_context is None:
        return None
    try:
        data = read_regular_file(task.path, task.max_size)
    except (UnreadableFile, FileTooLarge):
        return None
    return _from_cache(cache, Cache.key(task.cache_context, task.path, data))


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
