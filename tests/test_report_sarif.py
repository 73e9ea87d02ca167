"""The SARIF reporter: schema validity (OASIS 2.1.0 errata01), GitHub code scanning's requirements,
every rule described, locations, related locations and stable fingerprints."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from ckptlint.lint import catalogue

from ckptlint import __version__
from ckptlint.lint.findings import Finding, LintResult, Location, Related, Severity
from ckptlint.report import render
from ckptlint.report.sarif import escape_link_text, line_hash, sarif_log
from ckptlint.lint.rule import Rule

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"


class FakeFixableRule(Rule):
    """## What it does
    Finds a checkpoint that leaves the optimizer out.

    ## Why is this bad?
    Adam's moments are lost."""

    code = "CKPT906"
    name = "fake-fixable-rule"
    severity = Severity.ERROR
    summary = "A checkpoint leaves the optimizer out."
    fix_safety = "safe"


class FakeOffRule(Rule):
    """Finds something rare."""

    code = "CKPT907"
    name = "fake-off-rule"
    severity = Severity.INFO
    summary = "An off-by-default rule."
    default_enabled = False


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA_PATH.is_file():
        pytest.fail(
            f"SARIF schema not found at {SCHEMA_PATH}: the test suite expects the shared/ directory "
            "(shared/schemas/sarif-schema-2.1.0.json) next to the repository checkout"
        )
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(autouse=True)
def in_a_repository(tmp_path, monkeypatch):
    """Every test runs at the root of a fresh git checkout (a `.git` marker is all the reporter looks for),
    so relative paths in findings map to known URIs whatever directory pytest was started in."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    return repo


@pytest.fixture
def fake_rules(monkeypatch):
    import ckptlint.lint.registry as registry

    monkeypatch.setattr(registry, "all_rules", lambda: (FakeFixableRule, FakeOffRule))
    # The reports read names from the catalogue: make it follow the fake registry.
    monkeypatch.setattr(catalogue, "records", catalogue.live_records)


def sarif(result: LintResult) -> dict:
    return json.loads(render(result, "sarif"))


def assert_valid(validator, log: dict) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def assert_github_subset(log: dict) -> None:
    """What GitHub code scanning documents as required or relied upon for uploads."""
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ckptlint" and driver["version"] == __version__
    assert urlsplit(driver["informationUri"]).scheme == "https"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
        assert 0 < len(rule["properties"]["tags"]) <= 10
        assert rule["properties"]["precision"] in {"very-high", "high", "medium", "low"}
        assert "security-severity" not in rule["properties"]  # correctness, not security
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in {"error", "warning", "note"}
        assert res["message"]["text"]
        assert len(res["locations"]) == 1
        for loc in res["locations"] + res.get("relatedLocations", []):
            physical = loc["physicalLocation"]
            uri = physical["artifactLocation"]["uri"]
            assert "\\" not in uri and " " not in uri
            if "uriBaseId" in physical["artifactLocation"]:
                assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
                assert not urlsplit(uri).scheme and not uri.startswith("/") and not uri.startswith("./")
            region = physical["region"]
            assert region["startLine"] >= 1 and region["startColumn"] >= 1
            assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])
        fingerprint = res["partialFingerprints"]["primaryLocationLineHash"]
        digest, _, occurrence = fingerprint.partition(":")
        assert len(digest) == 16 and int(digest, 16) >= 0 and int(occurrence) >= 1
        ids = [r["id"] for r in res.get("relatedLocations", [])]
        assert ids == list(range(1, len(ids) + 1))
        for number in ids:
            assert f"]({number})" in res["message"]["text"]


def f(code="CKPT906", message="the optimizer is not saved", severity=Severity.ERROR, path="src/train.py", line=3, col=9,
      end_line=None, end_col=None, source="ckpt = tf.train.Checkpoint(model=model)", cell=None, related=(), fixable=False):
    loc = Location(path, line, col, end_line or line, end_col or col + 10, cell)
    return Finding(code, message, severity, loc, source_line=source, related=tuple(related), fixable=fixable)


def test_schema_is_the_oasis_one(validator):
    assert validator.schema["id"].endswith("/errata01/os/schemas/sarif-schema-2.1.0.json")


def test_full_log_validates_and_meets_github_requirements(validator, fake_rules):
    result = LintResult(
        [
            f(related=(Related(Location("src/train.py", 1, 1, 1, 20), "optimizer [opt] created here"),), fixable=True),
            f("CKPT907", "info finding", Severity.INFO, path="nb/explore.ipynb", cell=2, line=4, col=3),
            f("CKPT000", "invalid syntax", path="broken.py", line=1, col=1, source="def (:"),
        ],
        files_checked=5,
        notices=["huge.py: skipped (4 MB is over the 1 MB limit)"],
    )
    log = sarif(result)
    assert_valid(validator, log)
    assert_github_subset(log)
    run = log["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["properties"] == {"filesChecked": 5}
    assert run["invocations"] == [
        {
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "note", "message": {"text": "huge.py: skipped (4 MB is over the 1 MB limit)"}}],
        }
    ]
    assert "originalUriBaseIds" not in run  # GitHub ignores it and resolves against the repository root


def test_empty_run_validates(validator, fake_rules):
    log = sarif(LintResult([], 0))
    assert_valid(validator, log)
    assert_github_subset(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]


def test_driver_rules_describe_fake_rules_and_engine_codes(fake_rules):
    rules = sarif(LintResult([], 0))["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["CKPT000", "CKPT001", "CKPT906", "CKPT907"]
    fixable, off = rules[2], rules[3]
    assert fixable == {
        "id": "CKPT906",
        "name": "fake-fixable-rule",
        "shortDescription": {"text": "A checkpoint leaves the optimizer out."},
        "fullDescription": {"text": "Finds a checkpoint that leaves the optimizer out."},
        "help": {"text": FakeFixableRule.page(), "markdown": FakeFixableRule.page()},
        "defaultConfiguration": {"level": "error", "enabled": True},
        "properties": {"tags": ["checkpoint", "correctness", "autofix-safe"], "precision": "high"},
    }
    assert off["defaultConfiguration"] == {"level": "note", "enabled": False}
    assert "off-by-default" in off["properties"]["tags"]
    assert rules[0]["name"] == "syntax-error" and rules[1]["name"] == "unreadable-file"
    assert rules[0]["defaultConfiguration"]["level"] == "error"
    assert rules[0]["properties"] == {"tags": ["checkpoint", "correctness", "ckptlint-engine"], "precision": "very-high"}


def test_every_registered_rule_is_in_the_driver(validator):
    """The real registry: whatever rules ship, each one is described, with its page as help."""
    from ckptlint.lint.catalogue import ENGINE_CODES
    from ckptlint.lint.registry import all_rules

    log = sarif(LintResult([], 0))
    assert_valid(validator, log)
    assert_github_subset(log)
    by_id = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert set(by_id) == {r.code for r in all_rules()} | set(ENGINE_CODES)
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    for rule in all_rules():
        d = by_id[rule.code]
        assert d["name"] == rule.name
        assert d["help"]["markdown"] == rule.page() and d["help"]["text"] == rule.page()
        assert d["shortDescription"]["text"] == rule.summary
        assert d["defaultConfiguration"] == {"level": level[Severity(rule.severity)], "enabled": rule.default_enabled}
        assert not d["fullDescription"]["text"].startswith("#")


def test_result_fields(fake_rules):
    log = sarif(LintResult([f(severity=Severity.WARNING, end_line=4, end_col=2, fixable=True)], 1))
    (res,) = log["runs"][0]["results"]
    assert res["ruleId"] == "CKPT906" and res["ruleIndex"] == 2
    assert res["level"] == "warning"  # the finding's severity (after config), not the rule default
    assert res["message"] == {"text": "the optimizer is not saved"}
    assert res["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "src/train.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 3, "startColumn": 9, "endLine": 4, "endColumn": 2},
            }
        }
    ]
    assert res["properties"] == {"fixable": True}
    assert "relatedLocations" not in res


def test_related_locations_are_linked_from_the_message(fake_rules, validator):
    related = (
        Related(Location("src/train.py", 1, 1, 1, 20), "optimizer created here"),
        Related(Location("src/eval.py", 7, 5, 7, 9), "restored with model[0]"),
    )
    log = sarif(LintResult([f(message="state [x] is lost", related=related)], 2))
    assert_valid(validator, log)
    (res,) = log["runs"][0]["results"]
    assert res["message"]["text"] == (
        "state \\[x\\] is lost (see [optimizer created here](1), [restored with model\\[0\\]](2))"
    )
    assert res["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "src/train.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 20},
            },
            "message": {"text": "optimizer created here"},
        },
        {
            "id": 2,
            "physicalLocation": {
                "artifactLocation": {"uri": "src/eval.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 7, "startColumn": 5, "endLine": 7, "endColumn": 9},
            },
            "message": {"text": "restored with model[0]"},
        },
    ]
    assert escape_link_text("a\\b[c]") == "a\\\\b\\[c\\]"


def test_notebook_findings_point_at_the_file_and_name_the_cell(fake_rules, validator):
    log = sarif(LintResult([f(path="nb/train.ipynb", cell=3, line=2, col=5)], 1))
    assert_valid(validator, log)
    (res,) = log["runs"][0]["results"]
    assert res["message"]["text"] == "cell 3, line 2, column 5: the optimizer is not saved"
    physical = res["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "nb/train.ipynb", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
    assert res["properties"] == {"fixable": False, "notebookCell": 3, "cellLine": 2, "cellColumn": 5}


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("src/train.py", "src/train.py"),
        ("./src/train.py", "src/train.py"),
        ("src\\models\\gan.py", "src/models/gan.py"),
        ("my project/train #2.py", "my%20project/train%20%232.py"),
        ("données/é.py", "donn%C3%A9es/%C3%A9.py"),
        ("c:weird.py", "c%3Aweird.py"),
    ],
)
def test_relative_uris(fake_rules, path, uri):
    log = sarif(LintResult([f(path=path)], 1))
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": uri,
        "uriBaseId": "%SRCROOT%",
    }


def test_uris_are_relative_to_the_repository_root_from_any_directory(fake_rules, in_a_repository, monkeypatch, validator):
    (in_a_repository / "pkg" / "sub").mkdir(parents=True)
    monkeypatch.chdir(in_a_repository / "pkg")
    outside = in_a_repository.parent / "elsewhere.py"
    findings = [
        f(path="sub/train.py"),  # relative to the working directory, as the engine reports it
        f(path=str(in_a_repository / "pkg" / "model.py")),  # absolute, inside the repository
        f(path="../top.py"),  # relative, above the working directory but inside the repository
        f(path=str(outside)),  # outside the repository: nothing to relate it to
    ]
    log = sarif(LintResult(findings, 4))
    assert_valid(validator, log)
    assert_github_subset(log)
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]]
    assert locations == [
        {"uri": "pkg/sub/train.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "pkg/model.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "top.py", "uriBaseId": "%SRCROOT%"},
        {"uri": outside.as_uri()},
    ]


def test_fingerprints_do_not_depend_on_the_working_directory(fake_rules, in_a_repository, monkeypatch):
    (in_a_repository / "pkg").mkdir()
    at_root = fingerprints([f(path="pkg/train.py")])
    monkeypatch.chdir(in_a_repository / "pkg")
    assert fingerprints([f(path="train.py")]) == at_root


def test_outside_a_git_checkout_the_working_directory_is_the_root(fake_rules, tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    log = sarif(LintResult([f(path="a/b.py")], 1))
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "a/b.py",
        "uriBaseId": "%SRCROOT%",
    }


def fingerprints(findings: list[Finding]) -> list[str]:
    log = sarif_log(LintResult(findings, 1), cwd=os.getcwd())
    return [r["partialFingerprints"]["primaryLocationLineHash"] for r in log["runs"][0]["results"]]


def test_fingerprint_survives_moving_and_reindenting_the_line(fake_rules):
    before = fingerprints([f(line=3, col=1, source="ckpt = tf.train.Checkpoint(model=model)")])
    moved = fingerprints([f(line=40, col=1, source="ckpt = tf.train.Checkpoint(model=model)")])
    reindented = fingerprints([f(line=12, col=9, source="        ckpt  =  tf.train.Checkpoint(model=model)\r\n")])
    assert before == moved == reindented
    assert before[0].endswith(":1")


def test_fingerprint_changes_with_code_path_or_line_text(fake_rules):
    base = fingerprints([f()])[0]
    assert fingerprints([f(code="CKPT907")])[0] != base
    assert fingerprints([f(path="src/other.py")])[0] != base
    assert fingerprints([f(source="ckpt = tf.train.Checkpoint(model=model, optimizer=opt)")])[0] != base
    digest = line_hash("CKPT906", "src/train.py", "ckpt = tf.train.Checkpoint(model=model)")
    assert base == f"{digest}:1"


def test_identical_lines_get_occurrence_numbers_that_follow_the_code(fake_rules):
    same = "opt = tf.keras.optimizers.Adam()"
    prints = fingerprints([f(line=2, source=same), f(line=9, source="other()"), f(line=20, source=same)])
    assert prints[0].split(":")[0] == prints[2].split(":")[0]
    assert [p.split(":")[1] for p in prints] == ["1", "1", "2"]
    # Insert ten lines above both: nothing changes.
    shifted = fingerprints([f(line=12, source=same), f(line=19, source="other()"), f(line=30, source=same)])
    assert shifted == prints
    # The occurrence counts per file: the same line in another file starts again at 1.
    other_file = fingerprints([f(line=2, source=same), f(path="src/b.py", line=2, source=same)])
    assert [p.split(":")[1] for p in other_file] == ["1", "1"]


def test_unknown_code_still_gets_a_descriptor(fake_rules, validator):
    log = sarif(LintResult([f(code="CKPT998")], 1))
    assert_valid(validator, log)
    assert_github_subset(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[log["runs"][0]["results"][0]["ruleIndex"]]["id"] == "CKPT998"


def test_output_is_ascii_json_and_statistics_do_not_apply(fake_rules):
    result = LintResult([f(message="Gewichte ✓", path="é.py")], 1)
    out = render(result, "sarif")
    assert out.isascii() and out.endswith("}\n")
    assert json.loads(out)["runs"][0]["results"][0]["message"]["text"] == "Gewichte ✓"
    assert render(result, "sarif", statistics=True) == out


def test_the_validator_is_not_vacuous(fake_rules, validator):
    log = sarif(LintResult([f()], 1))
    res = log["runs"][0]["results"][0]
    res["level"] = "info"  # SARIF has no "info" level: it is "note"
    res["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0  # columns are 1-based
    paths = {tuple(e.absolute_path)[-1] for e in validator.iter_errors(log)}
    assert {"level", "startColumn"} <= paths
