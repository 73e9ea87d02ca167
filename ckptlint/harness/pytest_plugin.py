"""pytest plugin (entry point `pytest11: ckptlint`): the `ckpt_resume` and `ckpt_resume_command` fixtures.

    def test_resume_is_exact(ckpt_resume):
        ckpt_resume("train.py:make_setup", steps=3)          # or a module-level factory callable

    def test_my_script_resumes(ckpt_resume_command):        # black-box: your own command, unchanged
        ckpt_resume_command(["python", "train.py", "--out", "{out}"])   # paths relative to this test file


A relative path target is resolved against the requesting test file's directory (as an import next to
the test would be), not against wherever pytest was started. The fixture calls
`ckptlint.harness.assert_resumes` with a fresh temporary directory per call (so it is safe under
pytest-xdist) and fails the test with the readable report. This module is imported by every pytest run
in an environment where ckptlint is installed, so it imports nothing heavy: TensorFlow is only imported
by the child processes a verification starts.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import pytest


def resolve_target(target: Any, test_dir: str) -> Any:
    """'train.py:make_setup' -> '<test_dir>/train.py:make_setup' when that file exists next to the test."""
    if not isinstance(target, str) or ":" not in target:
        return target
    where, _, attr = target.rpartition(":")
    if not (where.endswith(".py") or "/" in where or os.sep in where) or os.path.isabs(where):
        return target
    beside = os.path.join(test_dir, where)
    return f"{beside}:{attr}" if os.path.isfile(beside) else target


@pytest.fixture
def ckpt_resume(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Returns `check(make_setup, steps=3, method=None, atol=0.0, rtol=0.0, strategy=None, ...) -> Report`."""
    test_dir = os.path.dirname(str(request.path))

    def check(make_setup: Any, **kwargs: Any) -> Any:
        from ckptlint.harness.api import assert_resumes

        kwargs.setdefault("workdir", str(tmp_path_factory.mktemp("ckptlint-verify")))
        __tracebackhide__ = True
        return assert_resumes(resolve_target(make_setup, test_dir), **kwargs)

    return check


@pytest.fixture
def ckpt_resume_command(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Returns `check(command, **options) -> BlackboxReport`, raising AssertionError (with the report)
    unless the verdict is pass. Options are BlackboxOptions fields: kill_at, kill_in_save, signal,
    determinism_check, atol, rtol, timeout, allow ({"rng", "data-order"})."""

    def check(command: Any, **options: Any) -> Any:
        import os

        from ckptlint.harness.blackbox.options import BlackboxOptions
        from ckptlint.harness.blackbox.runner import verify_command

        argv = [str(part) for part in command]
        if argv and argv[0] == "python":
            import sys

            argv[0] = sys.executable  # the interpreter running the tests, with its packages
        options.setdefault("workdir", str(tmp_path_factory.mktemp("ckptlint-blackbox")))
        if "allow" in options:
            options["allow"] = frozenset(options["allow"])
        opts = BlackboxOptions(command=argv, **options)
        __tracebackhide__ = True
        report = verify_command(opts, origin=os.path.dirname(str(request.path)))
        if report.verdict != "pass":
            raise AssertionError("checkpoint resume check failed:\n" + report.to_text())
        return report

    return check


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ckptlint: a checkpoint-resume verification (needs TensorFlow)")
