"""A cause for every failure: turn components, the resume comparison and the RNG counterfactual into
sentences that say what was lost, why the runs parted, and what would fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ckptlint.harness.compare import C_ERROR, NOT_OK, Component

if TYPE_CHECKING:
    from ckptlint.harness.verdict import Report

_KIND_CAUSE = {
    "slots": "the optimizer's per-variable state (moments, momentum) starts again from zero: checkpoint the "
             "optimizer with the model",
    "iterations": "the optimizer's step count restarts, and with it learning-rate schedules and Adam's bias "
                  "correction: checkpoint the optimizer",
    "lr": "the next update uses another learning rate than the saved run would (a schedule restarted, or a "
          "learning rate changed during training was not saved)",
    "model": "model variables are not the saved ones",
    "data": "the data position is not restored: the resumed run reads other batches than the uninterrupted "
            "one (its iterator starts again); checkpoint the tf.data iterator, e.g. "
            "tf.train.Checkpoint(..., iterator=iterator)",
}

_RNG_HOLDERS = (
    ("seed generator", "Keras seed generators (Dropout, noise and augmentation layers) are not in model.weights, "
                       "so neither tf.train.Checkpoint(model=...) nor the Keras file formats save them; add their "
                       "state variables to the checkpoint: [v for v in model.variables if "
                       "'seed_generator' in v.path]"),
    ("tf.random.Generator", "put the tf.random.Generator in the checkpoint"),
    ("global generator", "TensorFlow's global generator is in no checkpoint: draw from a tf.random.Generator "
                         "of your own and checkpoint it"),
    ("numpy", "NumPy's global random state is in no TensorFlow checkpoint: save np.random.get_state() with it, "
              "or draw from a np.random.Generator seeded from the step"),
    ("python random", "Python's random state is in no TensorFlow checkpoint: save random.getstate() with it, "
                      "or seed from the step"),
    ("Setup.state", "put the tf.random.Generator in the checkpoint"),
)


# process-wide states that framework code also draws from (Keras seeds new layers from Python's random
# module, a restore that builds layers moves it): counted only when carrying them over changes the outcome
GLOBAL_SOURCES = ("tf.random global generator", "numpy global random state", "python random module state")


def rng_lost_keys(report: "Report", significant_only: bool = False) -> list[str]:
    """Readable names of the RNG sources whose state the restore did not bring back."""
    keys = []
    for c in report.components:
        if c.kind == "rng" or c.kind == "state:generator":
            for v in c.variables:
                if v.status != "restored":
                    keys.append(v.key.split(" ", 1)[1] if c.kind == "rng" else c.name)
    if significant_only and not rng_explains(report):
        keys = [k for k in keys if k not in GLOBAL_SOURCES]
    return keys


def rng_explains(report: "Report") -> bool:
    """The resumed run diverged, and is identical once the saved RNG state is carried over."""
    carried = report.rng_carried
    return bool(carried and carried.get("equivalent"))


def causes(report: "Report") -> list[str]:
    found: list[str] = []
    eq = report.equivalence
    diverged = eq is not None and not eq.equivalent
    for c in report.components:
        if c.status not in NOT_OK or c.kind == "rng" or c.status == C_ERROR:
            continue
        found.append(_component_cause(c))
    for c in report.components:
        if c.status == C_ERROR:
            found.append(f"{c.name}: {c.note}")
    if report.fit is not None:
        found += _fit_causes(report.fit)
    if not diverged:
        return found
    if rng_explains(report):
        lost = rng_lost_keys(report)
        holders = sorted({text for needle, text in _RNG_HOLDERS if any(needle in k for k in lost)})
        found.append(
            "the divergence is explained by random-number state the restore did not bring back ("
            + ", ".join(lost) + "): with it carried over, the resumed run is identical. " + " ".join(holders))
        return found
    lost = rng_lost_keys(report, significant_only=True)
    if lost:
        holders = sorted({text for needle, text in _RNG_HOLDERS if any(needle in k for k in lost)})
        carried = report.rng_carried
        also = ("; carrying it over did not make the resume identical: something else differs too"
                if carried is not None and not carried.get("equivalent") else "")
        found.append("random-number state is not restored (" + ", ".join(lost) + ")" + also + ". " + " ".join(holders))
    if report.random_ops:
        ops = "; ".join(f"{op['op']} in {op['function']}" + (f" at {op['where']}" if op.get("where") else "")
                        for op in report.random_ops[:3])
        found.append(
            f"the train step draws from stateful tf.random ops ({ops}): their position lives inside the op "
            "kernel, seeded from the global and op seeds, and a fresh process starts it again; no checkpoint "
            "can hold it. Draw from a tf.random.Generator kept in the checkpoint, or use stateless ops "
            "(tf.random.stateless_normal) seeded from the step counter")
    unobservable = [c for c in report.components if c.kind == "data:unobservable"]
    if unobservable:
        found.append("the data position could not be observed (no tf.data iterator found in Setup.state or in "
                     "the train step's reach); if the train step reads its own data, it may restart it")
    if not found:
        found.append("the runs diverged although every observed component was restored: some state lives outside "
                     "the model, the optimizers and Setup.state (put it in Setup.state to have it compared)")
    return found


def _fit_causes(fit: dict[str, Any]) -> list[str]:
    """Where the resumed fit() began, and how many updates it made, against the uninterrupted fit()."""
    k, total, updates_b = fit["resumed_from"], fit["updates_a"], fit["updates_b"]
    if k is None:
        return ["the resumed fit() began from weights the uninterrupted run never had up to the interruption: "
                "the restore loaded something else, or only part of the state"]
    if updates_b is None or updates_b == total:
        return []
    extra = updates_b - total
    positions_a = fit["positions_a"]
    began = fit["resumed_positions"][0] if fit["resumed_positions"] else None
    expected = positions_a[k] if k < len(positions_a) else None
    text = (f"the resumed fit() made {updates_b - k} update(s) after resuming from update {k}, where the "
            f"uninterrupted run made {total - k}: {abs(extra)} {'extra' if extra > 0 else 'missing'} update(s)")
    if began and expected:
        text += (f"; it began at epoch {began[0]}, batch {began[1]}, where the uninterrupted run's next update "
                 f"was epoch {expected[0]}, batch {expected[1]}")
        if began[0] == expected[0] and began[1] == 0 and expected[1] > 0:
            text += (": the interrupted epoch was run again from its first batch (Keras 3 BackupAndRestore "
                     "restores the epoch, not the batch: save at epoch ends, save_freq='epoch')")
        elif began[0] < expected[0]:
            text += (": fit() counted epochs from the start again; pass initial_epoch= (the epoch to resume "
                     "from) or let BackupAndRestore restore it")
    return [text]


def _component_cause(c: Component) -> str:
    if not c.holdable:
        return f"{c.name}: this method's format cannot hold it"
    counts = c.counts
    if counts.get("reinitialised"):
        text = (f"{c.name}: {counts['reinitialised']} variable(s) re-initialised: they were created after the "
                "restore (the model was not built when it was restored; TensorFlow defers such restores and "
                "Keras 3 layers do not take them up) and hold fresh values; build the model (call it on a "
                "batch) before restoring")
        if counts.get("unexpected"):
            text += f"; the restore also left {counts['unexpected']} variable(s) that the model does not use"
        return text
    base = _KIND_CAUSE.get(c.kind.split(":")[0]) if not c.kind.startswith("state:") else None
    if c.kind.startswith("state:"):
        base = f"{c.name} is not restored: add it to the checkpoint"
    if c.kind == "slots" and (counts.get("unexpected") or counts.get("missing")):
        base = ("the optimizer now holds slots for other variables than the saved one did; checkpoints "
                "restore slots by position, so values land on the wrong variables (or nowhere)")
    elif c.kind in ("slots", "model") and counts.get("differs") and not counts.get("not_restored"):
        base = "they hold other values than the saved run had at the save"
    detail = []
    if counts.get("not_restored"):
        detail.append(f"{counts['not_restored']} not restored")
    if counts.get("missing"):
        detail.append(f"{counts['missing']} missing")
    if counts.get("differs"):
        detail.append(f"{counts['differs']} differ")
    if counts.get("unexpected"):
        detail.append(f"{counts['unexpected']} unexpected")
    return f"{c.name}: {', '.join(detail)}: {base or 'not the saved values'}"


__all__: list[Any] = ["causes", "rng_explains", "rng_lost_keys"]
