"""`--plot PATH` for the black-box mode: U's and K-then-R's per-update curves, with the kill and resume
points. The curve is the loss where the program reports it (model.fit), else the weight checksum."""

from __future__ import annotations

import os

from ckptlint.errors import CkptlintError
from ckptlint.harness.blackbox.report import BlackboxReport


def write_plot(report: BlackboxReport, path: str) -> None:
    curves = report.outcome.curves
    if not curves or not curves.get("U"):
        raise CkptlintError(f"--plot: no per-update curves to plot (verdict {report.verdict})")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CkptlintError(f"--plot {path}: directory {directory} does not exist")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CkptlintError("--plot needs matplotlib: pip install 'ckptlint[plot]'") from None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, style, label in (("U", "o-", "U: uninterrupted"), ("K", "x-", "K: killed"),
                               ("R", "s--", "R: resumed")):
        points = curves.get(name) or []
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=label, markersize=4)
    kill = report.outcome.kill
    if kill and kill.get("n") is not None:
        ax.axvline(kill["n"] + 0.5, color="red", linestyle=":", label=f"kill after update {kill['n']}")
    if curves.get("resume_at") is not None:
        ax.axvline(curves["resume_at"] + 0.5, color="grey", linestyle="--",
                   label=f"resume from update {curves['resume_at']}")
    ax.set_xlabel("optimizer update")
    ax.set_ylabel(curves.get("quantity", "value"))
    ax.set_title(f"{report.command.display()[:70]}: {report.verdict}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
