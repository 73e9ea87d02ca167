"""A time budget for work done in this process, in CPU time: a file's verdict must not depend on how
busy the machine is (measured: files that took 22 s alone hit a 60 s wall-clock budget at a load
average of 20). The pool keeps a wall-clock backstop of its own, for a worker stuck in native code.

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
    """Run the block with at most `seconds` of this process's CPU time (user + system); Overran is
    raised out of it when they run out."""
    if not available():
        yield
        return

    def expired(_signum, _frame):
        raise Overran()

    previous = signal.signal(signal.SIGPROF, expired)
    try:
        signal.setitimer(signal.ITIMER_PROF, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    finally:
        signal.signal(signal.SIGPROF, previous)


def wall_backstop(seconds: float) -> float:
    """The wall-clock limit past which a worker on a CPU budget of `seconds` is deemed stuck (in native
    code, where no timer can interrupt it): generous, since a busy machine stretches wall time."""
    return max(4 * seconds, seconds + 60)
