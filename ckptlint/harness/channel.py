"""The line protocol between ckptlint's supervising process and the processes that run user code.

A child (the training process or a fresh-process worker) writes one JSON object per line to a pipe whose
file descriptor it finds in `CKPTLINT_CONTROL_FD`. Its stdout and stderr belong to the user's code (and to
TensorFlow's start-up chatter): they go to log files, never to ckptlint's own output, so nothing a user
prints can corrupt a JSON report.

Events: {"event": "phase", "name"}                   a phase of user code starts (progress, per-phase timeout)
        {"event": "idle"}                            waiting for work: no timeout runs
        {"event": "saved", "method", "job"}          run B part 1 of a method is on disk (training process)
        {"event": "result", "job"}                   a worker wrote a job's result file
        {"event": "fatal", "message"}                a usage problem (bad target, bad Setup): exit 2
        {"event": "done"}                            the child finished its work
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

CONTROL_FD_ENV = "CKPTLINT_CONTROL_FD"
PARENT_PID_ENV = "CKPTLINT_PARENT_PID"


class Channel:
    """The child's end: writes events; silently does nothing when run by hand without a supervisor."""

    def __init__(self, fd: Optional[int]) -> None:
        self._stream = os.fdopen(fd, "w", encoding="utf-8", buffering=1) if fd is not None else None

    @classmethod
    def from_environment(cls) -> "Channel":
        value = os.environ.pop(CONTROL_FD_ENV, None)
        return cls(int(value) if value else None)

    def send(self, event: str, **fields: Any) -> None:
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps({"event": event, **fields}) + "\n")
        except (BrokenPipeError, OSError):
            # the supervisor is gone: nobody will read a result, so stop now
            os._exit(3)

    def phase(self, name: str) -> None:
        self.send("phase", name=name)


def die_with_parent() -> None:
    """Ask Linux to kill this process when the supervisor dies, so no worker outlives a killed ckptlint."""
    expected = os.environ.pop(PARENT_PID_ENV, None)
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if expected and os.getppid() != int(expected):
        os._exit(3)  # the supervisor died before the request above took effect
