"""Judge a black-box verification from the four trials' records.

Order of judgement: U must have run and been hooked (else `error`); U2 must equal U (else `inconclusive`);
K must have been killed where asked; R must exit cleanly (else `crashed on resume`); R must have resumed
from a save K made after update 0 (else `did not resume`); then the state R resumed from is compared
with U's at that update, component by component, R's update count with U's, and R's per-update curve
and final state with U's (else `fail`, each cause named). Pure functions over records: no TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ckptlint.harness.compare import NOT_OK, Component, Equivalence, diff_restore
from ckptlint.harness.snapshot import Snapshot
from ckptlint.harness.blackbox.options import BlackboxOptions
from ckptlint.harness.blackbox.record import TrialRecord
from ckptlint.harness.blackbox.statediff import (first_difference, per_component_max_diff, renamed_like,
                                                 scalar_close)
from ckptlint.harness.blackbox.trial import TrialRun

PASS, FAIL, NO_RESUME, CRASHED, INCONCLUSIVE, ERROR = (
    "pass", "fail", "did not resume", "crashed on resume", "inconclusive", "error")
VERDICTS = (PASS, FAIL, NO_RESUME, CRASHED, INCONCLUSIVE, ERROR)
EXIT_CODES = {PASS: 0, FAIL: 1, NO_RESUME: 1, CRASHED: 1, INCONCLUSIVE: 1, ERROR: 2}
MODEL = "model weights"


@dataclass
class Cause:
    code: str          # components, rng, data-order, extra-updates, epoch-restart, epoch-rerun, fewer-updates, diverged
    message: str

    @property
    def allowable(self) -> bool:
        return self.code in ("rng", "data-order")


@dataclass
class ResumePoint:
    update: int                    # s: R continued from the state after this many updates
    save_point: Optional[int]      # K's save point R read
    api: Optional[str] = None      # the restore call that read it
    path: Optional[str] = None
    identified_by: str = "restore"  # "restore" (the file R read is one K wrote) or "state" (R's state equals U's)


@dataclass
class Outcome:
    verdict: str
    summary: str
    causes: list[Cause] = field(default_factory=list)
    allowed: list[Cause] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    resume: Optional[ResumePoint] = None
    kill: Optional[dict[str, Any]] = None
    equivalence: Optional[Equivalence] = None
    determinism: Optional[dict[str, Any]] = None
    error: Optional[dict[str, str]] = None
    notes: list[str] = field(default_factory=list)
    curves: dict[str, Any] = field(default_factory=dict)
    workers: list[Any] = field(default_factory=list)  # cluster runs: a cluster_analysis.WorkerResult each

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]


# -- the kill point --------------------------------------------------------------------------------------------


def choose_kill_point(u: TrialRecord, opts: BlackboxOptions) -> tuple[Optional[int], Optional[int], str]:
    """(kill_at, kill_in_save, why). Raises ValueError with a message when U cannot support the request."""
    n = u.updates
    points = u.save_points()
    if opts.kill_in_save is not None:
        if len(points) < opts.kill_in_save:
            raise ValueError(f"--kill-in-save {opts.kill_in_save}: the uninterrupted run made "
                             f"{len(points)} save point(s)")
        return None, opts.kill_in_save, f"inside save point {opts.kill_in_save} (at update {points[opts.kill_in_save]})"
    if opts.kill_at is not None:
        if opts.kill_at > n:
            raise ValueError(f"--kill-at {opts.kill_at}: the uninterrupted run made only {n} optimizer update(s)")
        return opts.kill_at, None, "--kill-at"
    middle = max(1, n // 2)
    saved = sorted(s for s in points.values() if 0 < s < n)
    if not saved:
        return middle, None, "the middle of U's updates (U saved nothing before its last update)"
    if saved[0] < middle:
        return middle, None, f"the middle of U's {n} updates"
    k = min(n, saved[0] + max(1, (n - saved[0]) // 2))
    return k, None, f"after U's first save (update {saved[0]})"


# -- the verdict ---------------------------------------------------------------------------------------------------


def judge(u: TrialRecord, u2: Optional[TrialRecord], k: TrialRecord, r: TrialRecord,
          runs: dict[str, TrialRun], opts: BlackboxOptions) -> Outcome:
    outcome = _judge(u, u2, k, r, runs, opts)
    outcome.kill = k.kill() if k is not None else None
    return outcome


def hook_notes(records: dict[str, TrialRecord]) -> list[str]:
    """One note per failure of the probe itself (the run it happened in went on unhooked), and per run
    whose updates the probe could not all count."""
    notes = [f"the hook failed in {name} ({message}); that run went on unhooked"
             for name, record in records.items() for message in record.hook_errors]
    for name, record in records.items():
        for event in record.events_of("uncounted")[:1]:
            notes.append(f"in {name}, updates inside {event.get('where')} could not be counted from the step; "
                         f"fit's batch callback counted them where there was one")
    return notes


def _judge(u: TrialRecord, u2: Optional[TrialRecord], k: TrialRecord, r: TrialRecord,
           runs: dict[str, TrialRun], opts: BlackboxOptions) -> Outcome:
    problem = uninterrupted_run_problem(u, runs["U"])
    if problem is not None:
        return Outcome(ERROR, problem, error={"phase": "U", "message": problem})
    determinism = None
    if u2 is not None:
        determinism = check_determinism(u, u2, runs["U2"])
        if not determinism["identical"]:
            return inconclusive(determinism)
    killed = k.kill()
    if killed is None:
        run = runs["K"]
        why = "it timed out" if run.timed_out else f"it exited with code {run.returncode} first"
        return Outcome(INCONCLUSIVE, f"K was not killed at the chosen point: {why} "
                                     f"(K made {k.updates} updates; U made {u.updates})", determinism=determinism)
    ignored = ignored_term(opts, [k], u.updates)
    if ignored is not None:
        return Outcome(INCONCLUSIVE, ignored, determinism=determinism)
    crash = resumed_run_crash(r, runs["R"])
    if crash is not None:
        return Outcome(CRASHED, crash["message"], error=crash, determinism=determinism)
    outcome = compare_resume(u, k, r, opts)
    outcome.determinism = determinism
    return outcome


def ignored_term(opts: BlackboxOptions, k: list[TrialRecord], total: int) -> Optional[str]:
    """--signal term: K went on after its SIGTERM and made all of U's updates before the grace period ran
    out, so nothing was left for R to resume (the program ignores the signal, or something caught it)."""
    if opts.signal != "term" or not k or not all(record.updates >= total for record in k):
        return None
    return (f"K ignored its SIGTERM: it trained on to the end ({total} updates) within --grace {opts.grace:g}s, "
            f"so there was nothing to resume (under MultiWorkerMirroredStrategy TF itself catches SIGTERM as a "
            f"preemption notice for PreemptionCheckpointHandler); shorten --grace to test the resume after "
            f"the kill that follows")


def inconclusive(determinism: dict[str, Any]) -> Outcome:
    return Outcome(INCONCLUSIVE, f"U and U2 differ: {determinism['first_difference']} "
                                 f"(likely cause: {determinism['likely_cause']})", determinism=determinism)


def uninterrupted_run_problem(u: TrialRecord, run: TrialRun) -> Optional[str]:
    if run.timed_out:
        return f"the uninterrupted run timed out after {run.spec.timeout:g}s (raise --timeout)"
    if run.returncode != 0:
        return f"the command failed on its own (exit code {run.returncode}): {last_error_line(run)}"
    if not u.hooked:
        return "the hook did not start in the command's Python process (is COMMAND a Python program?)"
    if u.hook_errors:
        return f"the hook failed: {u.hook_errors[0]}"
    if u.updates == 0:
        return ("the hook saw no optimizer update (supported: Keras 3 and tf_keras optimizers, eager, "
                "in tf.function and in model.fit)")
    return None


def last_error_line(run: TrialRun) -> str:
    """The last line of the traceback (`SomeError: message`), else the last line of stderr."""
    lines: list[str] = []
    for outcome in run.outcomes:
        try:
            with open(outcome.stderr, encoding="utf-8", errors="replace") as fh:
                lines += [line.rstrip() for line in fh.read()[-20000:].splitlines() if line.strip()]
        except OSError:
            continue
    lines = [line for line in lines if not line.startswith("ckptlint hook:")]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)?:\s", line.strip()) and \
                not line.startswith((" ", "\t", "W0000", "I0000", "E0000")):
            return line.strip()[:400]
    return lines[-1].strip()[:400] if lines else "no output on stderr"


def check_determinism(u: TrialRecord, u2: TrialRecord, run: TrialRun) -> dict[str, Any]:
    result: dict[str, Any] = {"checked": True, "identical": True, "first_difference": None, "likely_cause": None}
    if run.returncode != 0:
        result.update(identical=False, first_difference=f"U2 failed (exit code {run.returncode}): "
                                                        f"{last_error_line(run)}",
                      likely_cause="the command does not run the same way twice")
        return result
    start_u, start_u2 = u.snapshot("start"), u2.snapshot("start")
    if start_u is not None and start_u2 is not None:
        diff = first_difference(start_u, renamed_like(start_u2, u2.optimizer_order("start"),
                                                      u.optimizer_order("start")))
        if diff is not None:
            result.update(identical=False, first_difference=f"before the first update, {diff.describe()}",
                          likely_cause="an initial state drawn from an unseeded generator or from OS entropy "
                                       "(a seed from time, os.urandom, a generator created with "
                                       "tf.random.Generator.from_non_deterministic_state)")
            return result
    sums_u, sums_u2 = u.sums(), u2.sums()
    for n in range(1, min(len(sums_u), len(sums_u2)) + 1):
        if not scalar_close(sums_u.get(n), sums_u2.get(n), 0.0, 0.0):
            result.update(identical=False, first_difference=f"the weights part at update {n}",
                          likely_cause=_nondeterminism_suspects(u))
            return result
    if u.updates != u2.updates:
        result.update(identical=False, first_difference=f"U made {u.updates} updates, U2 {u2.updates}",
                      likely_cause="the number of steps depends on time or OS entropy")
        return result
    final_u, final_u2 = u.snapshot("final"), u2.snapshot("final")
    if final_u is not None and final_u2 is not None:
        diff = first_difference(final_u, renamed_like(final_u2, u2.optimizer_order("final"),
                                                      u.optimizer_order("final")))
        if diff is not None:
            result.update(identical=False, first_difference=f"at the end, {diff.describe()}",
                          likely_cause=_nondeterminism_suspects(u))
    return result


def _nondeterminism_suspects(u: TrialRecord) -> str:
    suspects = ["nondeterministic ops (the hook turns on TF op determinism)",
                "a generator seeded from time or OS entropy"]
    if u.events_of("rng_use"):
        suspects.insert(0, "stateful tf.random ops run from threads")
    return ", or ".join(suspects)


def resumed_run_crash(r: TrialRecord, run: TrialRun) -> Optional[dict[str, str]]:
    if run.timed_out:
        phase = "start-up" if r.updates == 0 else f"training, after {r.updates} update(s)"
        return {"phase": phase, "message": f"R timed out after {run.spec.timeout:g}s ({phase})"}
    if run.returncode == 0:
        return None
    line = last_error_line(run)
    failed = [x for x in r.restores() if x.failed]
    if failed:
        phase = f"restore ({failed[-1].api} {_shown(failed[-1].path, r)})"
    elif r.updates == 0:
        phase = "start-up, before the first update"
    else:
        phase = f"training, after {r.updates} update(s) of R"
    return {"phase": phase, "message": f"R exited with code {run.returncode} in {phase}: {line}"}


# -- resumed: what was restored, and does the rest of the run match --------------------------------------


def identify_resume(u: TrialRecord, k: TrialRecord, r: TrialRecord, r_start: Optional[Snapshot],
                    notes: list[str]) -> Optional[ResumePoint]:
    """The save R continued from: the file it read is one K wrote, else its state equals U's at a save."""
    k_saves = [s for s in k.saves() if s.ok and s.fingerprint]
    for restore in reversed([x for x in r.restores() if x.n == 0 and x.path and not x.failed]):
        match = next((s for s in reversed(k_saves) if s.fingerprint == restore.fingerprint), None)
        if match is not None:
            return ResumePoint(match.n, match.point, restore.api, restore.path, "restore")
        notes.append(f"R read {restore.path} ({restore.api}), which is not a save K made")
    if r_start is None or MODEL not in r_start.values:
        return None
    for point, n in sorted(u.save_points().items(), key=lambda item: -item[1]):
        snap = u.snapshot_at_update(n) if n > 0 else None
        if snap is not None and first_difference(snap, r_start, components={MODEL}) is None:
            return ResumePoint(n, point, None, None, "state")
    return None


