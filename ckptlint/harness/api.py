"""The Python API: `verify()` and `assert_resumes()` (what the CLI and the pytest plugin call)."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

from ckptlint.harness.matrix import MatrixReport
from ckptlint.harness.runner import DEFAULT_TIMEOUT, VerifyOptions, run
from ckptlint.harness.verdict import Report


def verify(
    target: Union[str, Callable[..., Any]],
    *,
    steps: int = 5,
    method: Optional[str] = None,
    atol: float = 0.0,
    rtol: float = 0.0,
    strategy: Optional[str] = None,
    workdir: Optional[str] = None,
    progress: Optional[Callable[[str], None]] = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_rng: bool = False,
) -> Union[Report, MatrixReport]:
    """Prove (or refute) that saving after `steps` steps and restoring in a fresh process resumes exactly.

    target: "path/to/train.py:make_setup", "package.module:make_setup", or a module-level factory.
    method: None (the Setup's own save/restore if it has them, else "checkpoint"), a built-in method name,
    or "all" (returns a MatrixReport). timeout: seconds one phase of the user's code may take.
    allow_rng: a divergence explained by random-number state alone does not fail.
    Raises CkptlintError for a bad target or arguments; failures of the user's code during a phase come
    back as a Report with verdict "error". The user's code runs in child processes, never in the caller's.
    """
    opts = VerifyOptions(steps=steps, method=method, atol=atol, rtol=rtol, strategy=strategy, workdir=workdir,
                         timeout=timeout, allow_rng=allow_rng)
    return run(target, opts, progress)


def assert_resumes(
    make_setup: Union[str, Callable[..., Any]],
    *,
    steps: int = 3,
    method: Optional[str] = None,
    atol: float = 0.0,
    rtol: float = 0.0,
    strategy: Optional[str] = None,
    workdir: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_rng: bool = False,
) -> Union[Report, MatrixReport]:
    """verify(), raising AssertionError with the readable report unless the verdict is "pass"."""
    report = verify(make_setup, steps=steps, method=method, atol=atol, rtol=rtol, strategy=strategy,
                    workdir=workdir, timeout=timeout, allow_rng=allow_rng)
    if report.verdict != "pass":
        raise AssertionError("checkpoint resume check failed:\n" + report.to_text())
    return report
