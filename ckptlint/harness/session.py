"""Build fresh Setups from the user's factory inside one process (parent or worker)."""

from __future__ import annotations

from typing import Any, Optional

from ckptlint.harness.contract import Setup
from ckptlint.harness.target import TargetRef, call_factory, load_factory
from ckptlint.harness.tfenv import DEFAULT_SEED, enable_determinism, fresh_start, make_strategy
from ckptlint.harness.training import check_trainable, guarded


class Session:
    """The factory plus the process-wide TF settings it runs under (strategy, seed, determinism)."""

    def __init__(self, ref: TargetRef, strategy: Optional[str], seed: int = DEFAULT_SEED) -> None:
        self.ref = ref
        self.seed = seed
        self.strategy_name = strategy
        self.factory = load_factory(ref)
        enable_determinism()
        self.strategy: Any = make_strategy(strategy)

    def fresh(self) -> Setup:
        """A brand-new Setup, built from identical seeds and a cleared Keras session."""
        fresh_start(self.seed)
        setup = call_factory(self.factory, self.ref, self.strategy)
        check_trainable(setup)
        return setup

    def build_optimizers(self, setup: Setup, built_over: dict[str, Optional[list[int]]]) -> None:
        """Build optimizers that are still unbuilt after restore, over the variables they were trained on.

        Keras 3 creates slots lazily and TF defers their restoration until then, so slots are only
        comparable once built. Building AFTER the user's restore is what the first resumed train step does
        anyway; building BEFORE would change the code path under test (e.g. it makes `load_weights`
        restore an optimizer that a real resume would silently skip).
        """
        from ckptlint.harness.snapshot import model_variables

        variables = model_variables(setup.model)
        for name, positions in built_over.items():
            opt = setup.optimizers.get(name)
            if opt is None or positions is None or getattr(opt, "built", True):
                continue
            if any(p >= len(variables) for p in positions):
                continue  # the restored model has fewer variables: reported as missing slots
            with self.strategy.scope():
                guarded("optimizer build", opt.build, [variables[p] for p in positions])