def compare_resume(u: TrialRecord, k: TrialRecord, r: TrialRecord, opts: BlackboxOptions) -> Outcome:
    notes: list[str] = []
    r_start = r.snapshot("start") or r.snapshot("final")
    u_start = u.snapshot("start")
    if r_start is not None and u_start is not None:
        r_start = renamed_like(r_start, r.optimizer_order("start") or r.optimizer_order("final"),
                               u.optimizer_order("start"))
    resume = identify_resume(u, k, r, r_start, notes)
    read = [x for x in r.restores() if x.n == 0 and x.path and not x.failed]
    if resume is None or resume.update == 0:
        why = "R read no checkpoint" if not read else "R's restore matched no save K made"
        if resume is not None:
            why = "R read the save made before the first update"
        fresh = r_start is not None and u_start is not None and \
            first_difference(u_start, r_start, components={MODEL}) is None
        detail = "its state before its first update is a fresh start" if fresh else \
            "its state before its first update matches no save K made"
        return Outcome(NO_RESUME, f"{why}; {detail}, and it trained {r.updates} update(s) from the beginning "
                                  f"(U made {u.updates})", notes=notes, resume=resume,
                       curves=_curves(u, k, r, None))
    s = resume.update
    causes: list[Cause] = []
    components: list[Component] = []
    saved = u.snapshot_at_update(s)
    if saved is None or r_start is None or u_start is None:
        notes.append(f"no snapshot of U at update {s} to compare R's restored state with")
    else:
        components = diff_restore(saved, u_start, r_start, lambda _kind: True, {})
        lost = [c for c in components if c.status in NOT_OK]
        rng = [c for c in lost if c.kind == "rng"]
        other = [c for c in lost if c.kind != "rng"]
        if other:
            causes.append(Cause("components", "restored wrong: " + ", ".join(
                f"{c.name} ({c.status})" for c in other)))
        if rng:
            causes.append(Cause("rng", "RNG state not restored: " + ", ".join(
                _rng_keys(c) for c in rng)))
    causes += _update_count_causes(u, r, s)
    equivalence, first_divergent = _equivalence(u, k, r, s, opts)
    if not equivalence.equivalent and not any(c.code in ("extra-updates", "epoch-restart", "epoch-rerun",
                                                         "fewer-updates") for c in causes):
        causes += _divergence_causes(u, r, s, first_divergent, causes)
    allowed = [c for c in causes if c.allowable and c.code in opts.allow]
    remaining = [c for c in causes if c not in allowed]
    where = describe_resume(resume, r)
    curves = _curves(u, k, r, s)
    if remaining:
        summary = "; ".join(c.message for c in remaining)
        return Outcome(FAIL, f"{summary}  [resumed from {where}]", remaining, allowed, components, resume,
                       equivalence=equivalence, notes=notes, curves=curves)
    summary = f"R resumed from {where}, restored every component exactly and ended identical to U"
    if allowed:
        summary = f"R resumed from {where}; accepted by --allow: " + "; ".join(c.message for c in allowed)
    return Outcome(PASS, summary, [], allowed, components, resume, equivalence=equivalence, notes=notes,
                   curves=curves)


