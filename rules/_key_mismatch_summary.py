"""CKPT203's per-file summary, in a module of its own: summaries are unpickled from the cache on every
warm run, and unpickling imports the module that defines their classes. Kept free of libcst (the rule
module imports it), a warm run that finds the project pass cached never loads it."""

from __future__ import annotations

import re

from dataclasses import dataclass, field

from ckptlint.lint.findings import Location


@dataclass(frozen=True)
class Place:
    """Where a checkpoint is written or read: a directory and, when known, the file-name stem
    (`ckpt` for `ckpt-3` and for a manager's default `checkpoint_name`). A stem of None is "the latest
    checkpoint in this directory", whatever its name."""

    directory: str
    stem: str | None

    def matches(self, other: Place) -> bool:
        from ckptlint.model.paths import normalize

        if normalize(self.directory) != normalize(other.directory):
            return False
        return self.stem is None or other.stem is None or self.stem == other.stem

    def display(self) -> str:
        # A run-time part (`\x02directory#...\x02`) is shown as `<directory>`.
        directory = re.sub("\x02([^#\x02]*)#[^\x02]*\x02", r"<\1>", self.directory)
        return f"{directory}/{self.stem}" if self.stem else f"{directory}/"


@dataclass(frozen=True)
class Use:
    """A write or restore in the per-file summary (picklable: a Location instead of a node)."""

    kind: str
    place: Place
    keys: frozenset[str]
    location: Location
    partial: bool = False


@dataclass
class Summary:
    constants: dict[str, str] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)
