"""A time budget for work done in this process (the pool enforces its own by killing workers).

An interval timer raises `Overran` in the middle of whatever Python code runs when the time is up. It
is a BaseException, so that no `except Exception` on the way swallows it. Only the main thread of a
POSIX process can have such a timer; elsewhere the work runs without a limit. Native code is not
interrupted until it returns to Python: libcst's parser is kept to inputs it handles quickly by
ckptlint.lint.guard.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class Overran(BaseException):
    """The time budget ran out."""


def available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_budget(seconds: float):
    """Run the block with at most `seconds` of wall time; Overran is raised out of it when they run out."""
    if not available():
        yield
        return

    def expired(_signum, _frame):
        raise Overran()

    previous = signal.signal(signal.SIGALRM, expired)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