def describe_resume(resume: ResumePoint, r: TrialRecord) -> str:
    """update s (save point p, the restore call and the file it read) -- or how s was identified."""
    return f"update {resume.update} (save point {resume.save_point}" + (
        f", {resume.api} {_shown(resume.path, r)})" if resume.api else ", identified by its state)")


def _shown(path: Optional[str], r: TrialRecord) -> str:
    """A path inside the trial directory, written as the command wrote it: {out}/..."""
    start = r.events_of("start")
    cwd = start[0].get("cwd") if start else None
    if path and cwd and path.startswith(cwd.rstrip("/") + "/"):
        return "{out}/" + path[len(cwd.rstrip("/")) + 1:]
    return path or "?"


def _rng_keys(component: Component) -> str:
    names = [v.key.split(" ", 1)[-1] for v in component.variables if v.status != "restored"]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"{shown} (Keras SeedGenerator / tf.random.Generator state not in the checkpoint)"


def _update_count_causes(u: TrialRecord, r: TrialRecord, s: int) -> list[Cause]:
    expected = u.updates - s
    extra = r.updates - expected
    if extra == 0:
        return []
    if extra < 0:
        return [Cause("fewer-updates", f"R trains {-extra} fewer update(s) than needed to finish "
                                       f"({r.updates} instead of {expected})")]
    r_epochs = r.epochs()
    u_epoch_start = {epoch: n for epoch, n in u.epochs()}
    if r_epochs:
        first_epoch = r_epochs[0][0]
        began = u_epoch_start.get(first_epoch)
        if first_epoch == 0 and s > 0 and u_epoch_start.get(1) is not None and s >= u_epoch_start[1]:
            return [Cause("epoch-restart", f"R trains {extra} extra update(s) (the epoch count restarts: R's "
                                           f"fit begins again at epoch 1 after resuming at update {s})")]
        if began is not None and began < s and r.updates == u.updates - began:
            return [Cause("epoch-rerun", f"the interrupted epoch is re-run from its start: R resumed at update "
                                         f"{s}, inside epoch {first_epoch + 1} (which began at update {began}), "
                                         f"and trained it again from its first batch ({extra} extra update(s))")]
    return [Cause("extra-updates", f"R trains {extra} extra update(s) ({r.updates} instead of {expected})")]


