"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers (`ckptlint check --format sarif`).

The log validates against the OASIS SARIF 2.1.0 (errata01) schema and follows GitHub's documented subset
("SARIF support for code scanning"):

- one run; `tool.driver` has `name`, `version` (and `semanticVersion` when the version is semver),
  `informationUri` and `rules`: EVERY known rule (engine codes CKPT000/CKPT001 included, off-by-default
  rules with `defaultConfiguration.enabled: false`), sorted by code, whether or not it fired, so an alert's
  help is there even for rules that fired only in an earlier upload;
- each rule has `id`, `name`, `shortDescription.text` (the summary), `fullDescription.text` (the first
  paragraph of the rule page), `help.text` and `help.markdown` (the rule page, as `ckptlint rule CODE`
  prints it), `defaultConfiguration.level` (error → error, warning → warning, info → note) and
  `properties.tags` (at most 10, GitHub's display limit) and `properties.precision`;
- each result has `ruleId`, `ruleIndex` (into `tool.driver.rules`), `level`, `message.text`, exactly one
  location (GitHub shows only the first) whose `artifactLocation.uri` is relative to the source root,
  with forward slashes and percent-encoding, `uriBaseId: "%SRCROOT%"`, and a `region` with
  `startLine`, `startColumn`, `endLine`, `endColumn` (1-based; `endColumn` is one past the last character;
  `run.columnKind` is `unicodeCodePoints`, which is what Python string offsets count);
- `relatedLocations` (with `id` 1..n and a message) for the finding's related places; GitHub shows them
  only when the result message links to them, so the message ends with SARIF embedded links
  `(see [text](1), [text](2))`, and then `[`, `]` and `\\` in the message are escaped with `\\`;
- `partialFingerprints.primaryLocationLineHash`: `<16 hex digits>:<n>`, a SHA-256 of the rule code, the
  file's URI and the source line with whitespace collapsed, and n, the occurrence of that same triple in
  the file (1, 2, ...). Moving code up or down, or re-indenting it, keeps the fingerprint, so GitHub
  keeps tracking one alert instead of closing it and opening a new one.

The source root (`%SRCROOT%`) is the git repository root: GitHub reads relative URIs as relative to the
root of the repository, whatever directory ckptlint ran in, and ignores `originalUriBaseIds`, which is
therefore not written (as CodeQL does not). Outside a git checkout the root is the working directory.
Paths are made relative to it (absolute ones too); a file outside it gets an absolute `file://` URI without
`uriBaseId`. Notebook findings point at the .ipynb file (region line 1:
their line is relative to a cell, not to the notebook's JSON); the message starts with
`cell N, line L, column C:` and `properties` carries `notebookCell`, `cellLine`, `cellColumn`.
Notices about files skipped on purpose are `invocations[0].toolExecutionNotifications`. `statistics` is
ignored: code scanning needs the results.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from ckptlint import __version__
from ckptlint.lint.findings import Finding, LintResult, Location, Severity
from ckptlint.lint.rule import RuleRecord
from ckptlint.report._rules import RuleHelp

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FALLBACK_INFORMATION_URI = "https://pypi.org/project/ckptlint/"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
PRECISION = {Severity.ERROR: "high", Severity.WARNING: "medium", Severity.INFO: "low"}
MAX_TAGS = 10
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def information_uri() -> str:
    """The project's home page from the installed metadata, or its PyPI page."""
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        meta = metadata("ckptlint")
    except (ImportError, PackageNotFoundError):  # pragma: no cover - running from a bare checkout
        return FALLBACK_INFORMATION_URI
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in {"homepage", "home", "repository", "source", "documentation"} and url.strip():
            return url.strip()
    home = meta["Home-page"] if "Home-page" in meta else None
    return home.strip() if home and home.strip().lower() not in {"", "unknown"} else FALLBACK_INFORMATION_URI


def source_root(cwd: str) -> str:
    """The root GitHub resolves relative URIs against: the repository root, i.e. the nearest directory at
    or above the working directory holding `.git` (a directory, or a file in a worktree); outside a git
    checkout, the working directory itself."""
    here = Path(cwd)
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return str(directory)
    return str(here)


def artifact_location(path: str, cwd: str | None = None, root: str | None = None) -> dict:
    """A forward-slash, percent-encoded URI relative to the source root (`uriBaseId: %SRCROOT%`); a file
    outside the root gets an absolute `file://` URI and no base."""
    cwd = cwd or os.getcwd()
    root = root or source_root(cwd)
    # Backslashes are Windows separators (a finding cached or produced on Windows), also on POSIX.
    absolute = os.path.normpath(os.path.join(cwd, path.replace("\\", "/")))
    rel = None
    if os.path.splitdrive(absolute)[0].lower() == os.path.splitdrive(root)[0].lower():
        rel = os.path.relpath(absolute, root)
    if rel is None or rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return {"uri": Path(absolute).as_uri()}
    posix = PurePosixPath(*Path(rel).parts).as_posix()
    # A file name that is not UTF-8 holds surrogates (surrogateescape): its bytes are percent-encoded.
    return {"uri": quote(posix.encode("utf-8", "surrogateescape"), safe="/"), "uriBaseId": SRCROOT}


def _region(loc: Location) -> dict:
    if loc.cell is not None:
        return {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
    line = max(loc.line, 1)
    col = max(loc.col, 1)
    end_line = max(loc.end_line, line)
    end_col = max(loc.end_col, 1) if end_line > line else max(loc.end_col, col)
    return {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col}


def _cell_prefix(loc: Location) -> str:
    return f"cell {loc.cell}, line {loc.line}, column {loc.col}: " if loc.cell is not None else ""


def _physical(loc: Location, cwd: str, root: str) -> dict:
    return {"artifactLocation": artifact_location(loc.path, cwd, root), "region": _region(loc)}


def _cell_properties(loc: Location) -> dict:
    return {"notebookCell": loc.cell, "cellLine": loc.line, "cellColumn": loc.col}


def escape_link_text(text: str) -> str:
    """SARIF §3.11.6: in a message with embedded links, literal brackets and backslashes are escaped."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def line_hash(code: str, uri: str, source_line: str) -> str:
    normalized = " ".join(source_line.split())
    return hashlib.sha256(f"{code}\0{uri}\0{normalized}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _precision_category(info: RuleRecord) -> str:
    """SARIF's precision category: from the measured precision on real code when the rule has one
    ("0.93 (...)"), else from the engine/severity."""
    if info.engine:
        return "very-high"
    try:
        measured = float((info.precision or "").split()[0])
    except (ValueError, IndexError):
        return PRECISION[Severity(info.severity)]
    return "very-high" if measured >= 0.97 else "high" if measured >= 0.9 else "medium" if measured >= 0.75 else "low"


def _descriptor(help_: RuleHelp) -> dict:
    info = help_.record
    severity = Severity(info.severity)
    # Tags are what GitHub lets users filter alerts by; not "security" (these are correctness findings,
    # and that tag would make GitHub expect a security-severity).
    tags = ["checkpoint", "correctness"] + (["ckptlint-engine"] if info.engine else [])
    if info.fix_safety:
        tags.append(f"autofix-{info.fix_safety.value}")
    if not info.default_enabled:
        tags.append("off-by-default")
    descriptor = {
        "id": info.code,
        "name": info.name,
        "shortDescription": {"text": info.summary or info.name},
        "fullDescription": {"text": help_.description or info.summary or info.name},
        "help": {"text": help_.page, "markdown": help_.page},
        "defaultConfiguration": {"level": LEVEL[severity], "enabled": bool(info.default_enabled)},
        "properties": {
            "tags": tags[:MAX_TAGS],
            "precision": _precision_category(info),
        },
    }
    return descriptor


def _result(f: Finding, index: int, fingerprint: str, cwd: str, root: str) -> dict:
    loc = f.location
    message = _cell_prefix(loc) + (f.message or f.code)
    related_locations = []
    if f.related:
        links = []
        for number, related in enumerate(f.related, start=1):
            rel_text = _cell_prefix(related.location) + (related.message or "related location")
            entry: dict = {
                "id": number,
                "physicalLocation": _physical(related.location, cwd, root),
                "message": {"text": rel_text},
            }
            if related.location.cell is not None:
                entry["properties"] = _cell_properties(related.location)
            related_locations.append(entry)
            links.append(f"[{escape_link_text(rel_text)}]({number})")
        message = f"{escape_link_text(message)} (see {', '.join(links)})"
    result: dict = {
        "ruleId": f.code,
        "ruleIndex": index,
        "level": LEVEL[Severity(f.severity)],
        "message": {"text": message},
        "locations": [{"physicalLocation": _physical(loc, cwd, root)}],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint},
    }
    if related_locations:
        result["relatedLocations"] = related_locations
    properties: dict = {"fixable": bool(f.fixable)}
    if loc.cell is not None:
        properties.update(_cell_properties(loc))
    result["properties"] = properties
    return result


def sarif_log(result: LintResult, cwd: str | None = None) -> dict:
    """The SARIF log as a dict (render_sarif serializes it)."""
    from ckptlint.report._rules import help_table, unknown_rule

    cwd = cwd or os.getcwd()
    root = source_root(cwd)
    table = help_table()
    for f in result.findings:  # a code the registry no longer knows still gets a descriptor
        if f.code not in table:
            table[f.code] = unknown_rule(f.code, Severity(f.severity))
    codes = sorted(table)
    index = {code: i for i, code in enumerate(codes)}

    seen: dict[str, int] = {}
    results = []
    for f in result.findings:
        uri = artifact_location(f.location.path, cwd, root)["uri"]
        digest = line_hash(f.code, uri, f.source_line)
        seen[digest] = seen.get(digest, 0) + 1
        results.append(_result(f, index[f.code], f"{digest}:{seen[digest]}", cwd, root))

    driver: dict = {
        "name": "ckptlint",
        "version": __version__,
        "informationUri": information_uri(),
        "rules": [_descriptor(table[code]) for code in codes],
    }
    if _SEMVER.match(__version__):
        driver["semanticVersion"] = __version__
    invocation: dict = {"executionSuccessful": True}
    if result.notices:
        invocation["toolExecutionNotifications"] = [{"level": "note", "message": {"text": n}} for n in result.notices]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"filesChecked": result.files_checked},
            }
        ],
    }


def render_sarif(result: LintResult) -> str:
    return json.dumps(sarif_log(result), indent=2) + "\n"
