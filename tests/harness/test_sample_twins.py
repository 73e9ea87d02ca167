"""The runtime half of every sample project: `ckptlint verify` on real TensorFlow fails the buggy twin
for exactly the components its expected.json names, and passes the fixed twin."""

from __future__ import annotations

import pytest
from samples import entry_point, harness_twins  # noqa: E402

from ckptlint.harness import verify  # noqa: E402


@pytest.mark.parametrize(("project", "twin", "expected"), harness_twins(), ids=lambda v: v if isinstance(v, str) else "")
def test_twin_resumes_as_expected(project, twin, expected, tmp_path):
    want = expected["harness"][twin]
    report = verify(entry_point(project, twin, expected), steps=expected.get("steps", 3), workdir=str(tmp_path))
    text = report.to_text()
    assert report.verdict == want["verdict"], text
    if want["verdict"] == "fail":
        assert report.lost_components() == set(want["lost"]), text
    if want["verdict"] == "error":
        assert report.error["phase"] == want["phase"], text
