"""Run a whole verification in a fresh process: `python -m ckptlint.harness.delegate REQUEST.json`.

Used when the caller's process cannot host it (TensorFlow already initialized with one CPU device, but
`strategy="mirrored"` needs two logical devices configured before initialization). The result file holds
the report's to_dict(), or {"ckptlint_error": message} for a user error.
"""

from __future__ import annotations

import json
import os
import sys

from ckptlint.errors import CkptlintError


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ckptlint.harness.delegate REQUEST.json", file=sys.stderr)
        return 2
    from ckptlint.harness.runner import VerifyOptions, run
    from ckptlint.harness.target import TargetRef

    with open(argv[0], encoding="utf-8") as fh:
        request = json.load(fh)
    ref = TargetRef.from_dict(request["target"])
    target = f"{ref.path}:{ref.attr}" if ref.path and not ref.module else f"{ref.module}:{ref.attr}"
    try:
        outcome = run(target, VerifyOptions(**request["options"])).to_dict()
    except CkptlintError as exc:
        outcome = {"ckptlint_error": str(exc)}
    tmp = request["result"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    os.replace(tmp, request["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
