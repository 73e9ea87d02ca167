"""Project-wide facts: the per-file summaries of project rules, joined after the pool has run.

A save in train.py and a restore in evaluate.py can only be compared here. Summaries are small,
picklable dataclasses defined by the rule that needs them; this module only carries them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass
class ProjectFacts:
    summaries: dict[str, object]  # display path -> the rule's summary of that file

    def items(self) -> Iterator[tuple[str, object]]:
        return iter(sorted(self.summaries.items()))
