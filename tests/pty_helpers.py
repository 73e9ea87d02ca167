"""Run ckptlint with stdout or stderr on a real pseudo-terminal (the `pty` module), the other on a pipe:
how a person at a terminal runs it, without the environment of the test run (CI, NO_COLOR...) leaking in."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_ckptlint(args: list[str], cwd: Path, *, tty: str, env: dict[str, str] | None = None,
                 timeout: float = 300) -> Ran:
    """Run `ckptlint ARGS` with `tty` ("stdout" or "stderr") attached to a fresh pseudo-terminal and the
    other stream to a pipe. No CI / colour variables leak in from the environment running the tests."""
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS")}
    master, slave = pty.openpty()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "ckptlint", *args], cwd=cwd, stdin=subprocess.DEVNULL,
        stdout=slave if tty == "stdout" else subprocess.PIPE,
        stderr=slave if tty == "stderr" else subprocess.PIPE,
        env={**clean, **(env or {})},
    )
    os.close(slave)
    piped: list[bytes] = []
    pipe = process.stderr if tty == "stdout" else process.stdout
    reader = threading.Thread(target=lambda: piped.append(pipe.read()))
    reader.start()
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every holder of the terminal's other end has closed it
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    code = process.wait(timeout=timeout)
    reader.join(timeout=60)
    seconds = time.monotonic() - started
    on_tty = seen.decode("utf-8", "replace").replace("\r\n", "\n")  # the terminal's line discipline adds \r
    other = b"".join(piped).decode("utf-8", "replace")
    return Ran(code, on_tty, other, seconds) if tty == "stdout" else Ran(code, other, on_tty, seconds)


def after_progress(terminal_text: str) -> str:
    """What stays on the screen after the last progress line was erased."""
    return terminal_text.rsplit("\r\x1b[2K", 1)[-1]
