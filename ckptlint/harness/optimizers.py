"""One view of the three optimizer families a training program may use.

- Keras 3 (`keras.optimizers.*`): `variables` list, `built`, `build(var_list)`, `apply()` behind
  `apply_gradients()`.
- tf_keras / Keras 2 (`tf_keras.optimizers.*`, used by tf-models-official and Orbit): no `built`
  attribute (a private `_built`), `build(var_list)`, `variables` may be a method.
- tf_keras legacy `OptimizerV2`: slots made by `_create_all_weights(var_list)` inside every
  `apply_gradients()`, the learning rate kept as a "hyper" parameter.

Reading `opt.built` (Keras 3 only) made slots of the other families look never built; everything the
harness asks of an optimizer goes through here instead.
"""

from __future__ import annotations

from typing import Any, Optional


def all_variables(opt: Any) -> list[Any]:
    variables = getattr(opt, "variables", None)
    if callable(variables):
        variables = variables()
    return list(variables or [])


def iterations_variable(opt: Any) -> Any:
    return getattr(opt, "iterations", None)


def _learning_rate_holder(opt: Any) -> Any:
    """The schedule or variable the optimizer keeps its learning rate in."""
    hyper = getattr(opt, "_hyper", None)
    if isinstance(hyper, dict) and "learning_rate" in hyper:
        return hyper["learning_rate"]
    return getattr(opt, "_learning_rate", None)


def slot_variables(opt: Any) -> list[Any]:
    """The optimizer's per-variable state (Adam's m and v, momentum...): every variable but the step
    count and the learning rate, in the optimizer's own order (the order checkpoints store them by)."""
    skip = {id(iterations_variable(opt)), id(_learning_rate_holder(opt))}
    return [v for v in all_variables(opt) if id(v) not in skip]


def next_learning_rate(opt: Any) -> Any:
    """The learning rate the next update will use: a schedule evaluated at the current step count."""
    holder = _learning_rate_holder(opt)
    iterations = iterations_variable(opt)
    if callable(holder) and not hasattr(holder, "numpy") and iterations is not None:
        return holder(iterations)
    if holder is not None and hasattr(holder, "numpy"):
        return holder
    return getattr(opt, "learning_rate")


def is_built(opt: Any) -> Optional[bool]:
    """True/False when the optimizer says whether its slots exist; None when it cannot tell before its
    next update (tf_keras builds, or tops up, its slots inside every apply_gradients)."""
    if getattr(opt, "_built", False) is True:
        return True
    if type(opt).__module__.startswith("tf_keras.") or callable(getattr(opt, "_create_all_weights", None)):
        return None
    if "built" in getattr(opt, "__dict__", {}) or hasattr(type(opt), "built"):
        return bool(getattr(opt, "built"))
    return True


def build_method_names(opt: Any) -> tuple[str, ...]:
    """Methods that create the slots; each runs before the first update touches them."""
    return tuple(name for name in ("build", "_create_all_weights") if callable(getattr(opt, name, None)))


def update_method_names(opt: Any) -> tuple[str, ...]:
    """Methods through which an update enters the optimizer (`apply` is Keras 3's funnel)."""
    return tuple(name for name in ("apply_gradients", "apply") if callable(getattr(opt, name, None)))


def trained_variables(opt: Any) -> Optional[list[Any]]:
    """The variables the optimizer was built over, when it keeps them (Keras 3, tf_keras)."""
    for name in ("_trainable_variables", "_var_list"):
        value = getattr(opt, name, None)
        if isinstance(value, (list, tuple)):
            return list(value)
    return None


def build(opt: Any, variables: list[Any]) -> None:
    """Create the slots over `variables` the way the optimizer's own first update does."""
    if callable(getattr(opt, "_create_all_weights", None)):
        opt._create_all_weights(variables)
        return
    opt.build(variables)
    if hasattr(type(opt), "built") or "built" in getattr(opt, "__dict__", {}):
        opt.built = True
