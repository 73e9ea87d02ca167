"""Decide what kind of artifact a path is, and which file to read, without any heavy import.

Directories are resolved the way TensorFlow resolves them (the `checkpoint` state file names the latest
prefix), but a stale state file is an error rather than a silent fallback: the user must know which
checkpoint they are looking at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ckptlint.errors import CkptlintError

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_DATA_SHARD = re.compile(r"^(?P<prefix>.+)\.data-\d{5}-of-\d{5}$")
_STATE_LINE = re.compile(r'^\s*model_checkpoint_path\s*:\s*"(?P<path>(?:[^"\\]|\\.)*)"\s*$', re.MULTILINE)


@dataclass(frozen=True)
class Located:
    """The artifact kind ("tf-checkpoint", "savedmodel", "keras", "h5") and the file or prefix to read."""

    kind: str
    read_path: str


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(8)
    except OSError as exc:
        raise CkptlintError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _has_prefix(prefix: Path) -> bool:
    return Path(f"{prefix}.index").is_file()


def _from_state_file(directory: Path) -> Located:
    state = directory / "checkpoint"
    try:
        text = state.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CkptlintError(f"{state}: cannot read the checkpoint state file: {exc.strerror or exc}") from None
    match = _STATE_LINE.search(text)
    if not match:
        raise CkptlintError(f"{state}: not a checkpoint state file (no model_checkpoint_path line)")
    named = match.group("path").encode().decode("unicode_escape")
    prefix = Path(named) if Path(named).is_absolute() else directory / named
    if not _has_prefix(prefix):
        raise CkptlintError(
            f"{state}: stale checkpoint state file: it names {named!r}, but {prefix}.index does not exist"
        )
    return Located("tf-checkpoint", str(prefix))


def _from_directory(directory: Path) -> Located:
    if (directory / "saved_model.pb").is_file() or (directory / "variables" / "variables.index").is_file():
        prefix = directory / "variables" / "variables"
        if not _has_prefix(prefix):
            raise CkptlintError(f"{directory}: SavedModel directory without variables/variables.index")
        return Located("savedmodel", str(prefix))
    if (directory / "checkpoint").is_file():
        return _from_state_file(directory)
    entries = sorted(p.name for p in directory.iterdir())
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
    raise CkptlintError(f"{directory}: no checkpoint, SavedModel, .keras or .h5 artifact in this directory")


def locate(path: str | Path) -> Located:
    """Resolve PATH to an artifact kind and the file to read; raise CkptlintError for anything else."""
    p = Path(path)
    if p.is_dir():
        return _from_directory(p)
    if p.is_file():
        if p.suffix == ".index":
            return Located("tf-checkpoint", str(p.with_suffix("")))
        shard = _DATA_SHARD.match(p.name)
        if shard:
            prefix = p.with_name(shard.group("prefix"))
            if not _has_prefix(prefix):
                raise CkptlintError(f"{p}: checkpoint data shard without its {prefix.name}.index file")
            return Located("tf-checkpoint", str(prefix))
        if p.name == "checkpoint":
            return _from_state_file(p.parent)
        magic = _magic(p)
        if magic.startswith(ZIP_MAGIC):
            return Located("keras", str(p))
        if magic == HDF5_MAGIC:
            return Located("h5", str(p))
        if p.stat().st_size == 0:
            raise CkptlintError(f"{p}: empty file")
        raise CkptlintError(
            f"{p}: not a checkpoint artifact (expected a TF checkpoint prefix, a SavedModel directory, "
            "a .keras archive or an HDF5 file)"
        )
    if _has_prefix(p):
        return Located("tf-checkpoint", str(p))
    raise CkptlintError(f"{p}: no such file, directory or checkpoint prefix")
