"""One status line per trial on a terminal: trial, optimizer updates so far, elapsed seconds.

Only when stderr is a terminal and the report is text: CI logs and machine formats never see it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Optional, TextIO


class TerminalProgress:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, float, bool]] = {}
        self._last_draw = 0.0

    @classmethod
    def for_terminal(cls, stream: TextIO = sys.stderr, machine_format: bool = False) -> Optional["TerminalProgress"]:
        try:
            interactive = stream.isatty()
        except (AttributeError, ValueError):
            interactive = False
        return cls(stream) if interactive and not machine_format else None

    def __call__(self, trial: str, updates: int, elapsed: float) -> None:
        with self._lock:
            previous = self._state.get(trial)
            self._state[trial] = (updates, elapsed, False)
            now = time.monotonic()
            if previous is not None and previous[0] == updates and now - self._last_draw < 0.5:
                return
            self._last_draw = now
            line = " | ".join(f"{name} {u} updates {e:.0f}s" for name, (u, e, _d) in self._state.items())
            self._stream.write(f"\r\x1b[2Kckptlint verify: {line}")
            self._stream.flush()

    def finish(self) -> None:
        with self._lock:
            if self._state:
                self._stream.write("\r\x1b[2K")
                self._stream.flush()
