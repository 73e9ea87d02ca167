"""pytest plugin (entry point `pytest11: ckptlint`): the `ckpt_resume` fixture.

    def test_resume_is_exact(ckpt_resume):
        ckpt_resume("train.py:make_setup", steps=3)          # or a module-level factory callable

The fixture calls `ckptlint.harness.assert_resumes` with a fresh temporary directory per call (so it is
safe under pytest-xdist) and fails the test with the readable report. This module is imported by every
pytest run in an environment where ckptlint is installed, so it imports nothing heavy: TensorFlow is only
imported when the fixture is called.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest


@pytest.fixture
def ckpt_resume(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Returns `check(make_setup, steps=3, method=None, atol=0.0, rtol=0.0, strategy=None) -> Report`."""

    def check(make_setup: Any, **kwargs: Any) -> Any:
        from ckptlint.harness.api import assert_resumes

        kwargs.setdefault("workdir", str(tmp_path_factory.mktemp("ckptlint-verify")))
        __tracebackhide__ = True
        return assert_resumes(make_setup, **kwargs)

    return check


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ckptlint: a checkpoint-resume verification (needs TensorFlow)")
