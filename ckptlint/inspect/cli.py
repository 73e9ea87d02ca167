"""`ckptlint inspect PATH` and `ckptlint diff A B`.

Importing this module is cheap (argparse only): numpy and h5py are imported inside run_* and only for
the formats that need them. TensorFlow is never imported: TF checkpoints are read by
`ckptlint.inspect.tf_bundle`, so no TF start-up lines reach stderr.

Whatever goes wrong, the user sees one line `ckptlint: error: ...` and exit code 2: errors are sanitised
here (an artifact's names may hold newlines or terminal escapes, a state file may name a 5 MB path), and
an unexpected exception is reported with the artifact it concerns rather than as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator

from ckptlint.errors import CkptlintError

_REQUIRABLE = ("model", "optimizer", "iterations", "step counters", "save counter", "rng", "data iterator", "other")
_MAX_ERROR_CHARS = 1000


def _one_line(message: str) -> str:
    from ckptlint.inspect.render import printable

    text = printable(message)
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


@contextlib.contextmanager
def _reported(label: str, what: str) -> Iterator[None]:
    """Turn any failure inside the block into one sanitised CkptlintError (exit code 2)."""
    from ckptlint.inspect.read import internal_error

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy/h5py warnings about hostile values are not for the user
            yield
    except CkptlintError as exc:
        raise CkptlintError(_one_line(str(exc))) from None
    except Exception as exc:  # noqa: BLE001 - a traceback is never the answer to a bad artifact
        raise CkptlintError(_one_line(str(internal_error(label, what, exc)))) from None


def parse_required(text: str | None) -> list[str]:
    """`optimizer,iterations,step-counters` -> component names; unknown names are a usage error."""
    if not text:
        return []
    names = []
    for raw in text.split(","):
        name = raw.strip().lower().replace("-", " ").replace("_", " ")
        if not name:
            continue
        if name not in _REQUIRABLE:
            raise CkptlintError(f"--require: unknown component {raw.strip()!r} (choose from: {', '.join(_REQUIRABLE)})")
        names.append(name)
    return names


def add_inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="checkpoint prefix or directory, SavedModel directory, .keras, .weights.h5, .h5 "
                        "or Orbax checkpoint directory")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument(
        "--require", metavar="COMPONENTS", default=None,
        help="comma-separated components that must be present, else exit 1: " + ", ".join(_REQUIRABLE),
    )


def _watched(work: Callable[[], int], label: str) -> int:
    """Run in a supervised child (see supervise.py): a hang in C code is one line, not a stuck terminal."""
    from ckptlint.inspect.supervise import supervised

    try:
        return supervised(work, label)
    except CkptlintError as exc:
        raise CkptlintError(_one_line(str(exc))) from None


def run_inspect(args: argparse.Namespace) -> int:
    required = parse_required(args.require)
    return _watched(lambda: _inspect(args, required), args.path)


def _inspect(args: argparse.Namespace, required: list[str]) -> int:
    with _reported(args.path, "inspecting the artifact"):
        from ckptlint.inspect import read_artifact
        from ckptlint.inspect.render import inspect_text, inventory_dict, to_json
        from ckptlint.inspect.verdicts import verdicts

        with read_artifact(args.path) as inv:
            present = inv.components_present()
            missing = [name for name in required if name not in present]
            found = verdicts(inv)
            if args.format == "json":
                out = to_json(inventory_dict(inv, found, missing))
            else:
                out = inspect_text(inv, found, missing)
    sys.stdout.write(out + "\n")  # only once everything is read: an error never leaves half a report
    return 1 if missing else 0


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be a non-negative number: {text!r}")
    return value


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="first artifact")
    parser.add_argument("b", metavar="B", help="second artifact")
    parser.add_argument("--atol", type=_tolerance, default=0.0, help="absolute tolerance (default 0: exact)")
    parser.add_argument("--rtol", type=_tolerance, default=0.0, help="relative tolerance (default 0: exact)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def run_diff(args: argparse.Namespace) -> int:
    return _watched(lambda: _diff(args), f"{args.a} vs {args.b}")


def _diff(args: argparse.Namespace) -> int:
    with _reported(f"{args.a} vs {args.b}", "comparing the artifacts"):
        from ckptlint.inspect import diff_artifacts
        from ckptlint.inspect.render import diff_text, to_json

        result = diff_artifacts(args.a, args.b, atol=args.atol, rtol=args.rtol)
        out = to_json(result.to_dict()) if args.format == "json" else diff_text(result)
    sys.stdout.write(out + "\n")
    return 0 if result.same else 1
