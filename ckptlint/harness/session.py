"""Build fresh Setups from the user's factory inside one process (the training process or a worker)."""

from __future__ import annotations

from typing import Any, Optional

from ckptlint.errors import CkptlintError
from ckptlint.harness.contract import Setup
from ckptlint.harness.target import TargetRef, call_factory, load_factory
from ckptlint.harness.tfenv import DEFAULT_SEED, enable_determinism, fresh_start, make_strategy
from ckptlint.harness.training import check_trainable


class Session:
    """The factory plus the process-wide TF settings it runs under (strategy, seed, determinism)."""

    def __init__(self, ref: TargetRef, strategy: Optional[str], seed: int = DEFAULT_SEED) -> None:
        self.ref = ref
        self.seed = seed
        self.strategy_name = strategy
        self.factory = load_factory(ref)
        if strategy is not None:
            require_strategy_parameter(self.factory, ref, strategy)  # before building anything
        enable_determinism()
        self.strategy: Any = make_strategy(strategy)

    def fresh(self) -> Setup:
        """A brand-new Setup, built from identical seeds and a cleared Keras session."""
        fresh_start(self.seed)
        setup = call_factory(self.factory, self.ref, self.strategy)
        problems = setup.problems()
        if problems:
            raise CkptlintError(f"factory {self.ref.describe()}: {problems[0]}")
        check_trainable(setup)
        if self.strategy_name is not None:
            check_strategy(setup, self.factory, self.strategy, self.ref, self.strategy_name)
        return setup


def _contract(name: str, option: Optional[str] = None) -> str:
    return (f"with {option or '--strategy ' + name} the factory must take a `strategy` argument and create "
            "the model and its optimizers inside `with strategy.scope():`")


def require_strategy_parameter(factory: Any, ref: TargetRef, name: str, option: Optional[str] = None) -> None:
    """Checked before the factory is first called: without the parameter, it would build everything
    outside the strategy and TF would fail much later, with "Mixing different tf.distribute.Strategy
    objects"."""
    import inspect

    try:
        takes_strategy = "strategy" in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or C callable: let the scope check below judge
        takes_strategy = True
    if not takes_strategy:
        raise missing_strategy(ref, name, option)


def missing_strategy(ref: TargetRef, name: str, option: Optional[str] = None) -> CkptlintError:
    return CkptlintError(f"factory {ref.describe()} does not take `strategy`: {_contract(name, option)}")


def check_strategy(setup: Setup, factory: Any, strategy: Any, ref: TargetRef, name: str,
                   option: Optional[str] = None) -> None:
    """Under --strategy, the model must have been created in the strategy's scope; otherwise TF fails
    later with the cryptic "Mixing different tf.distribute.Strategy objects"."""
    from ckptlint.harness.snapshot import model_variables

    require_strategy_parameter(factory, ref, name, option)
    contract = _contract(name, option)
    variables = model_variables(setup.model)
    outside = [v for v in variables if _strategy_of(v) is not strategy]
    if variables and outside:
        raise CkptlintError(f"factory {ref.describe()}: {len(outside)} model variable(s) were created outside "
                            f"the strategy's scope; {contract}")


def _strategy_of(variable: Any) -> Any:
    value = getattr(variable, "value", variable)  # a Keras 3 variable wraps the tf.Variable
    return getattr(value, "_distribute_strategy", None)
