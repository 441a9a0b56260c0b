"""The seven checks of DESIGN.md §4, each a module with ``NAME`` and ``run(ctx)``."""

from __future__ import annotations

from collections.abc import Callable

from conformance.checks import bad_input, contract, finite_difference, float32, forward, gradient, taylor
from conformance.checks.context import Context
from conformance.measurement import CHECK_NAMES, Measurement

CheckFunction = Callable[[Context], list[Measurement]]

CHECKS: dict[str, CheckFunction] = {
    module.NAME: module.run
    for module in (forward, gradient, finite_difference, taylor, float32, contract, bad_input)
}
"""Check name -> function, in the order of DESIGN.md §4."""
assert tuple(CHECKS) == CHECK_NAMES, "measurement.CHECK_NAMES lists the checks for the reports"

EXTREME_REGIME_CHECKS = ("forward", "gradient", "float32")
"""The checks that draw from a row's extreme regime (numerical stability). The others
test consistency and the protocol on moderate values, so an overflow shows up once,
where it belongs, instead of masking every other verdict."""


def regimes_for(check: str, regimes: tuple[str, ...]) -> tuple[str, ...]:
    """The value regimes ``check`` draws from, out of a row's ``regimes``."""
    if check in EXTREME_REGIME_CHECKS:
        return regimes
    return tuple(r for r in regimes if r != "extreme")


__all__ = ["CHECKS", "EXTREME_REGIME_CHECKS", "CheckFunction", "Context", "regimes_for"]
