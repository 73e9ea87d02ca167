"""The supervisor's side of the child processes that run user code.

Every piece of user code runs in a child process started here, never in ckptlint's own process. That is
what makes the guarantees of `verify` possible: a hang is cut off after `--timeout` seconds of one phase,
`os._exit` or a crash in user code is reported instead of ending ckptlint, whatever the user prints
stays out of ckptlint's output (children write to log files), and on every exit path (error, Ctrl-C,
SIGTERM) the children are killed and their temporary files, which live in the run's work directory,
are removed with it.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from ckptlint.harness.channel import CONTROL_FD_ENV, PARENT_PID_ENV

_SIGNAL_NAMES = {getattr(signal, n): n for n in dir(signal) if n.startswith("SIG") and not n.startswith("SIG_")}


@dataclass
class Child:
    """One child process: its control pipe, its log files and the phase it is in."""

    name: str
    popen: subprocess.Popen
    control: Any  # the read end of the control pipe (a binary file object)
    stdout_path: str
    stderr_path: str
    phase: Optional[str] = None
    phase_started: float = 0.0
    finished: bool = False  # sent "done" (or its pipe closed)
    buffer: bytes = b""
    history: list[str] = field(default_factory=list)

    def exit_description(self) -> str:
        """How the process ended, in words: 'exited with code 3', 'was killed by SIGKILL'."""
        code = self.popen.poll()
        if code is None:
            return "is still running"
        if code < 0:
            return f"was killed by {_SIGNAL_NAMES.get(-code, f'signal {-code}')}"
        return f"exited with code {code}"

    def output_tail(self, lines: int = 20) -> str:
        """The last lines the user's code (and TensorFlow) printed, decoded whatever the encoding."""
        chunks = []
        for path in (self.stdout_path, self.stderr_path):
            try:
                with open(path, "rb") as fh:
                    fh.seek(max(0, os.path.getsize(path) - 16384))
                    chunks.append(fh.read().decode("utf-8", errors="replace"))
            except OSError:
                continue
        text = "\n".join(c.rstrip("\n") for c in chunks if c.strip())
        return "\n".join(text.splitlines()[-lines:])


