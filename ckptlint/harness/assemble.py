"""Turn what the training process and the workers left on disk into one Report per method.

Pure NumPy over files: the supervising process never imports TensorFlow.

Which reading of the restored state is compared, component by component: the one taken right after the
restore when it holds as many variables as were saved (before the first step, so a forward pass cannot
move e.g. BatchNorm statistics); otherwise the one taken at the first update (probe.py), because the
variables were created after the restore: an unbuilt model, slots the optimizer builds on its first
update. Fresh values for those come from the cold start's first update. The data position of an iterator
that only exists once the first step ran is compared after that step, against the uninterrupted run
after the same step.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from ckptlint.harness.compare import Control, compare_runs, diff_restore
from ckptlint.harness.freshness import fresh_process_problem
from ckptlint.harness.primary import Outputs
from ckptlint.harness.snapshot import DATA, MODEL, Snapshot
from ckptlint.harness.verdict import Report


def _load(path: str) -> Optional[Snapshot]:
    return Snapshot.load(path) if os.path.exists(path + ".json") else None


def method_report(report: Report, method: str, out: Outputs, summary: dict[str, Any],
                  result: dict[str, Any], atol: float, rtol: float) -> Report:
    from ckptlint.harness.methods import METHODS

    if result.get("error"):
        report.error = result["error"]
        return report
    directory = out.method_dir(method)
    saved = Snapshot.load(os.path.join(directory, "saved"))
    initial = Snapshot.load(os.path.join(directory, "initial"))
    restored = Snapshot.load(os.path.join(directory, "restored"))
    final_b = Snapshot.load(os.path.join(directory, "final"))
    probe = _load(os.path.join(directory, "probe"))
    fresh = _load(out.fresh)
    fresh_probe = _load(out.fresh_probe)

    if fresh is not None:
        problem = fresh_process_problem(fresh, initial)
        if problem:
            report.error = {"phase": "factory (fresh process)", "message": problem, "where": None, "traceback": None}
            return report

    fit = summary.get("fit")
    k = result.get("resumed_from") if fit else None
    if fit:
        saved = _fit_expected(saved, k, fit["interrupted_at"], directory, fresh)
    view, reference, late = _restored_view(saved, initial, restored, probe, fresh, fresh_probe)
    notes = {c: ("the model was not built when restored: its variables were created by the first step "
                 "and are read at the first update" if saved.kinds.get(c) == "model"
                 else "created by the first update (as the optimizer does): read there") for c in late}
    expected = saved
    if DATA in saved.values and len(restored.values.get(DATA, {})) < len(saved.values[DATA]):
        expected = _data_after_first_step(saved, view, reference, notes, out, directory)
    report.components = diff_restore(expected, reference, view, METHODS[method].holds_kind,
                                     result.get("restore_errors", {}), created_after_restore=frozenset(late),
                                     unused=result.get("unused", []), notes=notes)
    b1 = summary["b1"][method]
    done = (k if k is not None else len(b1["losses"])) if fit else len(b1["losses"])
    report.equivalence = compare_runs(Snapshot.load(out.final_a), final_b, summary["losses_a"],
                                      b1["losses"][:done] + result["losses"],
                                      b1["weight_diffs"][:done] + result["weight_diffs"], atol, rtol)
    report.rng_carried = result.get("rng_carried")
    for c in report.components:
        if c.kind == "rng" and c.status != "restored" and "rng" not in report.lost_components():
            c.note = ("not counted: only process-wide random state moved (framework code draws from it too), "
                      "or the resumed run did not diverge")
    if fit:
        report.fit = {"updates_a": fit["updates_a"], "interrupted_at": fit["interrupted_at"], "resumed_from": k,
                      "updates_b": (k + len(result["losses"])) if k is not None else None,
                      "resumed_positions": [list(p) for p in result.get("positions", [])[:1]],
                      "positions_a": [list(p) for p in fit["positions_a"]]}
    return report


def _fit_expected(saved: Snapshot, k: Any, interrupted_at: int, directory: str, fresh: Optional[Snapshot]) -> Snapshot:
    """What a correct resume from update k holds: the interrupted run's state after update k."""
    if k is None or k == interrupted_at:
        return saved
    if k == 0:
        return fresh if fresh is not None else saved
    at = _load(os.path.join(directory, "at", str(k)))
    return at if at is not None else saved


def _restored_view(saved: Snapshot, initial: Snapshot, restored: Snapshot, probe: Optional[Snapshot],
                   fresh: Optional[Snapshot], fresh_probe: Optional[Snapshot]) -> tuple[Snapshot, Snapshot, list[str]]:
    """(restored values to compare, fresh values to compare with, components read at the first update)."""
    view = Snapshot({c: dict(v) for c, v in restored.values.items()}, dict(restored.kinds))
    reference = initial.filled_from(fresh) if fresh is not None else initial
    reference = Snapshot({c: dict(v) for c, v in reference.values.items()}, dict(reference.kinds))
    late = []
    for component, entries in saved.values.items():
        have = restored.values.get(component, {})
        if len(have) >= len(entries) or probe is None or component not in probe.values:
            continue
        view.values[component] = dict(probe.values[component])
        view.kinds[component] = probe.kinds.get(component, saved.kinds.get(component, ""))
        if fresh_probe is not None and component in fresh_probe.values:
            reference.values[component] = dict(fresh_probe.values[component])
        late.append(component)
    return view, reference, late


def _data_after_first_step(saved: Snapshot, view: Snapshot, reference: Snapshot, notes: dict[str, str],
                           out: Outputs, directory: str) -> Snapshot:
    """An iterator the program creates on its first step (a trainer's lazily made iterator) is compared
    after the first resumed step with the uninterrupted run after the same step. Returns the expected
    values (the saved snapshot, with the data position of run A after step N+1)."""
    resumed = _load(os.path.join(directory, "after_first"))
    uninterrupted = _load(out.a_next)
    fresh_next = _load(out.fresh_next)
    if resumed is None or uninterrupted is None or not uninterrupted.values.get(DATA):
        return saved
    view.values[DATA] = dict(resumed.values.get(DATA, {}))
    view.kinds[DATA] = "data"
    reference.values[DATA] = dict(fresh_next.values.get(DATA, {}) if fresh_next else {})
    notes[DATA] = "the iterator exists only once a step ran: compared after the first resumed step"
    expected = Snapshot({c: dict(v) for c, v in saved.values.items()}, dict(saved.kinds))
    expected.values[DATA] = dict(uninterrupted.values[DATA])
    expected.kinds[DATA] = "data"
    return expected


def load_result(path: str) -> Optional[dict[str, Any]]:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def control_of(summary: dict[str, Any]) -> Optional[Control]:
    data = summary.get("control")
    return Control(**data) if data else None


__all__ = ["method_report", "load_result", "control_of", "MODEL"]
