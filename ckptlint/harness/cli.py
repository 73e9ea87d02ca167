"""`ckptlint verify TARGET` (factory mode) and `ckptlint verify [OPTIONS] -- COMMAND ...` (black-box mode):
argument parsing and output. Importing this module does not import TensorFlow, and neither does running
it: every piece of user code runs in child processes (runner.py, blackbox/runner.py)."""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Optional

from ckptlint.errors import CkptlintError
from ckptlint.terminal import ProgressLine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ckptlint.harness.methods_names import METHOD_NAMES

    parser.add_argument("target", nargs="+", metavar="TARGET | -- COMMAND",
                        help="path/to/train.py:make_setup or package.module:make_setup (factory mode), "
                             "or `-- COMMAND [ARGS...]`: run your own training command unchanged (black-box)")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0: bitwise)")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default 0: bitwise)")
    parser.add_argument("--allow", default=None, metavar="CAUSES",
                        help="accept these causes of divergence as not failures, stated in the output: rng "
                             "(random state no checkpoint holds, e.g. Dropout masks), data-order (black-box "
                             "mode: the data order restarts)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="how long one phase of your code (factory mode, default 600) or one trial "
                             "(black-box mode, default 600) may take before it is stopped")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="report format")
    parser.add_argument("--plot", metavar="PATH", default=None, help="write a PNG of the loss curves")
    parser.add_argument("--workdir", default=None,
                        help="keep checkpoints, snapshots and the logs of your code's output here "
                             "(default: a temporary directory, removed afterwards)")
    parser.add_argument("--verbose", action="store_true",
                        help="on an error, print your code's traceback (and ckptlint's, for internal errors)")
    factory = parser.add_argument_group("factory mode (TARGET)")
    factory.add_argument("--steps", type=int, default=None,
                         help="N: run A trains 2N steps, run B N + N; with Setup.fit, the update to interrupt "
                              "after (default 5)")
    factory.add_argument("--method", choices=METHOD_NAMES, default=None,
                         help="save/restore to verify (default: the Setup's own save/restore, else checkpoint; keras "
                              "for a Keras model on the JAX backend); "
                              "'all' prints a matrix of methods x components")
    factory.add_argument("--strategy", choices=["mirrored"], default=None,
                         help="run both runs under tf.distribute.MirroredStrategy over two logical CPUs")
    factory.add_argument("--allow-rng", action="store_true", help=argparse.SUPPRESS)  # older spelling of --allow rng
    _add_blackbox_arguments(parser.add_argument_group("black-box mode (-- COMMAND)"))


def _add_blackbox_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--kill-at", type=int, default=None, metavar="K",
                       help="kill at optimizer update K (default: the middle of the run, after its first save)")
    group.add_argument("--kill-in-save", type=int, nargs="?", const=2, default=None, metavar="N",
                       help="kill while the N-th save is written (default N: 2)")
    group.add_argument("--signal", choices=["kill", "term"], default="kill",
                       help="kill: die at once, no cleanup (default); term: SIGTERM, a grace period, then kill")
    group.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                       help="--signal term: seconds between SIGTERM and SIGKILL (default 30)")
    group.add_argument("--no-determinism-check", action="store_true",
                       help="skip U2, the second uninterrupted run")
    group.add_argument("--workers", type=int, default=1, metavar="N",
                       help="run N worker processes per trial on 127.0.0.1, each with its own TF_CONFIG "
                            "(MultiWorkerMirroredStrategy); {worker} in COMMAND becomes the worker's index. "
                            "Also for TARGET: the factory gets the MultiWorkerMirroredStrategy and is trained, "
                            "killed and restarted by the same trials (the options of this group then apply)")
    group.add_argument("--kill-worker", default="all", metavar="I|all",
                       help="with --workers: kill worker I only, or every worker (default all); "
                            "the whole cluster is restarted for R")


_BLACKBOX_ONLY = {"kill_at": None, "kill_in_save": None, "signal": "kill", "grace": 30.0,
                  "no_determinism_check": False, "workers": 1, "kill_worker": "all"}
_FACTORY_ONLY = {"steps": None, "method": None, "strategy": None, "allow_rng": False}


def is_blackbox(target: list[str]) -> bool:
    """A factory target is one `file.py:factory` / `module:factory` word; anything else is a command."""
    return len(target) > 1 or ":" not in target[0]


def run(args: argparse.Namespace) -> int:
    from ckptlint.harness.tfenv import require_tensorflow

    require_tensorflow()  # first: every part of verify compares arrays (numpy comes with TensorFlow)
    if is_blackbox(args.target):
        misplaced = [k for k, v in _FACTORY_ONLY.items() if getattr(args, k) != v]
        if misplaced:
            raise CkptlintError(f"--{misplaced[0].replace('_', '-')} is for the factory mode (TARGET), "
                                f"not for `-- COMMAND`")
        return _run_blackbox(args)
    if args.workers != 1:
        return _run_factory_cluster(args)
    misplaced = [k for k, v in _BLACKBOX_ONLY.items() if getattr(args, k) != v]
    if misplaced:
        raise CkptlintError(f"--{misplaced[0].replace('_', '-')} is for the black-box mode (`-- COMMAND`) and for "
                            f"TARGET with --workers 2 or more")
    allowed = {part.strip() for part in (args.allow or "").split(",") if part.strip()}
    if allowed - {"rng"}:
        raise CkptlintError(f"--allow in the factory mode accepts rng (got {', '.join(sorted(allowed - {'rng'}))})")
    args.allow_rng = args.allow_rng or "rng" in allowed
    if args.steps is None:
        args.steps = 5
    return _run_factory(args)