def _equivalence(u: TrialRecord, k: TrialRecord, r: TrialRecord, s: int,
                 opts: BlackboxOptions) -> tuple[Equivalence, Optional[int]]:
    sums_u, sums_k, sums_r = u.sums(), k.sums(), r.sums()
    combined = {n: sums_k.get(n) for n in range(1, s + 1)}
    combined.update({s + j: v for j, v in sums_r.items()})
    first = None
    diffs: list[float] = []
    for n in range(1, max(len(sums_u), len(combined)) + 1):
        a, b = sums_u.get(n), combined.get(n)
        same = scalar_close(a, b, opts.atol, opts.rtol)
        diffs.append(abs(a - b) if a is not None and b is not None else float("inf"))
        if not same and first is None and n > s and n in sums_u and n in combined:
            first = n
    losses_u, losses_k, losses_r = u.losses(), k.losses(), r.losses()
    loss_b = {n: losses_k[n] for n in range(1, s + 1) if n in losses_k}
    loss_b.update({s + j: v for j, v in losses_r.items()})
    first_loss, max_loss = None, 0.0
    for n in range(1, u.updates + 1):
        if n in losses_u and n in loss_b:
            max_loss = max(max_loss, abs(losses_u[n] - loss_b[n]))
            if first_loss is None and n > s and not scalar_close(losses_u[n], loss_b[n], opts.atol, opts.rtol):
                first_loss = n
    final_u, final_r = u.snapshot("final"), r.snapshot("final")
    final_diff: dict[str, float] = {}
    final_same = False
    if final_u is not None and final_r is not None:
        final_r = renamed_like(final_r, r.optimizer_order("final"), u.optimizer_order("final"))
        final_diff = per_component_max_diff(final_u, final_r)
        final_same = first_difference(final_u, final_r, opts.atol, opts.rtol) is None
    equivalent = final_same and first is None and first_loss is None and r.updates == u.updates - s
    eq = Equivalence(equivalent, first_loss or first, first, max_loss, final_diff,
                     [[losses_u[n]] if n in losses_u else [] for n in range(1, u.updates + 1)],
                     [[loss_b[n]] if n in loss_b else [] for n in range(1, s + r.updates + 1)],
                     diffs, opts.atol, opts.rtol)
    return eq, first if first is not None else first_loss


