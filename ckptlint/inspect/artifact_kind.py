"""Decide what kind of artifact a path is, and which file to read, without any heavy import.

Directories are resolved the way TensorFlow resolves them (the `checkpoint` state file names the latest
prefix), but a stale state file is an error rather than a silent fallback: the user must know which
checkpoint they are looking at. A directory that is none of TF's is an Orbax checkpoint when it holds
Orbax's metadata files or step directories. The state file is untrusted text: it is read up to a size limit, its
escapes are decoded strictly, and the path it names is checked before the file system sees it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ckptlint.errors import CkptlintError
from ckptlint.inspect.limits import DEFAULT_LIMITS, Limits
from ckptlint.inspect.orbax_dir import is_orbax_file_name, looks_like_orbax
from ckptlint.inspect.safe_io import check_path_text, is_directory, is_regular_file, open_regular, read_limited

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_DATA_SHARD = re.compile(r"^(?P<prefix>.+)\.data-[0-9]{5}-of-[0-9]{5}$")
# One line of the text-format CheckpointState proto; [ \t], not \s, so a match never spans lines.
_STATE_KEY = re.compile(r"^[ \t]*model_checkpoint_path[ \t]*:")
_STATE_LINE = re.compile(r'^[ \t]*model_checkpoint_path[ \t]*:[ \t]*"(?P<path>(?:[^"\\]|\\.)*)"[ \t]*$')
_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34, "?": 63}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


@dataclass(frozen=True)
class Located:
    """The artifact kind ("tf-checkpoint", "savedmodel", "keras", "h5", "orbax") and the file, prefix or
    directory to read."""

    kind: str
    read_path: str


def unescape_text_proto(text: str) -> bytes:
    """Decode a text-format proto string body (C escapes: \\n, \\", \\ooo octal, \\xhh) to bytes.

    TF writes the state file with protobuf's text format, which escapes non-ASCII bytes as octal.
    Raises ValueError for an escape protobuf would reject instead of guessing."""
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "\\":
            out += ch.encode("utf-8")
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("the string ends with a lone backslash")
        esc = text[i + 1]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif esc in _OCTAL:
            j = i + 1
            while j < n and j < i + 4 and text[j] in _OCTAL:
                j += 1
            value = int(text[i + 1 : j], 8)
            if value > 255:
                raise ValueError(f"octal escape \\{text[i + 1:j]} is out of range")
            out.append(value)
            i = j
        elif esc == "x":
            j = i + 2
            while j < n and j < i + 4 and text[j] in _HEX:
                j += 1
            if j == i + 2:
                raise ValueError("\\x escape without hex digits")
            out.append(int(text[i + 2 : j], 16))
            i = j
        else:
            raise ValueError(f"unknown escape \\{esc}")
    return bytes(out)


def _magic(path: Path) -> bytes:
    with open_regular(path) as fh:
        try:
            return fh.read(8) or b""
        except OSError as exc:
            raise CkptlintError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _has_prefix(prefix: Path | str) -> bool:
    return is_regular_file(f"{prefix}.index")


def _from_state_file(directory: Path, limits: Limits) -> Located:
    state = directory / "checkpoint"
    raw = read_limited(state, limits.max_state_file_bytes, f"{state}: checkpoint state file")
    text = raw.decode("utf-8", errors="replace")
    line = next((ln for ln in text.splitlines() if _STATE_KEY.match(ln)), None)
    if line is None:
        raise CkptlintError(f"{state}: not a checkpoint state file (no model_checkpoint_path line)")
    if len(line) > 4 * limits.max_path_chars + 100:  # checked before the regex walks it
        raise CkptlintError(f"{state}: the checkpoint path it names is {len(line):,} characters long "
                            f"(limit {limits.max_path_chars:,})")
    match = _STATE_LINE.match(line)
    if not match:
        raise CkptlintError(f"{state}: not a checkpoint state file (model_checkpoint_path is not a quoted string)")
    escaped = match.group("path")
    try:
        named = unescape_text_proto(escaped).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CkptlintError(f"{state}: bad model_checkpoint_path string ({exc})") from None
    check_path_text(named, limits.max_path_chars, f"{state}: model_checkpoint_path")
    prefix = Path(named) if Path(named).is_absolute() else directory / named
    if not _has_prefix(prefix):
        raise CkptlintError(
            f"{state}: stale checkpoint state file: it names {named!r}, but {prefix}.index does not exist"
        )
    return Located("tf-checkpoint", str(prefix))


def _from_directory(directory: Path, limits: Limits) -> Located:
    if is_regular_file(directory / "saved_model.pb") or _has_prefix(directory / "variables" / "variables"):
        prefix = directory / "variables" / "variables"
        if not _has_prefix(prefix):
            raise CkptlintError(f"{directory}: SavedModel directory without variables/variables.index")
        return Located("savedmodel", str(prefix))
    if is_regular_file(directory / "checkpoint"):
        return _from_state_file(directory, limits)
    try:
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        raise CkptlintError(f"{directory}: cannot list the directory: {exc.strerror or exc}") from None
    if not entries:
        raise CkptlintError(f"{directory}: empty directory")
    prefixes = sorted(name[: -len(".index")] for name in entries if name.endswith(".index"))
    if len(prefixes) == 1:
        return Located("tf-checkpoint", str(directory / prefixes[0]))
    if prefixes:
        raise CkptlintError(
            f"{directory}: no `checkpoint` state file and {len(prefixes)} checkpoints "
            f"({', '.join(prefixes[:5])}{', ...' if len(prefixes) > 5 else ''}); pass one prefix"
        )
    if looks_like_orbax(directory, entries):
        return Located("orbax", str(directory))
    raise CkptlintError(f"{directory}: no checkpoint, SavedModel, Orbax, .keras or .h5 artifact in this directory")


def locate(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Located:
    """Resolve PATH to an artifact kind and the file to read; raise CkptlintError for anything else."""
    check_path_text(str(path), limits.max_path_chars, str(path)[:200])
    p = Path(path)
    if is_directory(p):
        return _from_directory(p, limits)
    if is_regular_file(p):
        if p.suffix == ".index":
            return Located("tf-checkpoint", str(p.with_suffix("")))
        shard = _DATA_SHARD.match(p.name)
        if shard:
            prefix = p.with_name(shard.group("prefix"))
            if not _has_prefix(prefix):
                raise CkptlintError(f"{p}: checkpoint data shard without its {prefix.name}.index file")
            return Located("tf-checkpoint", str(prefix))
        if p.name == "checkpoint":
            return _from_state_file(p.parent, limits)
        if is_orbax_file_name(p.name):
            return Located("orbax", str(p.parent))
        magic = _magic(p)
        if magic.startswith(ZIP_MAGIC):
            return Located("keras", str(p))
        if magic == HDF5_MAGIC:
            return Located("h5", str(p))
        if not magic:
            raise CkptlintError(f"{p}: empty file")
        raise CkptlintError(
            f"{p}: not a checkpoint artifact (expected a TF checkpoint prefix, a SavedModel directory, "
            "a .keras archive, an HDF5 file or an Orbax checkpoint directory)"
        )
    if _has_prefix(p):
        return Located("tf-checkpoint", str(p))
    if os.path.lexists(p):
        raise CkptlintError(f"{p}: not a regular file or directory")
    raise CkptlintError(f"{p}: no such file, directory or checkpoint prefix")
