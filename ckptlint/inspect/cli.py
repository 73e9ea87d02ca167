"""`ckptlint inspect PATH` and `ckptlint diff A B`.

Importing this module is cheap (argparse only): TensorFlow and h5py are imported inside run_* and only
for the formats that need them.
"""

from __future__ import annotations

import argparse
import os
import sys

from ckptlint.errors import CkptlintError

_REQUIRABLE = ("model", "optimizer", "iterations", "step counters", "save counter", "rng", "data iterator", "other")


def _quiet_tf() -> None:
    """TF logs at import (oneDNN notices, CUDA probing) unless told not to before the import."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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
    parser.add_argument("path", help="checkpoint prefix or directory, SavedModel directory, .keras, .weights.h5 or .h5")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument(
        "--require", metavar="COMPONENTS", default=None,
        help="comma-separated components that must be present, else exit 1: " + ", ".join(_REQUIRABLE),
    )


def run_inspect(args: argparse.Namespace) -> int:
    _quiet_tf()
    required = parse_required(args.require)
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
    sys.stdout.write(out + "\n")
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
    _quiet_tf()
    from ckptlint.inspect import diff_artifacts
    from ckptlint.inspect.render import diff_text, to_json

    result = diff_artifacts(args.a, args.b, atol=args.atol, rtol=args.rtol)
    out = to_json(result.to_dict()) if args.format == "json" else diff_text(result)
    sys.stdout.write(out + "\n")
    return 0 if result.same else 1
