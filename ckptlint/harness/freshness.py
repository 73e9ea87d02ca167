"""Are the factory's setups really fresh? Checked before anything else, because everything else assumes it.

The harness compares a resumed setup with an uninterrupted one and with a cold start, all built by the
same factory. A factory that hands out module-level objects gives every "fresh" setup the trained state of
the previous one; one that is not seeded, or that restores whatever it finds in the working directory,
gives setups that differ before training starts. Either way the verdict would blame the checkpoint
("DIFFERS", "diverged at step 1") for something the factory did. So: build two setups, and they must share
no variable and hold identical values.
"""

from __future__ import annotations

from typing import Any, Optional

from ckptlint.harness.compare import equal
from ckptlint.harness.contract import Setup
from ckptlint.harness.snapshot import Snapshot


def stateful_objects(setup: Setup) -> dict[int, str]:
    """id -> readable name of every variable, optimizer, iterator and generator the setup holds."""
    from ckptlint.harness import optimizers
    from ckptlint.harness.snapshot import _path, model_variables

    found: dict[int, str] = {}
    for v in model_variables(setup.model):
        found.setdefault(id(v), f"model variable {_path(v)}")
    for name, opt in setup.optimizers.items():
        found.setdefault(id(opt), f"optimizer {name!r}")
        for v in optimizers.all_variables(opt):
            found.setdefault(id(v), f"optimizer {name!r} variable {_path(v)}")
    for key, obj in setup.state.items():
        found.setdefault(id(obj), f"Setup.state[{key!r}]")
    return found


def shared_state(first: Setup, second: Setup) -> list[str]:
    """Names of objects that two setups from the factory both hold."""
    mine = stateful_objects(first)
    return [name for key, name in stateful_objects(second).items() if key in mine]


def differences(first: Snapshot, second: Snapshot, skip: frozenset[str] = frozenset()) -> list[str]:
    """Components whose values differ between two snapshots of fresh setups."""
    names = []
    for component in dict.fromkeys([*first.values, *second.values]):
        if component in skip:
            continue
        a = list(first.values.get(component, {}).values())
        b = list(second.values.get(component, {}).values())
        if len(a) != len(b) or not all(equal(x, y) for x, y in zip(a, b)):
            names.append(component)
    return names


def freshness_problem(first: Setup, second: Setup, snap_first: Snapshot, snap_second: Snapshot) -> Optional[str]:
    """The message for the user when the two setups are not independent, identical fresh setups."""
    shared = shared_state(first, second)
    if shared:
        listed = ", ".join(shared[:3]) + (f" and {len(shared) - 3} more" if len(shared) > 3 else "")
        return (f"your setups share state: two calls of the factory returned the same {listed}. Create every "
                "model, optimizer, variable and iterator inside the factory, not at module level")
    differ = differences(snap_first, snap_second)
    if differ:
        return (f"two fresh setups from the factory differ in {', '.join(differ)} before any training: seed "
                "every random initialisation, and do not restore a checkpoint in the factory or at import")
    return None


def fresh_process_problem(fresh_here: Snapshot, fresh_there: Snapshot) -> Optional[str]:
    """A setup built in the fresh process must equal one built in the training process before training."""
    differ = differences(fresh_here, fresh_there)
    if differ:
        return (f"a setup built in a fresh process differs from one built before training in {', '.join(differ)}: "
                "the factory (or the import of its module) reads state from disk or the environment, e.g. "
                "restores the latest checkpoint from the working directory")
    return None


def wrote_nothing(directory: str) -> bool:
    """True when a save left its directory empty (the project's save wrote somewhere else)."""
    import os

    for _root, _dirs, files in os.walk(directory):
        if files:
            return False
    return True


__all__: list[Any] = ["freshness_problem", "fresh_process_problem", "shared_state", "wrote_nothing"]
