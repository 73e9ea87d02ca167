"""Run `inspect`/`diff` in a forked child that the parent watches, so even a hang in C is one line.

The HDF5 library can loop forever on a damaged file, inside one h5py call that holds the GIL: no
Python-level timeout or watchdog thread gets to run, and SIGALRM's default action would end the process
with no message and the wrong exit code. So the work runs in a child process whose heartbeat thread
writes to a pipe twice a second; while the child's Python runs, the thread gets the GIL within
milliseconds, and while it is stuck in C code holding the GIL, the heartbeats stop. The parent kills a
child silent for `CKPTLINT_INSPECT_STALL_SECONDS` (default 15) and reports one line, exit code 2. A child
killed by a signal (a segfault in a C library, the kernel's OOM killer) is reported the same way.

Supervision applies only when stdout and stderr are real file descriptors (not a test's in-memory
capture, which a child could not write to) and `os.fork` exists; otherwise the work runs in-process.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable

from ckptlint.errors import CkptlintError

STALL_ENV = "CKPTLINT_INSPECT_STALL_SECONDS"
DEFAULT_STALL_SECONDS = 15.0
_BEAT_SECONDS = 0.5


def stall_seconds() -> float:
    raw = os.environ.get(STALL_ENV, "")
    try:
        return float(raw) if raw else DEFAULT_STALL_SECONDS
    except ValueError:
        raise CkptlintError(f"{STALL_ENV}={raw!r}: not a number of seconds") from None


def _real_streams() -> bool:
    try:
        return sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def supervised(work: Callable[[], int], label: str) -> int:
    """`work()`'s exit code, computed in a watched child when possible (see the module docstring)."""
    stall = stall_seconds()
    if stall <= 0 or not hasattr(os, "fork") or not _real_streams():
        return work()
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which always ends in os._exit
        os.close(read_end)
        _child(work, write_end)
    os.close(write_end)
    try:
        return _watch(pid, read_end, stall, label)
    except BaseException:  # Ctrl-C in the parent: the child must not outlive it
        _kill(pid)
        raise
    finally:
        os.close(read_end)


def _die_with_parent() -> None:
    """Linux: the kernel kills the child if the parent dies first (e.g. killed by a test's timeout)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _child(work: Callable[[], int], beat_fd: int) -> None:  # pragma: no cover - child process
    _die_with_parent()

    def beat() -> None:
        try:
            while True:
                os.write(beat_fd, b".")
                time.sleep(_BEAT_SECONDS)
        except OSError:  # the parent is gone
            os._exit(2)

    code = 2
    try:
        threading.Thread(target=beat, name="ckptlint-heartbeat", daemon=True).start()
        code = work()
    except CkptlintError as exc:
        print(f"ckptlint: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 - the parent must get an exit code, never a traceback
        print(f"ckptlint: error: internal error ({type(exc).__name__})", file=sys.stderr)
        code = 2
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001 - a closed pipe at exit changes nothing
            pass
        os._exit(code)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _watch(pid: int, beats: int, stall: float, label: str) -> int:
    deadline = time.monotonic() + stall
    while True:
        ready, _, _ = select.select([beats], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            if os.read(beats, 4096):
                deadline = time.monotonic() + stall
                continue
            _, status = os.waitpid(pid, 0)  # the pipe closed: the child has exited
            if os.WIFEXITED(status):
                return os.WEXITSTATUS(status)
            number = os.WTERMSIG(status)
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
            raise CkptlintError(f"{label}: the reader was killed by {name} (a crash in a library on a damaged "
                                "file, or out of memory)")
        if time.monotonic() >= deadline:
            _kill(pid)
            raise CkptlintError(f"{label}: no progress for {stall:g} s, stopped (a damaged file can make the HDF5 "
                                f"library loop forever; {STALL_ENV} sets the limit)")