def child_environment(workdir: str) -> dict[str, str]:
    """The environment of a child: this process's import path, temporary files inside the work directory,
    and TensorFlow's C++ logging turned down unless the user chose a level."""
    env = dict(os.environ)
    paths = [p or os.getcwd() for p in sys.path] + [env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
    tmp = os.path.join(workdir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    env["TMPDIR"] = tmp
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(name: str, module: str, args: list[str], workdir: str, stdin: bool = False) -> Child:
    """Start `python -m module args...` with a control pipe; its output goes to log files in the workdir."""
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs, exist_ok=True)
    slug = name.replace(" ", "-")
    stdout_path, stderr_path = os.path.join(logs, f"{slug}.out"), os.path.join(logs, f"{slug}.err")
    read_fd, write_fd = os.pipe()
    env = child_environment(workdir)
    env[CONTROL_FD_ENV] = str(write_fd)
    env[PARENT_PID_ENV] = str(os.getpid())
    try:
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            popen = subprocess.Popen(
                [sys.executable, "-m", module, *args], env=env, cwd=os.getcwd(),
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=out, stderr=err,
                pass_fds=(write_fd,), start_new_session=True,
            )
    finally:
        os.close(write_fd)
    return Child(name, popen, os.fdopen(read_fd, "rb", buffering=0), stdout_path, stderr_path)


@dataclass
class Event:
    child: Child
    data: dict[str, Any]  # {"event": "exited"} when the child's control pipe closed


START_UP = "start-up"
START_UP_TIMEOUT = 600.0  # importing TensorFlow on a loaded machine; not the user's code


def _limit(phase: Optional[str], timeout: float) -> float:
    return max(timeout, START_UP_TIMEOUT) if phase == START_UP else timeout


_EXIT_POLL = 1.0  # seconds between checks that a child whose pipe is still open has not exited


def events(children: list[Child], timeout: float) -> Iterator[Event]:
    """Yield events from the children as they come. A child whose phase has run longer than `timeout`
    seconds (start-up, TensorFlow's import, gets at least START_UP_TIMEOUT) yields {"event": "timeout"};
    one that has exited yields {"event": "exited"}, once its pipe is drained.

    A child's exit is seen even while its control pipe stays open: a process the user's code forked
    inherits the pipe, and would otherwise keep the supervisor waiting for an end-of-file that never
    comes. What such a process leaves running in the child's process group is killed with it."""
    selector = selectors.DefaultSelector()
    for child in children:
        if not child.finished:
            selector.register(child.control, selectors.EVENT_READ, child)
    try:
        while selector.get_map():
            now = time.monotonic()
            deadlines = [c.phase_started + _limit(c.phase, timeout) for c in children
                         if c.phase is not None and not c.finished]
            wait = max(0.0, min(deadlines) - now) if deadlines else _EXIT_POLL
            ready = selector.select(min(wait, _EXIT_POLL))
            for key, _mask in ready:
                child = key.data
                chunk = child.control.read(65536)
                if not chunk:
                    yield from _ended(child, selector, timeout)
                    continue
                yield from _lines(child, chunk)
            for key in list(selector.get_map().values()):
                child = key.data
                if child.popen.poll() is not None:  # exited, but something it started holds the pipe
                    yield from _lines(child, _drain(child.control))
                    yield from _ended(child, selector, timeout)
            now = time.monotonic()
            for child in children:
                if (child.phase is not None and not child.finished
                        and now - child.phase_started > _limit(child.phase, timeout)):
                    phase = child.phase
                    child.phase = None
                    yield Event(child, {"event": "timeout", "phase": phase})
    finally:
        selector.close()


def _lines(child: Child, chunk: bytes) -> Iterator[Event]:
    """The events in the complete lines received so far from a child (the rest waits in its buffer)."""
    child.buffer += chunk
    while b"\n" in child.buffer:
        line, child.buffer = child.buffer.split(b"\n", 1)
        try:
            data = json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        if data.get("event") == "phase":
            child.phase, child.phase_started = data.get("name"), time.monotonic()
            child.history.append(str(child.phase))
        elif data.get("event") in ("idle", "done"):
            child.phase = None
        yield Event(child, data)


def _drain(control: Any) -> bytes:
    """What is left in a pipe whose writer may never close it, read without blocking."""
    os.set_blocking(control.fileno(), False)
    chunks = []
    try:
        while chunk := control.read(65536):
            chunks.append(chunk)
    except (BlockingIOError, OSError):
        pass
    return b"".join(chunks)


_EXIT_GRACE = 30.0  # seconds a child whose pipe closed outside a phase gets to finish exiting


def _ended(child: Child, selector: selectors.BaseSelector, timeout: float) -> Iterator[Event]:
    """The child's pipe closed (or the child exited): wait for the process, then end what it left running
    in its group. A process that closed the pipe but runs on is out of the supervisor's reach: it gets
    what is left of its phase's --timeout (or a grace period between phases), then it is killed."""
    selector.unregister(child.control)
    child.finished = True
    if child.phase is not None:
        allowed = child.phase_started + _limit(child.phase, timeout) - time.monotonic()
    else:
        allowed = _EXIT_GRACE
    try:
        child.popen.wait(max(allowed, 1.0))
    except subprocess.TimeoutExpired:
        _signal_group(child, signal.SIGKILL)
        child.popen.wait()
    _signal_group(child, signal.SIGKILL)  # whatever the user's code left running in the child's group
    yield Event(child, {"event": "exited"})


def terminate(children: list[Child], grace: float = 3.0) -> None:
    """Stop every child that still runs (their whole process group): SIGTERM, then SIGKILL after `grace`.
    Their control pipes stay open, so the event loop still sees each one exit."""
    running = [c for c in children if c.popen.poll() is None]
    for child in running:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in running:
        try:
            child.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.popen.wait()


def release(children: list[Child]) -> None:
    """Close what this process holds of the children (control pipes, job pipes)."""
    for child in children:
        _close(child)


def _signal_group(child: Child, sig: int) -> None:
    try:
        os.killpg(child.popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _close(child: Child) -> None:
    for stream in (child.control, child.popen.stdin):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass


def send_job(child: Child, job_path: str) -> None:
    """Hand a worker one more job (a line on its standard input)."""
    assert child.popen.stdin is not None
    child.popen.stdin.write(job_path.encode("utf-8") + b"\n")
    child.popen.stdin.flush()


def close_jobs(child: Child) -> None:
    """No more jobs for this worker: it exits after the ones it has."""
    if child.popen.stdin is not None and not child.popen.stdin.closed:
        try:
            child.popen.stdin.close()
        except OSError:
            pass


class Terminated(Exception):
    """SIGTERM arrived: unwind so every `finally` (children, temporary folders) runs."""


class terminate_on_sigterm:
    """Turn SIGTERM into `Terminated` while a verification runs (main thread only; restored afterwards)."""

    def __enter__(self) -> "terminate_on_sigterm":
        import threading

        self._previous = None
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGTERM)
            if current in (signal.SIG_DFL, None):
                self._previous = current
                signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise Terminated()

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
