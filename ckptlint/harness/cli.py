"""`ckptlint verify TARGET`: argument parsing and output. Importing this module does not import TensorFlow."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ckptlint.harness.methods_names import METHOD_NAMES

    parser.add_argument("target", help="path/to/train.py:make_setup or package.module:make_setup")
    parser.add_argument("--steps", type=int, default=5, help="N: run A trains 2N steps, run B N + N (default 5)")
    parser.add_argument("--method", choices=METHOD_NAMES, default=None,
                        help="save/restore to verify (default: the Setup's own save/restore, else checkpoint); "
                             "'all' prints a matrix of methods x components")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0: bitwise)")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default 0: bitwise)")
    parser.add_argument("--strategy", choices=["mirrored"], default=None,
                        help="run both runs under tf.distribute.MirroredStrategy over two logical CPUs")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="report format")
    parser.add_argument("--plot", metavar="PATH", default=None, help="write a PNG of the loss curves")
    parser.add_argument("--workdir", default=None, help="keep checkpoints and snapshots here (default: temporary)")


def run(args: argparse.Namespace) -> int:
    from ckptlint.harness.api import verify

    report = verify(args.target, steps=args.steps, method=args.method, atol=args.atol, rtol=args.rtol,
                    strategy=args.strategy, workdir=args.workdir, progress=_progress())
    print(report.to_json() if args.format == "json" else report.to_text())
    if args.plot:
        from ckptlint.harness.plot import write_plot

        plotted = report.reports.get(report.default) if hasattr(report, "reports") else report
        if plotted is not None:
            write_plot(plotted, args.plot)
    return report.exit_code


def _progress() -> Optional[Callable[[str], None]]:
    """One line per phase on stderr, only when a person is watching."""
    if not sys.stderr.isatty():
        return None

    def say(message: str) -> None:
        print(f"ckptlint verify: {message}", file=sys.stderr, flush=True)

    return say


