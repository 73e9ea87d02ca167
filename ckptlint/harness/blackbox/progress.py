"""One status line per trial on a terminal: trial, optimizer updates so far, elapsed seconds.

Drawn by ckptlint.terminal.ProgressLine: only when stderr is a terminal, not under `CI`, after the run's
first second, and never with a machine format.
"""

from __future__ import annotations

import sys
import threading
from typing import Optional, TextIO

from ckptlint.terminal import ProgressLine


class TerminalProgress:
    def __init__(self, line: ProgressLine) -> None:
        self._line = line
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, float]] = {}

    @classmethod
    def for_terminal(cls, stream: TextIO = sys.stderr, machine_format: bool = False) -> Optional["TerminalProgress"]:
        line = ProgressLine.for_stream(stream, "ckptlint verify", machine_format=machine_format)
        return cls(line) if line is not None else None

    def __call__(self, trial: str, updates: int, elapsed: float) -> None:
        with self._lock:
            previous = self._state.get(trial)
            self._state[trial] = (updates, elapsed)
            text = " | ".join(f"{name} {u} updates {e:.0f}s" for name, (u, e) in self._state.items())
        # A new update count is worth drawing at once; the elapsed seconds alone can wait for the throttle.
        self._line.update(text, force=previous is None or previous[0] != updates)

    def finish(self) -> None:
        self._line.finish()
