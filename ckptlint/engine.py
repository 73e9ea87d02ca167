"""The lint pipeline for one run: files -> (cache | prefilter -> parse -> model -> rules ->
suppressions) -> findings, in a process pool; then the project-wide rules over per-file summaries.

Work crosses process boundaries as small picklable tasks and results (paths in, findings and rule
summaries out), never as syntax trees.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ckptlint.cache import Cache
from ckptlint.config import Config, ConfigResolver
from ckptlint.files import Source, UnreadableFile, discover, read_source
from ckptlint.findings import Finding, LintResult, Location, Related, Severity
from ckptlint.registry import ENGINE_CODES, all_rules, is_selected
from ckptlint.rule import ProjectRule, Rule


@dataclass(frozen=True)
class FileTask:
    path: str  # as displayed (relative to where the user ran ckptlint when possible)
    codes: tuple[str, ...]  # the rules selected for this file
    max_size: int
    config_fingerprint: str


@dataclass
class FileOutcome:
    findings: list[Finding] = field(default_factory=list)
    summaries: dict[str, object] = field(default_factory=dict)  # project rule code -> its summary
    notice: str | None = None


@lru_cache(maxsize=64)
def _rules_for(codes: tuple[str, ...]) -> tuple[Rule, ...]:
    wanted = set(codes)
    return tuple(rule() for rule in all_rules() if rule.code in wanted)


@lru_cache(maxsize=64)
def _prefilter_words(codes: tuple[str, ...]) -> tuple[str, ...] | None:
    """The union of the selected rules' API words; None when a rule declares none (no prefilter)."""
    words: set[str] = set()
    for rule in _rules_for(codes):
        if not rule.api_words:
            return None
        words.update(rule.api_words)
    return tuple(sorted(words))


def might_matter(text: str, codes: tuple[str, ...]) -> bool:
    """The cheap text prefilter: can any selected rule fire on this text at all?"""
    words = _prefilter_words(codes)
    return words is None or any(word in text for word in words)


def lint_text(path: str, source: Source, codes: tuple[str, ...]) -> FileOutcome:
    """Lint decoded source. Used by the pool worker and directly by tests."""
    import libcst as cst

    from ckptlint import suppressions
    from ckptlint.locate import Locator
    from ckptlint.model import ModuleModel

    outcome = FileOutcome()
    if not source.text.strip() or not might_matter(source.text, codes):
        return outcome
    try:
        module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:
        if "CKPT000" in codes:
            outcome.findings.append(_syntax_error(path, source, exc))
        return outcome
    except RecursionError:
        outcome.notice = f"{path}: skipped: nesting too deep for the parser"
        return outcome
    model = ModuleModel.build(module)
    locator = Locator(module, path, source)
    rules = _rules_for(codes)
    raw: list[Finding] = []
    for rule in rules:
        for diagnostic in rule.check(model):
            location = locator.location(diagnostic.node)
            related = tuple(Related(locator.location(node), message) for node, message in diagnostic.related)
            raw.append(Finding(rule.code, diagnostic.message, rule.severity, location,
                               _source_line(locator, location), related, diagnostic.fixable))
        if isinstance(rule, ProjectRule):
            outcome.summaries[rule.code] = rule.summarize(model, locator)
    if raw or "disable-file" in source.text:
        marks = suppressions.parse(source.text)
        outcome.findings = [f for f in raw if not marks.suppresses(f.code, _joined_line(source, f.location))]
        for code in list(outcome.summaries):
            if any(code.startswith(s) or s == suppressions.ALL for s in marks.file_wide):
                del outcome.summaries[code]
        outcome.summaries = {c: (s, marks) for c, s in outcome.summaries.items()}
    else:
        outcome.summaries = {c: (s, None) for c, s in outcome.summaries.items()}
    return outcome


def _syntax_error(path: str, source: Source, exc) -> Finding:
    """CKPT000 with CPython's message and position when it has one: libcst's parser points at where it
    gave up (often the next line), CPython at the mistake."""
    from ckptlint.locate import Locator

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
    path = Path(task.path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _unreadable(task, f"cannot read file: {exc.strerror or exc}")
    key = Cache.key(task.path, data, task.config_fingerprint, task.codes) if cache else None
    if cache and key:
        cached = cache.get(key)
        if cached is not None:
            return cached
    try:
        source = read_source(path, task.max_size)
    except UnreadableFile as exc:
        outcome = _unreadable(task, str(exc))
    else:
        if source is None:
            outcome = FileOutcome(notice=f"{task.path}: skipped: {len(data):,} bytes is over max-file-size ({task.max_size:,})")
        else:
            outcome = lint_text(task.path, source, task.codes)
    if cache and key:
        cache.put(key, outcome)
    return outcome


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
    catalogue = [(r.code, r.default_enabled) for r in all_rules()] + [(c, True) for c in ENGINE_CODES]
    codes = [
        code for code, default_enabled in catalogue
        if is_selected(code, default_enabled, list(select) if select is not None else None, ignore)
        or (extend and is_selected(code, default_enabled, extend, ignore))
    ]
    return tuple(sorted(codes))


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def run(paths: list[str], resolver: ConfigResolver, options: Options) -> LintResult:
    discovered = discover(paths, resolver)
    tasks: list[FileTask] = []
    for path in discovered.files:
        config = resolver.for_file(path)
        tasks.append(FileTask(_display(path), selected_codes(config, options, path), config.max_file_size,
                              config.fingerprint()))
    cache = None
    if options.use_cache:
        cache = Cache(options.cache_dir or (resolver.for_directory(Path.cwd()).root / ".ckptlint_cache"))
    outcomes = _run_tasks(tasks, cache, options.jobs)
    findings: list[Finding] = []
    notices: list[str] = []
    summaries: dict[str, list] = {}
    for task, outcome in zip(tasks, outcomes):
        findings.extend(outcome.findings)
        if outcome.notice:
            notices.append(outcome.notice)
        for code, (summary, marks) in outcome.summaries.items():
            summaries.setdefault(code, []).append((task.path, summary, marks))
    findings.extend(_project_findings(summaries))
    if discovered.excluded_explicit:
        notices.append(f"{discovered.excluded_explicit} file(s) named on the command line are excluded by configuration")
    findings.sort(key=lambda f: f.sort_key)
    return LintResult(findings, len(tasks), notices)


def _project_findings(summaries: dict[str, list]) -> Iterable[Finding]:
    from ckptlint.project import ProjectFacts

    for rule in all_rules():
        if not issubclass(rule, ProjectRule) or rule.code not in summaries:
            continue
        entries = summaries[rule.code]
        marks_by_path = {path: marks for path, _summary, marks in entries}
        facts = ProjectFacts({path: summary for path, summary, _marks in entries})
        for finding in rule().check_project(facts):
            marks = marks_by_path.get(finding.location.path)
            if marks is not None and marks.suppresses(finding.code, finding.location.line):
                continue
            yield finding


def _worker(args: tuple[FileTask, Cache | None]) -> FileOutcome:
    return lint_file(*args)


def _run_tasks(tasks: list[FileTask], cache: Cache | None, jobs: int) -> list[FileOutcome]:
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(tasks) < 4 * jobs:
        return [lint_file(task, cache) for task in tasks]
    chunk = max(1, len(tasks) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_worker, [(task, cache) for task in tasks], chunksize=chunk))
