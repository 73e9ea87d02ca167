"""Judge a multi-worker black-box verification: every worker's U, U2, K and R, then the cluster as a whole.

Each worker is judged as a single-process run is (its R's restored state against its U's at the update
it resumed from, its per-update curve and final state), and the cluster adds what only a cluster gets
wrong:

  shared-path        a worker other than the chief saved to a path the chief saves to: the workers race on
                     one file, and a reader may get a mix of two writers (tensorflow/tensorflow#38635)
  worker-state       after the restart a worker's state before its first update differs from the chief's
                     (it restored another checkpoint, or none), so the workers train different models
  resumed-apart      the workers resumed from different updates: some steps run twice, or are skipped
  stalled            after the restart a worker still waited for a peer that had finished

The update counts are checked exactly once per worker: the updates K kept (1..s) and those R ran after
resuming at s must be U's updates, each once. Pure functions over records: no TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ckptlint.harness.blackbox.analysis import (CRASHED, ERROR, FAIL, INCONCLUSIVE, NO_RESUME, PASS, Cause,
                                               Outcome, check_determinism, compare_resume, describe_resume,
                                               ignored_term, inconclusive, resumed_run_crash,
                                               uninterrupted_run_problem)
from ckptlint.harness.blackbox.options import BlackboxOptions
from ckptlint.harness.blackbox.record import TrialRecord
from ckptlint.harness.blackbox.statediff import first_difference, renamed_like
from ckptlint.harness.blackbox.trial import TrialRun

CLUSTER_CAUSES = ("shared-path", "worker-state", "resumed-apart", "stalled")


@dataclass
class WorkerResult:
    index: int
    outcome: Outcome
    updates: dict[str, int] = field(default_factory=dict)   # trial -> optimizer updates this worker made

    @property
    def resumed_at(self) -> Optional[int]:
        return self.outcome.resume.update if self.outcome.resume is not None else None

    def ledger(self) -> dict[str, Any]:
        """Exactly once: K's first s updates and R's updates after resuming at s are U's, each once."""
        s, total, after = self.resumed_at, self.updates.get("U", 0), self.updates.get("R", 0)
        return {"resumed_at": s, "updates_after_resume": after, "uninterrupted": total,
                "exactly_once": s is not None and s > 0 and s + after == total}


def worker_run(run: TrialRun, index: int) -> TrialRun:
    """One worker's view of a cluster trial: its own exit code and captured output."""
    return TrialRun(run.spec, [run.outcomes[index]], run.elapsed, run.timed_out, run.terminated_by_harness,
                    run.remote_addresses)


def _by_root_cause(run: TrialRun, indices: range) -> list[int]:
    """Workers in the order to blame them: those that ended on their own before those ckptlint ended
    because a peer had ended."""
    return sorted(indices, key=lambda i: run.outcomes[i].ended_by_group is not None)


# -- the phases before the comparison ----------------------------------------------------------------------


def failed_cluster_run(u: list[TrialRecord], run: TrialRun) -> Optional[Outcome]:
    """U's outcome when it did not run to the end: FAIL when its workers wrote the chief's path (the race
    between them is the likely cause: measured, a worker's checkpoint merge finds its temporary file
    gone when a peer's merge moved it), else ERROR."""
    problem = cluster_run_problem(u, run)
    if problem is None:
        return None
    crashed = shared_path_crash(u, f"the uninterrupted run failed: {problem}")
    return crashed or Outcome(ERROR, problem, error={"phase": "U", "message": problem})


def shared_path_crash(records: list[TrialRecord], what: str) -> Optional[Outcome]:
    causes = shared_paths(records)
    if not causes:
        return None
    return Outcome(FAIL, f"{what}; " + "; ".join(c.message for c in causes), causes)


def cluster_run_problem(u: list[TrialRecord], run: TrialRun) -> Optional[str]:
    for i in _by_root_cause(run, range(len(u))):
        problem = uninterrupted_run_problem(u[i], worker_run(run, i))
        if problem is not None:
            return f"worker {i}: {problem}"
    return None


def cluster_determinism(u: list[TrialRecord], u2: list[TrialRecord], run: TrialRun) -> dict[str, Any]:
    first: Optional[dict[str, Any]] = None
    for i in range(len(u)):
        result = check_determinism(u[i], u2[i], worker_run(run, i))
        if not result["identical"]:
            result["first_difference"] = f"worker {i}: {result['first_difference']}"
            return result
        first = first or result
    return first or {"checked": True, "identical": True, "first_difference": None, "likely_cause": None}


def _resumed_crash(r: list[TrialRecord], run: TrialRun) -> Optional[dict[str, str]]:
    for i in _by_root_cause(run, range(len(r))):
        if run.outcomes[i].ended_by_group is not None and not run.timed_out:
            continue  # ended by ckptlint once a peer had ended: not a crash of its own
        crash = resumed_run_crash(r[i], worker_run(run, i))
        if crash is not None:
            return {"phase": f"worker {i}: {crash['phase']}", "message": f"worker {i}: {crash['message']}"}
    return None


