"""The options of a black-box verification, validated before any trial starts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from ckptlint.errors import CkptlintError

SIGNALS = ("kill", "term")
ALLOWABLE = ("rng", "data-order")
DEFAULT_TIMEOUT = 600.0
DEFAULT_GRACE = 30.0
MAX_WORKERS = 16
ALL_WORKERS = "all"


@dataclass
class BlackboxOptions:
    command: list[str]
    kill_at: Optional[int] = None            # optimizer update k; default: the middle of U's, after its first save
    kill_in_save: Optional[int] = None       # kill while the N-th save point is being written
    signal: str = "kill"
    grace: float = DEFAULT_GRACE             # --signal term: seconds between SIGTERM and SIGKILL
    determinism_check: bool = True
    atol: float = 0.0
    rtol: float = 0.0
    timeout: float = DEFAULT_TIMEOUT         # per trial
    allow: frozenset[str] = field(default_factory=frozenset)
    seed: int = 1234
    workdir: Optional[str] = None            # keep trial directories here (default: a temporary directory)
    jobs: int = 2                            # trials run at the same time
    workers: int = 1                         # processes per trial, each a worker of one cluster (TF_CONFIG)
    kill_worker: str = ALL_WORKERS           # K: kill this worker's process (an index), or every worker's
    # When ckptlint wrote the command itself (`verify TARGET --workers N`): what the report names instead
    # of the command, and what every process's environment gets (PYTHONPATH for ckptlint and the target).
    label: Optional[str] = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def killed_workers(self) -> list[int]:
        return list(range(self.workers)) if self.kill_worker == ALL_WORKERS else [int(self.kill_worker)]

    def validate(self) -> None:
        if not self.command:
            raise CkptlintError("no command given: use `ckptlint verify -- python train.py ...`")
        if self.kill_at is not None and self.kill_at < 1:
            raise CkptlintError(f"--kill-at must be at least 1 (got {self.kill_at})")
        if self.kill_in_save is not None and self.kill_in_save < 1:
            raise CkptlintError(f"--kill-in-save must be at least 1 (got {self.kill_in_save})")
        if self.kill_at is not None and self.kill_in_save is not None:
            raise CkptlintError("--kill-at and --kill-in-save choose the kill point two ways: give one")
        if self.signal not in SIGNALS:
            raise CkptlintError(f"--signal must be one of {', '.join(SIGNALS)} (got {self.signal!r})")
        for name, value in (("--atol", self.atol), ("--rtol", self.rtol), ("--grace", self.grace)):
            if not math.isfinite(value) or value < 0:
                raise CkptlintError(f"{name} must be a finite number >= 0 (got {value})")
        if not math.isfinite(self.timeout) or self.timeout <= 0:
            raise CkptlintError(f"--timeout must be a number of seconds > 0 (got {self.timeout})")
        unknown = set(self.allow) - set(ALLOWABLE)
        if unknown:
            raise CkptlintError(f"--allow accepts {', '.join(ALLOWABLE)} (got {', '.join(sorted(unknown))})")
        if self.jobs < 1:
            raise CkptlintError(f"--jobs must be at least 1 (got {self.jobs})")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise CkptlintError(f"--workers must be between 1 and {MAX_WORKERS} (got {self.workers})")
        if self.kill_worker != ALL_WORKERS:
            if not str(self.kill_worker).isdigit() or int(self.kill_worker) >= self.workers:
                raise CkptlintError(f"--kill-worker must be `all` or a worker index below --workers "
                                    f"{self.workers} (got {self.kill_worker!r})")
            if self.workers == 1:
                raise CkptlintError("--kill-worker needs --workers 2 or more")


def parse_allow(text: Optional[str]) -> frozenset[str]:
    if not text:
        return frozenset()
    return frozenset(part.strip() for part in text.split(",") if part.strip())