def _run_blackbox(args: argparse.Namespace, command: Optional[list[str]] = None,
                  allow: Optional[frozenset[str]] = None, label: Optional[str] = None,
                  env: Optional[dict[str, str]] = None) -> int:
    from ckptlint.harness.blackbox.options import DEFAULT_TIMEOUT, BlackboxOptions, parse_allow
    from ckptlint.harness.blackbox.progress import TerminalProgress
    from ckptlint.harness.blackbox.runner import verify_command

    opts = BlackboxOptions(command=command or list(args.target), kill_at=args.kill_at,
                           kill_in_save=args.kill_in_save, signal=args.signal, grace=args.grace,
                           determinism_check=not args.no_determinism_check, atol=args.atol, rtol=args.rtol,
                           timeout=args.timeout if args.timeout is not None else DEFAULT_TIMEOUT,
                           allow=parse_allow(args.allow) if allow is None else allow, workdir=args.workdir,
                           workers=args.workers, kill_worker=args.kill_worker, label=label, env=env or {})
    opts.validate()
    progress = TerminalProgress.for_terminal(sys.stderr, machine_format=args.format == "json")
    try:
        report = verify_command(opts, progress=progress)
    finally:
        if progress is not None:
            progress.finish()
    print(report.to_json() if args.format == "json" else report.to_text())
    if args.plot:
        from ckptlint.harness.blackbox.plot import write_plot

        write_plot(report, args.plot)
    return report.exit_code


def _run_factory_cluster(args: argparse.Namespace) -> int:
    """`verify TARGET --workers N`: ckptlint's driver (factory_cluster.py) is the training command, run by
    the black-box cluster trials, so kill points, restarts and per-worker verdicts are theirs."""
    import os

    from ckptlint.harness.blackbox.options import parse_allow
    from ckptlint.harness.factory_cluster import option_phrase
    from ckptlint.harness.session import missing_strategy
    from ckptlint.harness.target import declared_parameters, parse_target

    option = option_phrase(args.workers)
    if args.strategy is not None:
        raise CkptlintError(f"--strategy and {option} both choose the distribution: {option} runs "
                            "MultiWorkerMirroredStrategy")
    if args.method not in (None, "user"):
        raise CkptlintError(f"--method {args.method} with {option}: the workers verify the Setup's own save and "
                            "restore only (leave out --method, or use --workers 1)")
    steps = 5 if args.steps is None else args.steps
    if steps < 1:
        raise CkptlintError(f"--steps must be a whole number of at least 1 (got {steps})")
    ref = parse_target(args.target[0])
    params = declared_parameters(ref)
    if params is not None and "strategy" not in params:  # read from its source: nothing has run yet
        raise missing_strategy(ref, "multi-worker", option)
    allow = set(parse_allow(args.allow)) | ({"rng"} if args.allow_rng else set())
    target = f"{ref.path}:{ref.attr}" if ref.path and not ref.module else f"{ref.module}:{ref.attr}"
    # ckptlint's own root first (a source checkout works as an installed one), then where ckptlint was run
    # (a `package.module` target is imported from there, as in the factory mode)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.pathsep.join(p for p in (root, os.getcwd(), os.environ.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "ckptlint.harness.factory_cluster", target, "--out", "{out}",
               "--steps", str(2 * steps)]
    return _run_blackbox(args, command=command, allow=frozenset(allow), label=ref.describe(),
                         env={"PYTHONPATH": path})


def _run_factory(args: argparse.Namespace) -> int:
    from ckptlint.harness.api import verify
    from ckptlint.harness.process import Terminated
    from ckptlint.harness.runner import DEFAULT_TIMEOUT

    target = args.target[0]
    progress = _progress(machine_format=args.format == "json")
    try:
        report = verify(target, steps=args.steps, method=args.method, atol=args.atol, rtol=args.rtol,
                        strategy=args.strategy, workdir=args.workdir,
                        progress=progress.update if progress is not None else None,
                        timeout=args.timeout if args.timeout is not None else DEFAULT_TIMEOUT,
                        allow_rng=args.allow_rng)
    except CkptlintError:
        raise
    except Terminated:
        print("ckptlint: terminated (children stopped, temporary files removed)", file=sys.stderr)
        return 143
    except Exception as exc:  # a bug of ckptlint's own: one line, the traceback only when asked
        if args.verbose:
            traceback.print_exc()
        raise CkptlintError(f"internal error: {type(exc).__name__}: {exc}") from None
    finally:
        if progress is not None:
            progress.finish()
    print(report.to_json() if args.format == "json" else report.to_text())
    if args.verbose:
        _print_user_tracebacks(report)
    if args.plot:
        from ckptlint.harness.matrix import MatrixReport
        from ckptlint.harness.plot import write_plot

        plotted = report.reports.get(report.default) if isinstance(report, MatrixReport) else report
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


def _progress(machine_format: bool) -> Optional[ProgressLine]:
    """The phase and step on one line of stderr, only when a person is watching (ckptlint.terminal)."""
    return ProgressLine.for_stream(sys.stderr, "ckptlint verify", machine_format=machine_format)
