"""Describe an exception raised by the user's code: the message that explains it, the user's own file and
line, and the traceback without ckptlint's frames.

TensorFlow buries the useful part: an op that fails inside a `tf.function` raises
`InvalidArgumentError: Graph execution error:` followed by the op's creation stack and, at the end, the
real message; an error while tracing says `in user code:` with the user's frame marked by `*`; Keras
wraps layer errors in "Exception encountered when calling ...". This module digs the message and the
user's frame out of each form, so a report says `train.py:57: InvalidArgumentError: indices = 7 is not in
[0, 4)` rather than `InvalidArgumentError: Graph execution error`.
"""

from __future__ import annotations

import os
import re
import sysconfig
import traceback
from dataclasses import dataclass
from typing import Optional

_CKPTLINT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple(
    os.path.abspath(p) for p in {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    if p
)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class UserFault:
    message: str  # "InvalidArgumentError: indices = 7 is not in [0, 4)"
    where: Optional[str]  # "/path/train.py:57 in train_step", the innermost frame in the user's files
    traceback: str  # the traceback with ckptlint's own frames left out

    def one_line(self) -> str:
        if self.where:
            return f"{self.message} (at {_short(self.where)})"
        return self.message


def is_user_file(path: str) -> bool:
    """A file of the user's project: not ckptlint, not the standard library or installed packages, not
    generated code (autograph's temporary modules)."""
    if not path or path.startswith("<") or "__autograph_generated" in path:
        return False
    full = os.path.abspath(path)
    if full.startswith(_CKPTLINT_DIR + os.sep):
        return False
    return not any(full.startswith(d + os.sep) for d in _LIBRARY_DIRS) and "site-packages" not in full


def describe(exc: BaseException) -> UserFault:
    text = _ANSI.sub("", str(exc))
    name = type(exc).__name__
    message, where = _from_graph_error(text) or _from_trace_error(text) or (None, None)
    if message is None:
        message = _keras_call_message(text) or _first_line(text)
    if where is None:
        where = _innermost_user_frame(exc)
    message = message.strip()
    full = f"{name}: {message}" if message and not message.startswith(name + ":") else (message or name)
    return UserFault(full, where, _trimmed_traceback(exc))


def _from_graph_error(text: str) -> Optional[tuple[str, Optional[str]]]:
    """`Graph execution error: Detected at node X defined at (most recent call last): File ... <message>`."""
    if "Detected at node" not in text:
        return None
    lines = text.splitlines()
    frames, rest = [], []
    for line in lines[1:]:
        match = _FRAME.match(line)
        if match:
            frames.append(match)
        elif frames and line.strip() and not line.startswith("Detected at node"):
            rest.append(line.strip())
    message = next((line for line in rest if not line.startswith("[[") and not line.startswith("[Op:")), "")
    message = re.sub(r"\s*\[\[\{\{node .*$", "", message)
    return message or _first_line(text), _last_user(frames)


def _from_trace_error(text: str) -> Optional[tuple[str, Optional[str]]]:
    """Autograph's `in user code:` form: frames, then the original exception's line."""
    if not text.startswith("in user code:"):
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    frames = [m for m in (_FRAME.match(line) for line in lines) if m]
    message = lines[-1].strip() if lines else ""
    return message, _last_user(frames)


def _keras_call_message(text: str) -> Optional[str]:
    """Keras: 'Exception encountered when calling Dense.call().\n\n<message>\n\nArguments received by ...'."""
    if not text.startswith("Exception encountered when calling"):
        return None
    parts = [p.strip() for p in text.split("\n\n") if p.strip()]
    return parts[1] if len(parts) > 1 else None


def _last_user(frames: list[re.Match]) -> Optional[str]:
    for match in reversed(frames):
        if is_user_file(match["file"]):
            return f"{match['file']}:{match['line']} in {match['func']}"
    return None


def _innermost_user_frame(exc: BaseException) -> Optional[str]:
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if is_user_file(frame.filename):
            found = f"{frame.filename}:{frame.lineno} in {frame.name}"
    return found


def _trimmed_traceback(exc: BaseException) -> str:
    """Python's traceback text for `exc` without the frames of ckptlint itself."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not os.path.abspath(f.filename).startswith(_CKPTLINT_DIR + os.sep)]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    # TF's graph errors repeat the op's creation stack inside the message: drop ckptlint's frames there too
    message = "".join(traceback.format_exception_only(type(exc), exc))
    kept = [line for line in message.splitlines(keepends=True)
            if not ((frame := _FRAME.match(line)) and os.path.abspath(frame["file"]).startswith(_CKPTLINT_DIR + os.sep))]
    return "".join(lines + kept).rstrip()


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _short(where: str) -> str:
    """`/abs/path/train.py:57 in step` -> `train.py:57 in step` when under the working directory."""
    path, sep, rest = where.partition(":")
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = path
    return (rel if not rel.startswith("..") else path) + sep + rest
