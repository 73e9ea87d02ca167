"""The rule catalogue (ckptlint.lint.catalogue): the metadata the engine reads instead of importing the rule
modules. It must be current, agree with the rule classes, and a stale one must fall back to them."""

from __future__ import annotations

import subprocess
import sys

from ckptlint.lint import catalogue


def test_the_generated_catalogue_is_current():
    assert catalogue.path().read_text(encoding="utf-8") == catalogue.generate(), (
        "rules/_catalogue.py is stale: regenerate it with `python -m ckptlint.lint.catalogue`"
    )


def test_the_catalogue_agrees_with_the_rule_classes():
    assert catalogue._stored() == catalogue.from_rule_classes()
    assert [e.code for e in catalogue.from_rule_classes()] == sorted(e.code for e in catalogue.from_rule_classes())


def test_the_rendered_rule_pages_are_current():
    for name, page in catalogue.rendered_pages().items():
        path = catalogue.docs_directory() / name
        assert path.is_file() and path.read_text(encoding="utf-8") == page, (
            f"docs/rules/{name} is stale: regenerate it with `python -m ckptlint.lint.catalogue`"
        )


def test_a_stale_catalogue_is_ignored(monkeypatch):
    monkeypatch.setattr(catalogue, "sources_digest", lambda: "edited since")
    assert catalogue._stored() is None
    catalogue.records.cache_clear()
    try:
        assert catalogue.records() == catalogue.live_records()
    finally:
        catalogue.records.cache_clear()


def test_checking_a_file_the_prefilter_drops_imports_no_libcst(tmp_path):
    """The common pre-commit case stays instant: no rule module, no libcst."""
    (tmp_path / "layers.py").write_text("import keras\n\nclass Block(keras.layers.Layer):\n    pass\n")
    probe = (
        "import sys\n"
        "from ckptlint.cli import main\n"
        "try:\n    main(['check', '--no-cache', 'layers.py'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('libcst', 'tensorflow', 'keras')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]"), out.stdout
    assert "All checks passed" in out.stdout
