"""Project-wide facts: the per-file summaries of project rules, joined after the pool has run.

A save in train.py and a restore in evaluate.py can only be compared here. Summaries are small,
picklable dataclasses defined by the rule that needs them; this module only carries them.

When ckptlint is given some files of a project (a pre-commit hook passes the staged ones), the
summaries of the project's other files are joined too, so that a pair with one side staged is still
compared; `scope` then names the files a finding may be reported in (ckptlint.lint.context)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass
class ProjectFacts:
    summaries: dict[str, object]  # display path -> the rule's summary of that file
    scope: frozenset[str] | None = None  # the display paths findings may land in; None: every file

    def items(self) -> Iterator[tuple[str, object]]:
        return iter(sorted(self.summaries.items()))

    def in_scope(self, path: str) -> bool:
        """Whether a finding may be reported in `path` (a file the user asked about)."""
        return self.scope is None or path in self.scope