def _divergence_causes(u: TrialRecord, r: TrialRecord, s: int, first: Optional[int],
                       causes: list[Cause]) -> list[Cause]:
    if any(c.code == "components" for c in causes):
        return []  # the divergence follows from the state restored wrong
    if any(c.code == "rng" for c in causes):
        return []  # explained by the RNG state that was not restored
    if first is None:
        return [Cause("diverged", "the final state differs from U's although every update matched")]
    if first != s + 1:
        return [Cause("diverged", f"state restored exactly, but the runs part at update {first} "
                                  f"(resumed at {s})")]
    found: list[Cause] = []
    shuffles = [e for e in r.events_of("shuffle") if e.get("reshuffle")]
    if shuffles:
        found.append(Cause("data-order", f"state restored exactly, runs part at update {s + 1}: the data order "
                                         f"restarted (a tf.data shuffle(reshuffle_each_iteration=True) starts "
                                         f"its reshuffle sequence over in a new process)"))
    in_step = sorted({e.get("api", "?") for e in r.events_of("rng_use") if e.get("graph") or e.get("n", 0) > 0})
    if in_step:
        found.append(Cause("rng", f"state restored exactly, runs part at update {s + 1}: the RNG stream "
                                  f"restarted ({', '.join(in_step)} in the training step: stateful ops whose "
                                  f"state no checkpoint holds)"))
    if not found:
        found = [Cause("data-order", f"state restored exactly, runs part at update {s + 1}: the data order or "
                                     f"the RNG stream restarted (no source identified: a data iterator or "
                                     f"generator the checkpoint does not hold)"),
                 Cause("rng", "(the same divergence may come from an RNG stream)")]
    return found


def _curves(u: TrialRecord, k: TrialRecord, r: TrialRecord, s: Optional[int]) -> dict[str, Any]:
    losses_u = u.losses()
    use_loss = bool(losses_u) and bool(r.losses() or k.losses())
    source_u = losses_u if use_loss else u.sums()
    source_k = k.losses() if use_loss else k.sums()
    source_r = r.losses() if use_loss else r.sums()
    offset = s or 0
    return {"quantity": "loss" if use_loss else "weight checksum",
            "U": [[n, v] for n, v in sorted(source_u.items())],
            "K": [[n, v] for n, v in sorted(source_k.items())],
            "R": [[offset + n, v] for n, v in sorted(source_r.items())],
            "resume_at": s}
