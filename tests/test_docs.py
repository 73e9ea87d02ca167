"""The documentation stands on its own: every page a user can open (README.md, docs/, and each rule's page
as `ckptlint rule CODE` prints it) cites only files that exist in this repository, anchors that exist in
them, and public upstream issues written as owner/repo#N. Nothing points at notes that live outside the
repository or at this project's own issue tracker."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from samples import REPO

from ckptlint.lint import catalogue

# Words that only make sense with notes outside the repository.
# Names of notes and places outside the repository, spelled in parts so that this file does not name them.
_NOTES = "tf-" + "facts"
FORBIDDEN = (_NOTES, "failure-" + "modes", "/" + "work/", "../" + "shared", "work" + "/shared", "shared" + "/seeds")

# A path written relative to the repository root: it starts with one of the repository's top-level
# directories (ckptlint/, rules/, docs/, ...). Paths of other projects (keras `src/saving/...`) start
# elsewhere and are not checked.
_NOT_ROOMS = {"build", "dist", "__pycache__", ".git", ".venv"}
ROOMS = sorted(p.name for p in REPO.iterdir() if p.is_dir() and p.name not in _NOT_ROOMS
               and not p.name.endswith(".egg-info"))
PATH = re.compile(r"(?<![\w.\-/])((?:[\w.\-]+)(?:/[\w.\-*]+)+/?)(#[\w\-]+)?")
LINK = re.compile(r"\[[^\]\n]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
LINK_TARGET = re.compile(r"\]\([^)\s]+")
ISSUE = re.compile(r"#\d+")
QUALIFIED = re.compile(r"[\w.\-]+/[\w.\-]+$")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


@dataclass(frozen=True)
class Page:
    """A page as users read it, and the directory its relative links are relative to."""

    name: str
    text: str
    directory: Path


def pages() -> list[Page]:
    found = [Page("README.md", (REPO / "README.md").read_text(encoding="utf-8"), REPO)]
    for path in sorted((REPO / "docs").rglob("*.md")):
        found.append(Page(str(path.relative_to(REPO)), path.read_text(encoding="utf-8"), path.parent))
    # The rule pages as the rule modules render them now (docs/rules/ may lag until regenerated).
    for name, text in catalogue.rendered_pages().items():
        found.append(Page(f"ckptlint rule {name.removesuffix('.md')}", text, REPO / "docs" / "rules"))
    return found


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set(HTML_ANCHOR.findall(text))
    for heading in HEADING.findall(text):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        found.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return found


def _target_problem(target: Path, anchor: str | None) -> str | None:
    if "*" in target.name:
        return None if list(target.parent.glob(target.name)) else "matches no file"
    if not target.exists():
        return "does not exist"
    if anchor and target.suffix == ".md" and anchor not in anchors(target):
        return f"has no section #{anchor}"
    return None


def cited_paths(page: Page) -> list[tuple[str, str]]:
    """(citation, problem) for every repository path the page names that does not resolve."""
    problems = []
    text = LINK_TARGET.sub("](", page.text)  # link targets are relative to the page: broken_links checks them
    for match in PATH.finditer(text):
        path, anchor = match.group(1).rstrip("."), match.group(2)
        if path.split("/")[0] not in ROOMS:
            continue
        problem = _target_problem(REPO / path, anchor[1:] if anchor else None)
        if problem:
            problems.append((match.group(0), problem))
    return problems


def broken_links(page: Page) -> list[tuple[str, str]]:
    """(link, problem) for every relative Markdown link that does not resolve from the page's directory."""
    problems = []
    for target in LINK.findall(FENCE.sub("", page.text)):
        if re.match(r"[a-z][a-z0-9+.\-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        if not file_part:
            own = {github_slug(h) for h in HEADING.findall(FENCE.sub("", page.text))}
            problem = None if anchor in own else f"has no section #{anchor}"
        else:
            problem = _target_problem((page.directory / file_part).resolve(), anchor or None)
        if problem:
            problems.append((target, problem))
    return problems


def unqualified_issue_numbers(text: str) -> list[str]:
    """Every `#N` not written as owner/repo#N: this project's issues, or an upstream one missing its repo."""
    return [text[max(0, m.start() - 30):m.end()] for m in ISSUE.finditer(text)
            if not QUALIFIED.search(text[:m.start()])]


PAGES = pages()


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_cites_no_notes_outside_the_repository(page: Page):
    assert [word for word in FORBIDDEN if word in page.text] == []


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_cited_repository_paths_exist(page: Page):
    assert cited_paths(page) == []


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_relative_links_resolve(page: Page):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_issue_references_name_their_repository(page: Page):
    assert unqualified_issue_numbers(page.text) == []


def test_every_rule_page_points_into_the_framework_facts():
    """A rule's "why" is a measured framework behaviour: its page links the section that shows it."""
    for name, text in catalogue.rendered_pages().items():
        assert "docs/framework.md#" in text, f"{name} cites no section of docs/framework.md"


def _fact_keys() -> set[str]:
    """The fact keys benchmarks/framework_facts.py measures (the script imports no TensorFlow at load)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("framework_facts", REPO / "benchmarks" / "framework_facts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return set(module.FACTS_BY_KEY)


def test_framework_page_and_facts_script_name_the_same_facts():
    """Every "(fact `x`)" on docs/framework.md is measured by the script, and every measured fact is
    on the page: a claim without a measurement, or a measurement nobody reads, is a bug."""
    text = (REPO / "docs" / "framework.md").read_text(encoding="utf-8")
    in_prose = re.findall(r"facts?\s+`([a-z0-9\-]+)`", text)
    in_glance_table = re.findall(r"^\|.*\| `([a-z0-9\-]+)` \|$", text.split("## Object checkpoints")[0], re.M)
    cited = set(in_prose) | set(in_glance_table)
    assert cited == _fact_keys()


# The checker checks: each helper catches what it is there to catch.

def test_the_checks_catch_what_they_are_for(tmp_path: Path):
    page = Page("example", "see " + _NOTES + ".md row 2, docs/nowhere.md, docs/framework.md#no-such-section,"
                           " [a](missing.md), issue #" "16, tensorflow/tensorflow#74342, keras `src/x.py`",  # an unqualified number
                REPO / "docs")
    assert [word for word in FORBIDDEN if word in page.text] == [_NOTES]
    assert [citation for citation, _ in cited_paths(page)] == ["docs/nowhere.md", "docs/framework.md#no-such-section"]
    assert [link for link, _ in broken_links(page)] == ["missing.md"]
    assert len(unqualified_issue_numbers(page.text)) == 1


def test_github_slugs():
    assert github_slug("Save prefix and latest_checkpoint") == "save-prefix-and-latest_checkpoint"
    assert github_slug("The `.keras` file") == "the-keras-file"
    assert github_slug("Checkpoint: model only") == "checkpoint-model-only"
