"""What a person at a terminal sees and a CI log never does: colour and progress lines.

Colour follows the conventions ruff, pytest and pre-commit share: `--color always|never` wins; with
`auto` (the default) a non-empty `NO_COLOR` turns colour off (https://no-color.org), a non-empty
`FORCE_COLOR` turns it on (https://force-color.org), and otherwise the stream must be a terminal.

Progress is a single line on stderr, redrawn in place, that appears only once a run has lasted about a
second (a quick run never flickers), only when stderr is a terminal, never when `CI` is set (CI runners
may attach a pseudo-terminal, and a log full of carriage returns helps nobody), and never for a machine
format: the caller decides that last part. The line is erased when the run ends, so the report that
follows starts on a clean line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
from typing import TextIO

COLOR_CHOICES = ("auto", "always", "never")
PROGRESS_DELAY = 1.0  # seconds before the first progress line: shorter runs show none
_REDRAW_EVERY = 0.1  # seconds between redraws: a fast loop must not spend its time writing to the terminal
_ERASE_LINE = "\r\x1b[2K"


def add_color_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", choices=COLOR_CHOICES, default="auto",
                        help="colour the report: auto (default: when writing to a terminal; NO_COLOR turns it "
                             "off, FORCE_COLOR on), always, never")


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # a closed stream, or an object that is not a file
        return False


def use_color(choice: str, stream: TextIO | None) -> bool:
    """Whether to colour what goes to `stream` (None: a file named on the command line, never a terminal)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream is not None and is_terminal(stream)


def progress_wanted(stream: TextIO) -> bool:
    """A person is watching `stream`: it is a terminal and this is not a CI job."""
    return is_terminal(stream) and not os.environ.get("CI")


class ProgressLine:
    """One status line on a terminal, redrawn in place; silent for the first PROGRESS_DELAY seconds.

    Thread-safe: the verify supervisor reports from the thread that reads its children's events."""

    def __init__(self, stream: TextIO, prefix: str, delay: float | None = None) -> None:
        self._stream = stream
        self._prefix = prefix
        self._started = time.monotonic()
        self._delay = PROGRESS_DELAY if delay is None else delay
        self._last_draw = 0.0
        self._pending = ""
        self._shown = ""  # the text on the terminal now
        self._drawn = False
        self._finished = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_stream(cls, stream: TextIO, prefix: str, *, machine_format: bool = False) -> "ProgressLine | None":
        return cls(stream, prefix) if progress_wanted(stream) and not machine_format else None

    def update(self, text: str, *, force: bool = False) -> None:
        """Show `text` (once the delay has passed; at most every _REDRAW_EVERY s unless `force`)."""
        with self._lock:
            if self._finished:  # e.g. the re-lint of `--fix` passes, after the report's line was erased
                return
            self._pending = text
            now = time.monotonic()
            if now - self._started < self._delay:
                # A long phase may send nothing more: draw the latest text when the delay is over.
                self._draw_at(self._delay - (now - self._started))
                return
            if not force and self._drawn and now - self._last_draw < _REDRAW_EVERY:
                # Skipped to spare the terminal, but the last update of a burst must still be seen.
                self._draw_at(_REDRAW_EVERY - (now - self._last_draw))
                return
            self._draw(now)

    def _draw_at(self, seconds: float) -> None:
        """Draw whatever is pending `seconds` from now (one timer at a time; the caller holds the lock)."""
        if self._timer is None:
            self._timer = threading.Timer(max(seconds, 0.0), self._draw_late)
            self._timer.daemon = True
            self._timer.start()

    def _draw_late(self) -> None:
        with self._lock:
            self._timer = None
            if not self._finished and (not self._drawn or self._pending != self._shown):
                self._draw(time.monotonic())

    def _draw(self, now: float) -> None:
        line = f"{self._prefix}: {self._pending}"
        # A line wider than the terminal wraps, and erasing it would then leave its first part behind.
        width = shutil.get_terminal_size((80, 24)).columns - 1
        try:
            self._stream.write(_ERASE_LINE + line[:max(width, 10)])
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth failing for
            return
        self._drawn, self._last_draw, self._shown = True, now, self._pending

    def finish(self) -> None:
        """Erase the line, so whatever is printed next starts at the left margin."""
        with self._lock:
            self._finished = True
            if self._timer is not None:
                self._timer.cancel()
            if self._drawn:
                try:
                    self._stream.write(_ERASE_LINE)
                    self._stream.flush()
                except (OSError, ValueError):
                    pass
                self._drawn, self._shown = False, ""
