"""The user's command, made runnable from a trial's own working directory.

Each trial runs in a fresh directory, so `{out}` in an argument becomes that directory, and an argument
naming an existing file or directory relative to where ckptlint was run (`train.py`, `--data=d.csv`)
becomes absolute. Nothing else is changed.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass

from ckptlint.errors import CkptlintError

OUT = "{out}"


@dataclass(frozen=True)
class TrialCommand:
    argv: tuple[str, ...]   # as the user gave it
    origin: str             # where ckptlint was run: relative paths resolve from here

    @classmethod
    def parse(cls, argv: list[str], origin: str) -> "TrialCommand":
        if argv and argv[0] == "--":
            argv = argv[1:]
        if not argv:
            raise CkptlintError("no command given: use `ckptlint verify -- python train.py ...`")
        executable = argv[0]
        if os.sep not in executable and shutil.which(executable) is None:
            raise CkptlintError(f"command not found: {executable}")
        if os.sep in executable and not os.path.exists(os.path.join(origin, executable)):
            raise CkptlintError(f"command not found: {executable}")
        return cls(tuple(argv), os.path.abspath(origin))

    def for_trial(self, trial_dir: str) -> list[str]:
        return [self._resolve(arg.replace(OUT, trial_dir)) for arg in self.argv]

    def display(self) -> str:
        return shlex.join(self.argv)

    def _resolve(self, arg: str) -> str:
        if arg.startswith("-") and "=" in arg:
            key, _, value = arg.partition("=")
            return f"{key}={self._resolve_path(value)}"
        if arg.startswith("-"):
            return arg
        return self._resolve_path(arg)

    def _resolve_path(self, value: str) -> str:
        if not value or os.path.isabs(value):
            return value
        candidate = os.path.join(self.origin, value)
        return candidate if os.path.exists(candidate) else value
