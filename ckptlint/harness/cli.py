"""`ckptlint verify TARGET`: argument parsing and output. Importing this module does not import TensorFlow,
and neither does running it: every piece of user code runs in child processes (runner.py)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Callable, Optional

from ckptlint.errors import CkptlintError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ckptlint.harness.methods_names import METHOD_NAMES
    from ckptlint.harness.runner import DEFAULT_TIMEOUT

    parser.add_argument("target", help="path/to/train.py:make_setup or package.module:make_setup")
    parser.add_argument("--steps", type=int, default=5,
                        help="N: run A trains 2N steps, run B N + N; with Setup.fit, the update to interrupt "
                             "after (default 5)")
    parser.add_argument("--method", choices=METHOD_NAMES, default=None,
                        help="save/restore to verify (default: the Setup's own save/restore, else checkpoint); "
                             "'all' prints a matrix of methods x components")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0: bitwise)")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default 0: bitwise)")
    parser.add_argument("--allow-rng", action="store_true",
                        help="pass when the resumed run differs only through random-number state that no "
                             "checkpoint holds (e.g. Dropout masks), everything else being restored")
    parser.add_argument("--strategy", choices=["mirrored"], default=None,
                        help="run both runs under tf.distribute.MirroredStrategy over two logical CPUs")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds one phase of your code may take before it is stopped "
                             f"(default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="report format")
    parser.add_argument("--plot", metavar="PATH", default=None, help="write a PNG of the loss curves")
    parser.add_argument("--workdir", default=None,
                        help="keep checkpoints, snapshots and the logs of your code's output here "
                             "(default: a temporary directory, removed afterwards)")
    parser.add_argument("--verbose", action="store_true",
                        help="on an error, print your code's traceback (and ckptlint's, for internal errors)")


def run(args: argparse.Namespace) -> int:
    from ckptlint.harness.api import verify
    from ckptlint.harness.process import Terminated

    try:
        report = verify(args.target, steps=args.steps, method=args.method, atol=args.atol, rtol=args.rtol,
                        strategy=args.strategy, workdir=args.workdir, progress=_progress(),
                        timeout=args.timeout, allow_rng=args.allow_rng)
    except CkptlintError:
        raise
    except Terminated:
        print("ckptlint: terminated (children stopped, temporary files removed)", file=sys.stderr)
        return 143
    except Exception as exc:  # a bug of ckptlint's own: one line, the traceback only when asked
        if args.verbose:
            traceback.print_exc()
        raise CkptlintError(f"internal error: {type(exc).__name__}: {exc}") from None
    print(report.to_json() if args.format == "json" else report.to_text())
    if args.verbose:
        _print_user_tracebacks(report)
    if args.plot:
        from ckptlint.harness.plot import write_plot

        plotted = report.reports.get(report.default) if hasattr(report, "reports") else report
        if plotted is not None:
            write_plot(plotted, args.plot)
    return report.exit_code


def _print_user_tracebacks(report: object) -> None:
    reports = list(getattr(report, "reports", {}).values()) or [report]
    shown = set()
    for r in reports:
        error = getattr(r, "error", None) or {}
        text = error.get("traceback")
        if text and text not in shown:
            shown.add(text)
            print(f"\nyour code's traceback ({error.get('phase')}):\n{text}", file=sys.stderr)


def _progress() -> Optional[Callable[[str], None]]:
    """One line per phase on stderr, only when a person is watching (a terminal, not CI)."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None

    def say(message: str) -> None:
        print(f"ckptlint verify: {message}", file=sys.stderr, flush=True)

    return say
