"""`--plot PATH`: both loss curves with the resume point marked, and the per-step max weight difference."""

from __future__ import annotations

import math
import os

from ckptlint.errors import CkptlintError
from ckptlint.harness.verdict import Report


def write_plot(report: Report, path: str) -> None:
    """Write a PNG. matplotlib is imported here only (it is the optional [plot] extra)."""
    eq = report.equivalence
    if eq is None:
        raise CkptlintError(f"--plot: no loss curves to plot (verdict {report.verdict})")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CkptlintError("--plot needs matplotlib: pip install 'ckptlint[plot]'") from None
    steps_a = list(range(1, len(eq.loss_a) + 1))
    steps_b = list(range(1, len(eq.loss_b) + 1))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(steps_a, [losses[0] if losses else math.nan for losses in eq.loss_a], "o-", label="A: uninterrupted")
    top.plot(steps_b, [losses[0] if losses else math.nan for losses in eq.loss_b], "x--", label="B: saved + restored")
    for ax in (top, bottom):
        ax.axvline(report.steps + 0.5, color="grey", linestyle=":", label="resume" if ax is top else None)
    if eq.first_divergent_step is not None:
        top.axvline(eq.first_divergent_step, color="red", alpha=0.4, label="curves part")
    top.set_ylabel("loss")
    where, _, factory = report.target.rpartition(":")
    top.set_title(f"{os.path.basename(where)}:{factory} [{report.method}]: {report.verdict}")
    top.legend()
    diffs = [d if d is not None and math.isfinite(d) else math.nan for d in eq.weight_diff_per_step]
    bottom.plot(list(range(1, len(diffs) + 1)), diffs, "s-", color="tab:red")
    if any(d > 0 for d in diffs if not math.isnan(d)):
        bottom.set_yscale("symlog", linthresh=1e-8)
    bottom.set_ylabel("max |w_A - w_B|")
    bottom.set_xlabel("step")
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CkptlintError(f"--plot {path}: directory {directory} does not exist")
    fig.savefig(path, dpi=100)
    plt.close(fig)
