"""Command line entry point.

Each subcommand lives in its own module and is imported only when it runs, so `ckptlint --version`
imports neither libcst nor TensorFlow, and `ckptlint check` never imports TensorFlow.
Exit codes: 0 clean, 1 findings (or state lost / artifacts differ), 2 usage, config or internal error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn, Sequence

from ckptlint import __version__
from ckptlint.errors import CkptlintError, InternalError

# subcommand -> (module, function adding its arguments, function running it, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str, str]] = {
    "check": ("ckptlint.lint.command", "add_arguments", "run", "lint Python files and notebooks"),
    "rules": ("ckptlint.lint.rules_command", "add_list_arguments", "run_list", "list the rules"),
    "rule": ("ckptlint.lint.rules_command", "add_page_arguments", "run_page", "print a rule's page"),
    "verify": ("ckptlint.harness.cli", "add_arguments", "run", "prove a resume really resumes (needs TensorFlow)"),
    "inspect": ("ckptlint.inspect.cli", "add_inspect_arguments", "run_inspect", "show what a checkpoint artifact holds"),
    "diff": ("ckptlint.inspect.cli", "add_diff_arguments", "run_diff", "compare two checkpoint artifacts"),
}


def _load(module: str, attr: str) -> Callable:
    import importlib

    return getattr(importlib.import_module(module), attr)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in the one-line form every other error of ckptlint has (argparse prints
    the whole usage block first, which buries the line that says what was wrong)."""

    def error(self, message: str) -> NoReturn:
        from ckptlint.report.escape import for_stream

        print(for_stream(f"ckptlint: error: {message} (see `{self.prog} --help`)"),
              file=sys.stderr)
        sys.exit(2)


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ckptlint",
        description="Find and prove checkpoint-correctness bugs in TensorFlow/Keras training code.",
    )
    parser.add_argument("--version", action="version", version=f"ckptlint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the subcommand being run gets its arguments registered (and its module imported):
    # `ckptlint check` must not pay for the harness module, nor the harness for the linter.
    wanted = next((a for a in argv if a in SUBCOMMANDS), None)
    for name, (module, add, _run, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            _load(module, add)(sp)
    return parser


def _never_fail_to_print() -> None:
    """A report must not crash on a character the terminal's encoding lacks (a file name that is not
    UTF-8, a message on an ASCII-only console): such characters are printed as backslash escapes."""
    for stream in (sys.stdout, sys.stderr):
        try:
            reconfigure = getattr(stream, "reconfigure", None)  # a replaced stream may lack it
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _never_fail_to_print()
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module, _add, run, _help = SUBCOMMANDS[args.command]
    try:
        return int(_load(module, run)(args))
    except CkptlintError as exc:
        return _fail(f"ckptlint: error: {exc}", exc.exit_code, args, exc.__cause__ if isinstance(exc, InternalError) else None)
    except KeyboardInterrupt:
        print("ckptlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug of ckptlint: one line and exit code 2, never a traceback read as a result
        return _fail(f"ckptlint: error: internal error: {exc!r} (please report it; --verbose prints the traceback)",
                     2, args, exc)


def _fail(line: str, code: int, args: argparse.Namespace, error: BaseException | None) -> int:
    from ckptlint.report.escape import for_stream

    print(for_stream(line), file=sys.stderr)
    if error is not None and getattr(args, "verbose", False):
        import traceback

        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    return code
