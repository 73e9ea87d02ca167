"""The inspector's contract on ~100 crafted and corrupt artifacts of every kind (tests/fuzz_artifacts.py).

For `ckptlint inspect` and `ckptlint diff` alike: exit code 0, 1 or 2; never a traceback; never a hang;
exit 2 always with exactly one `ckptlint: error:` line and nothing else on stderr. The commands run in a
fresh interpreter that forks one child per command (this pytest process may have imported TensorFlow,
which must not be forked). benchmarks/fuzz_inspect.py runs the same generator on thousands of inputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.tf

TESTS = Path(__file__).resolve().parents[1]

import fuzz_artifacts as fz  # noqa: E402

SEED, COUNT = 20240607, 100


def test_crafted_and_corrupt_artifacts_keep_the_exit_code_contract(art, tmp_path):
    cases = fz.generate(dict(art), tmp_path / "cases", seed=SEED, count=COUNT)
    assert len(cases) == COUNT and not fz.GENERATION_ERRORS
    assert {c.family for c in cases} == set(fz.FAMILIES)
    manifest, results = tmp_path / "manifest.json", tmp_path / "results.json"
    manifest.write_text(json.dumps({"cases": [asdict(c) for c in cases], "timeout": 30}))
    subprocess.run([sys.executable, str(TESTS / "fuzz_artifacts.py"), "run", str(manifest), str(results)],
                   check=True, timeout=600)
    outcomes = [fz.Outcome(**o) for o in json.loads(results.read_text())]
    assert len(outcomes) == 2 * COUNT
    failures = [(o.case, o.argv[0], fz.problems(o), o.stderr[-300:]) for o in outcomes if fz.problems(o)]
    assert failures == []
    # the generator exercises the whole contract: reports, findings/differences and clean errors
    assert {o.code for o in outcomes} == {0, 1, 2}