# -- the verdict -----------------------------------------------------------------------------------------------


def judge_cluster(records: dict[str, list[TrialRecord]], runs: dict[str, TrialRun],
                  opts: BlackboxOptions) -> Outcome:
    u, k, r = records["U"], records["K"], records["R"]
    failed = failed_cluster_run(u, runs["U"])
    if failed is not None:
        return failed
    determinism = None
    if "U2" in records:
        determinism = cluster_determinism(u, records["U2"], runs["U2"])
        if not determinism["identical"]:
            return inconclusive(determinism)
    kill = first_kill(k, opts)
    if kill is None:
        crashed = shared_path_crash(u, f"K failed before its kill ({_k_story(k, runs['K'])})")
        if crashed is not None:
            crashed.determinism = determinism
            return crashed
        return Outcome(INCONCLUSIVE, f"K was not killed at the chosen point ({_k_story(k, runs['K'])}; "
                                     f"U made {u[0].updates} updates)", determinism=determinism)
    ignored = ignored_term(opts, k, u[0].updates)
    if ignored is not None:
        return Outcome(INCONCLUSIVE, ignored, determinism=determinism, kill=kill)
    crash = _resumed_crash(r, runs["R"])
    if crash is not None:
        crashed = shared_path_crash(u, f"R crashed ({crash['message']})")
        if crashed is not None:
            crashed.determinism, crashed.kill = determinism, kill
            return crashed
        return Outcome(CRASHED, crash["message"], error=crash, determinism=determinism, kill=kill)
    workers = []
    for i in range(len(u)):
        peers = [s for j, record in enumerate(k) if j != i for s in record.own_saves()]
        k_i = TrialRecord(k[i].record_dir, k[i].process, k[i].processes, k[i].hook_errors, peers)
        outcome = compare_resume(u[i], k_i, r[i], opts)
        workers.append(WorkerResult(i, outcome, {name: recs[i].updates for name, recs in records.items()}))
    cluster_causes = (shared_paths(u) + worker_state_differs(u, r) + resumed_apart(workers)
                      + stalled(runs["R"]))
    chief_resume = workers[0].outcome.resume
    where = describe_resume(chief_resume, r[0]) if chief_resume is not None and chief_resume.update > 0 else ""
    outcome = combine(workers, cluster_causes, where)
    outcome.determinism = determinism
    outcome.kill = kill
    return outcome


def first_kill(k: list[TrialRecord], opts: BlackboxOptions) -> Optional[dict[str, Any]]:
    """The kill K's probe made (on the worker asked for, or the first of all), with the worker's index."""
    for i in opts.killed_workers:
        kill = k[i].kill() if i < len(k) else None
        if kill is not None:
            return {**kill, "worker": i}
    return None


def _k_story(k: list[TrialRecord], run: TrialRun) -> str:
    if run.timed_out:
        return "it timed out"
    codes = ", ".join(f"worker {i} exit code {o.returncode}" for i, o in enumerate(run.outcomes))
    return f"it ended first: {codes}; K made {max((x.updates for x in k), default=0)} updates"


def combine(workers: list[WorkerResult], cluster_causes: list[Cause], where: str) -> Outcome:
    """One verdict for the cluster: each worker's causes (grouped where workers share them) and the
    cluster's own; the chief's components, resume point, equivalence and curves stand for the cluster.
    `where`: the chief's resume point, described."""
    chief = workers[0].outcome
    causes = _grouped(workers, "causes") + cluster_causes
    allowed = _grouped(workers, "allowed")
    notes = [f"worker {w.index}: {note}" for w in workers for note in w.outcome.notes]
    verdicts = {w.outcome.verdict for w in workers}

    def cluster_outcome(verdict: str, summary: str, causes: list[Cause]) -> Outcome:
        return Outcome(verdict, summary, causes, components=chief.components, resume=chief.resume,
                       equivalence=chief.equivalence, notes=notes, curves=chief.curves, allowed=allowed,
                       workers=workers)
    if verdicts == {NO_RESUME} and not cluster_causes:
        return cluster_outcome(NO_RESUME, f"no worker resumed (the chief: {chief.summary})", [])
    not_resumed = [w for w in workers if w.outcome.verdict == NO_RESUME]
    if not_resumed and len(not_resumed) < len(workers):
        causes.append(Cause("worker-state", "; ".join(f"worker {w.index} did not resume ({w.outcome.summary})"
                                                       for w in not_resumed)))
    if causes:
        summary = "; ".join(c.message for c in causes)
        return cluster_outcome(FAIL, summary + (f"  [the chief resumed from {where}]" if where else ""), causes)
    if allowed:
        summary = f"every worker resumed from {where}; accepted by --allow: " + \
            "; ".join(c.message for c in allowed)
    else:
        summary = f"every worker resumed from {where}, restored every component exactly and ended identical to U"
    return cluster_outcome(PASS, summary, [])


