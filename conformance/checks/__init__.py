"""The checks of DESIGN.md §4, each a module with ``NAME``, ``REGIMES`` (the value regimes
its examples draw from), ``run(ctx)`` and optionally ``applies(row)`` (the reason it does
not apply to a row, if it does not)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.checks import (
    bad_input,
    contract,
    finite_difference,
    float32,
    forward,
    gradient,
    sampling,
    stability,
    taylor,
)
from conformance.checks.context import Context
from conformance.measurement import CHECK_NAMES, CORRECTNESS, Measurement
from conformance.spec import Row


def _needs_gradients(row: Row) -> str | None:
    return None if row.gradient_targets() else "nothing to differentiate"


@dataclass(frozen=True)
class Check:
    name: str
    group: str  # "correctness" or "robustness"
    run: Callable[[Context], list[Measurement]]
    REGIMES: tuple[str, ...]
    applies: Callable[[Row], str | None]
    dtype: str = "float64"  # what the implementation is run in


def _check(module: object, applies: Callable[[Row], str | None] | None = None) -> Check:
    name = str(module.NAME)  # type: ignore[attr-defined]
    default: Callable[[Row], str | None] = getattr(module, "applies", lambda row: None)
    return Check(
        name,
        "correctness" if name in CORRECTNESS else "robustness",
        module.run,  # type: ignore[attr-defined]
        tuple(module.REGIMES),  # type: ignore[attr-defined]
        applies or default,
        str(getattr(module, "DTYPE", "float64")),
    )


CHECKS: dict[str, Check] = {
    check.name: check
    for check in (
        _check(forward),
        _check(gradient, _needs_gradients),
        _check(finite_difference, _needs_gradients),
        _check(taylor, _needs_gradients),
        _check(float32),
        _check(contract),
        _check(sampling),
        _check(stability),
        _check(bad_input),
    )
}
"""Check name -> check, in report order."""
assert tuple(CHECKS) == CHECK_NAMES, "measurement.CHECK_NAMES lists the checks for the reports"

__all__ = ["CHECKS", "Check", "Context"]
