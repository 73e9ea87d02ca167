"""`ckptlint check`: lint files and notebooks, print findings, exit 0 / 1 / 2."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ckptlint.errors import CkptlintError, InternalError

FORMATS = ("text", "json", "sarif", "github")
DEFAULT_FILE_TIMEOUT = 60.0  # seconds for one file: real modules take well under one (ckptlint.lint.pool)


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], help="files or directories (default: .)")
    parser.add_argument("--select", type=_codes, help="comma-separated codes or prefixes to enable (replaces the config's)")
    parser.add_argument("--extend-select", type=_codes, default=[], help="codes or prefixes to enable in addition")
    parser.add_argument("--ignore", type=_codes, default=[], help="codes or prefixes to disable")
    parser.add_argument("--format", choices=FORMATS, default=None, help="output format (default: text; github when $GITHUB_ACTIONS is set)")
    parser.add_argument("--output-file", "-o", help="write the report here instead of stdout")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("--statistics", action="store_true", help="count findings per rule")
    parser.add_argument("--quiet", "-q", action="store_true", help="print findings only: no summary or notices")
    parser.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: one per core)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    parser.add_argument("--cache-dir", help="where the result cache lives (default: $CKPTLINT_CACHE_DIR, else the "
                                            "project's directory under $XDG_CACHE_HOME/ckptlint or ~/.cache/ckptlint)")
    parser.add_argument("--config", help="a pyproject.toml to use instead of discovering one")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes in place, then report what remains")
    parser.add_argument("--unsafe-fixes", action="store_true",
                        help="also apply (with --fix/--diff) and mark as fixable the fixes that may change behaviour")
    parser.add_argument("--diff", action="store_true",
                        help="print the fixes as a unified diff and write nothing (exit 1 if there is something to fix)")
    parser.add_argument("--file-timeout", type=float, default=None, metavar="SECONDS",
                        help=f"give up analysing a file after this much CPU time (a CKPT001 finding; default {DEFAULT_FILE_TIMEOUT:g})")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="with an internal error, print its traceback too")


def run(args: argparse.Namespace) -> int:
    from ckptlint.lint.config import ConfigResolver, load_pyproject
    from ckptlint.lint.engine import Options
    from ckptlint.lint.engine import run as lint
    from ckptlint.lint.selection import validate_selectors
    from ckptlint.report import render

    if args.jobs < 0:
        raise CkptlintError("--jobs must be 0 (one per core) or more")
    if args.file_timeout is not None and not 0 < args.file_timeout < 10**6:
        raise CkptlintError("--file-timeout must be a positive number of seconds")
    for option in ("select", "extend_select", "ignore"):
        value = getattr(args, option)
        if value:
            validate_selectors(value, f"--{option.replace('_', '-')}")
    explicit = None
    if args.config:
        path = Path(args.config)
        if not path.exists():
            raise CkptlintError(f"--config {args.config}: no such file")
        if not path.is_file():
            raise CkptlintError(f"--config {args.config}: not a regular file")
        explicit = load_pyproject(path)
        if explicit is None:
            raise CkptlintError(f"--config {args.config}: no [tool.ckptlint] table")
    resolver = ConfigResolver(explicit=explicit)
    options = Options(
        select=args.select, ignore=args.ignore, extend_select=args.extend_select, jobs=args.jobs,
        use_cache=not args.no_cache, cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        file_timeout=args.file_timeout or DEFAULT_FILE_TIMEOUT,
    )
    result = lint(args.paths, resolver, options)
    fmt = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    if args.fix or args.diff:
        from ckptlint.lint.fix.apply import run_fixes

        outcome = run_fixes(args, result, resolver, options)
        if args.diff:
            return _report_diff(args, outcome)
        result = outcome.result
    else:
        outcome = None
    if args.quiet:
        result.notices = []
    to_terminal = not args.output_file and sys.stdout.isatty()
    color = to_terminal and not args.quiet and "NO_COLOR" not in os.environ
    from ckptlint.lint.fix.hints import fixable_summary, mark_fixable

    result, hidden = mark_fixable(result, unsafe=args.unsafe_fixes)
    hints = fixable_summary(result, hidden)
    try:
        output = render(result, fmt, statistics=args.statistics, color=color)
    except CkptlintError:
        raise
    except Exception as exc:
        raise InternalError(f"internal error while rendering the {fmt} report: {exc!r} (please report it)") from exc
    if fmt == "text" and not args.quiet:
        extra = [outcome.summary()] if outcome is not None else hints
        output += "".join(line + "\n" for line in extra)
    elif outcome is not None and not args.quiet:  # keep a machine-readable report clean
        for notice in outcome.notices:
            _stderr(notice)
        _stderr(outcome.summary())
    if args.quiet and fmt == "text":
        output = "\n".join(line for line in output.splitlines() if not line.startswith(("Found ", "All checks passed"))) + "\n"
    if args.output_file:
        _write_output(Path(args.output_file), output)
    else:
        sys.stdout.write(_for_stdout(output, fmt))
    return _exit_code(args, result, bool(result.findings))


def _exit_code(args: argparse.Namespace, result, findings: bool) -> int:
    """2 when ckptlint failed anywhere (each failure one line on stderr, naming the file and the phase;
    --verbose adds the tracebacks), else 1 for findings, else 0. A failure is never hidden behind the
    findings of the other files, nor behind --exit-zero."""
    for error in result.internal_errors:
        _stderr(f"ckptlint: error: {error}")
    if args.verbose:
        for text in result.tracebacks:
            sys.stderr.write(text)
    if result.internal_errors:
        return 2
    return 1 if findings and not args.exit_zero else 0


def _report_diff(args: argparse.Namespace, outcome) -> int:
    """--diff: the diff on stdout (or --output-file), a one-line summary on stderr; nothing else is
    written. Exit 1 when there is something to fix, like ruff."""
    if args.output_file:
        _write_output(Path(args.output_file), outcome.diff)  # a patch file: the lines as they are
    else:
        from ckptlint.report.escape import printable

        shown = "".join(printable(line, keep_tabs=True) + "\n" for line in outcome.diff.splitlines())
        sys.stdout.write(_for_stdout(shown, "text"))
    if not args.quiet:
        for notice in outcome.notices:
            _stderr(notice)
        _stderr(outcome.summary(would=True))
    return _exit_code(args, outcome.result, bool(outcome.fixed))


def _stderr(line: str) -> None:
    """One line of ckptlint's own on stderr, escaped for the terminal and the CI runner (report.escape)."""
    from ckptlint.report.escape import for_stream

    print(for_stream(line), file=sys.stderr)


def _for_stdout(output: str, fmt: str) -> str:
    """Under GitHub Actions the runner reads stdout for workflow commands: only `--format github` may
    issue them (its data is escaped by the reporter); every other format is defused line by line."""
    from ckptlint.report.escape import github_actions, neutralize_json, neutralize_text

    if not github_actions() or fmt == "github":
        return output
    return neutralize_json(output) if fmt in ("json", "sarif") else neutralize_text(output)


def _write_output(path: Path, text: str) -> None:
    """The report, written atomically: through a symbolic link (the link stays), never over a device,
    a FIFO or a read-only file."""
    from ckptlint.atomic_write import WriteRefused, write_atomically

    try:
        write_atomically(path, text.encode("utf-8", "backslashreplace"))
    except WriteRefused as exc:
        raise CkptlintError(f"--output-file {path}: {exc}") from None
    except Exception as exc:
        raise InternalError(f"internal error while writing --output-file {path}: {exc!r} (please report it)") from exc