def _grouped(workers: list[WorkerResult], attribute: str) -> list[Cause]:
    """Causes by message, each naming the workers it holds for ("workers 0, 1: ..." / "worker 1: ...")."""
    order: list[tuple[str, str]] = []
    holders: dict[tuple[str, str], list[int]] = {}
    for w in workers:
        for cause in getattr(w.outcome, attribute):
            key = (cause.code, cause.message)
            if key not in holders:
                holders[key] = []
                order.append(key)
            holders[key].append(w.index)
    grouped = []
    for code, message in order:
        who = holders[(code, message)]
        label = f"worker {who[0]}" if len(who) == 1 else "workers " + ", ".join(str(i) for i in who)
        grouped.append(Cause(code, f"{label}: {message}"))
    return grouped


# -- what only a cluster gets wrong ----------------------------------------------------------------------------


def shared_paths(u: list[TrialRecord]) -> list[Cause]:
    chief_paths = _save_targets(u[0])
    causes = []
    for i, record in enumerate(u[1:], start=1):
        shared = sorted(p for p in _save_targets(record) if p in chief_paths)
        if shared:
            shown = ", ".join(_shown(p, u[0]) for p in shared[:3]) + (f" and {len(shared) - 3} more"
                                                                    if len(shared) > 3 else "")
            causes.append(Cause("shared-path", f"worker {i} writes the chief's path {shown}: workers writing "
                                               f"one path race, and a restore may read a file mixed from two "
                                               f"writers (give each worker other than the chief its own "
                                               f"directory; tensorflow/tensorflow#38635)"))
    return causes


def _save_targets(record: TrialRecord) -> set[str]:
    """Every path the worker asked to save to or saved, including saves that failed (a race between two
    writers makes one of them fail)."""
    start = record.events_of("start")
    cwd = start[0].get("cwd", "") if start else ""
    asked = [e.get("path") for e in record.events_of("save_begin")]
    written = [s.path for s in record.own_saves()]
    return {os.path.normpath(os.path.join(cwd, path)) for path in asked + written if path}


def worker_state_differs(u: list[TrialRecord], r: list[TrialRecord]) -> list[Cause]:
    """A worker whose state before its first resumed update differs from the chief's, in the components
    every worker shared before the first update of the uninterrupted run."""
    chief_u, chief_r = _start(u[0]), _start(r[0])
    if chief_u is None or chief_r is None:
        return []
    causes = []
    for i in range(1, len(u)):
        mine_u, mine_r = _start(u[i]), _start(r[i])
        if mine_u is None or mine_r is None:
            continue
        mine_u = renamed_like(mine_u, _order(u[i]), _order(u[0]))
        mine_r = renamed_like(mine_r, _order(r[i]), _order(r[0]))
        shared = {c for c in chief_u.values if first_difference(chief_u, mine_u, components={c}) is None}
        diff = first_difference(chief_r, mine_r, components=shared)
        if diff is not None:
            read = _read_by(r[i]) or "no checkpoint"
            chief_read = _read_by(r[0]) or "no checkpoint"
            causes.append(Cause("worker-state", f"worker {i}'s state after the restart differs from the chief's "
                                                f"({diff.describe()}): worker {i} restored {read}, the chief "
                                                f"{chief_read}, so the workers train different models"))
    return causes


def _start(record: TrialRecord) -> Any:
    return record.snapshot("start") or record.snapshot("final")


def _order(record: TrialRecord) -> list[str]:
    return record.optimizer_order("start") or record.optimizer_order("final")


def _read_by(record: TrialRecord) -> Optional[str]:
    read = [x.path for x in record.restores() if x.n == 0 and x.path and not x.failed]
    return _shown(read[-1], record) if read else None


def resumed_apart(workers: list[WorkerResult]) -> list[Cause]:
    points = {w.index: w.resumed_at for w in workers if w.resumed_at is not None}
    if len(set(points.values())) <= 1:
        return []
    listing = ", ".join(f"worker {i} from update {s}" for i, s in points.items())
    return [Cause("resumed-apart", f"the workers resumed from different updates ({listing}): the steps in "
                                   f"between run twice on some workers and are skipped on others")]


def stalled(run: TrialRun) -> list[Cause]:
    causes = []
    for i, outcome in enumerate(run.outcomes):
        reason = outcome.ended_by_group
        if reason is not None and "finished" in reason:
            causes.append(Cause("stalled", f"worker {i} of R made {reason} and was ended: it waited for a "
                                           f"peer that had stopped training (the workers disagree on how "
                                           f"many steps remain)"))
    return causes


def _shown(path: str, record: TrialRecord) -> str:
    start = record.events_of("start")
    cwd = (start[0].get("cwd") or "") if start else ""
    cwd = cwd.rstrip("/")
    if cwd and path == cwd:
        return "{out}"
    if cwd and path.startswith(cwd + "/"):
        return "{out}/" + path[len(cwd) + 1:]
    return path

