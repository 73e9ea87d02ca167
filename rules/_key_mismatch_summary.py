"""CKPT203's per-file summary, in a module of its own, free of libcst: the engine stores summaries in the
result cache as JSON (`to_data`) and rebuilds them (`from_data`, validated) only when the project pass
has to run again, so a warm run that finds the project pass cached never loads the rule."""

from __future__ import annotations

import re

from dataclasses import dataclass, field

import ckptlint.lint.serial as serial
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

    def to_data(self) -> list:
        return [self.directory, self.stem]

    @classmethod
    def from_data(cls, data) -> Place:
        items = serial.array(data)
        if len(items) != 2:
            raise serial.DataError("a place is [directory, stem]")
        return cls(serial.text(items[0]), serial.optional_text(items[1]))


@dataclass(frozen=True)
class Use:
    """A write or restore in the per-file summary (picklable: a Location instead of a node)."""

    kind: str
    place: Place
    keys: frozenset[str]
    location: Location
    partial: bool = False

    def to_data(self) -> dict:
        return {"kind": self.kind, "place": self.place.to_data(), "keys": sorted(self.keys),
                "location": self.location.to_data(), "partial": self.partial}

    @classmethod
    def from_data(cls, data) -> Use:
        item = serial.record(data, ("kind", "place", "keys", "location", "partial"))
        return cls(serial.text(item["kind"]), Place.from_data(item["place"]), frozenset(serial.texts(item["keys"])),
                   Location.from_data(item["location"]), serial.boolean(item["partial"]))


@dataclass
class Summary:
    constants: dict[str, str] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)

    def to_data(self) -> dict:
        return {"constants": dict(self.constants), "uses": [use.to_data() for use in self.uses]}

    @classmethod
    def from_data(cls, data) -> Summary:
        item = serial.record(data, ("constants", "uses"))
        constants = item["constants"]
        if type(constants) is not dict:
            raise serial.DataError("constants must be an object")
        return cls({serial.text(k): serial.text(v) for k, v in constants.items()},
                   [Use.from_data(use) for use in serial.array(item["uses"])])
