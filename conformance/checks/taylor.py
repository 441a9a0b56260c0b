"""Check: the Taylor remainder |L(x + h v) - L(x) - h <g, v>| must shrink like h^2.

For the implementation's gradient g and a random direction v, a right g leaves
a remainder of order h^2 (log-log slope ~2), a wrong one of order h (slope ~1):
a verdict that needs no tolerance. Up to three random directions are tried, until
one shows the h^2 law (see numerics.TAYLOR_DIRECTIONS). Elements near a kink are
left out of v, and the steps stay below half the distance from the others to
their nearest kink.
"""

from __future__ import annotations

import math

import numpy as np

from conformance.checks.context import Context
from conformance.checks.probes import Probe, direction_rng, perturbation
from conformance.invoke import ImplementationRaised, ProtocolViolation, Unavailable
from conformance.measurement import Measurement
from conformance.numerics import (
    TAYLOR_DIRECTIONS,
    TAYLOR_SLOPE_THRESHOLD,
    TAYLOR_STEPS,
    Array,
    Loss,
    taylor_noise,
    taylor_remainders,
)

NAME = "taylor"
REGIMES = ("moderate", "zeros")

KINK_CLEARANCE = 1e-3
"""Elements closer than this to a kink are left out of the direction v."""


def run(ctx: Context) -> list[Measurement]:
    try:
        setup = perturbation(ctx)
        noise = taylor_noise(ctx.size, setup.magnitude)
        return [
            _measure(ctx, probe, setup.loss, noise, setup.gradients(probe.target)) for probe in setup.probes
        ]
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]


def _directions(ctx: Context, probe: Probe) -> tuple[list[Array], float]:
    """TAYLOR_DIRECTIONS random directions with max |v_i| = 1, zero near kinks, and the
    largest step that keeps every other element on its side of its kink."""
    rng = direction_rng(ctx, probe.target)
    clear = None if probe.distance is None else probe.distance >= KINK_CLEARANCE
    max_step = TAYLOR_STEPS[0]
    if clear is not None and clear.any():
        max_step = min(max_step, 0.5 * float(probe.distance[clear].min()))  # type: ignore[index]
    directions = []
    for _ in range(TAYLOR_DIRECTIONS):
        v = np.asarray(rng.standard_normal(probe.array.shape))
        if clear is not None:
            v[~clear] = 0.0
        if np.any(v):
            directions.append(v / np.max(np.abs(v)))
    return directions, max_step


def _measure(
    ctx: Context, probe: Probe, loss: Loss, noise: float, gradient: Array | Unavailable
) -> Measurement:
    if probe.skip:
        return ctx.measurement(NAME, probe.target, "float64", "skipped", detail=probe.skip)
    if isinstance(gradient, Unavailable):
        return ctx.unavailable(NAME, probe.target, "float64", gradient)

    def measured(
        status: str, detail: str, slope: float | None = None, non_finite: bool = False
    ) -> Measurement:
        return ctx.measurement(
            NAME,
            probe.target,
            "float64",
            status,
            slope=slope,
            tolerance=TAYLOR_SLOPE_THRESHOLD,
            detail=detail,
            non_finite=non_finite,
        )

    wrong = ctx.wrong_shape(NAME, probe.target, "float64", gradient, probe.array.shape)
    if wrong is not None:
        return wrong
    directions, max_step = _directions(ctx, probe)
    if not directions:
        return ctx.measurement(
            NAME, probe.target, "float64", "skipped", detail="every element sits at a kink"
        )
    g = np.asarray(gradient, dtype=np.float64)
    # Directions are tried in turn until one shows the h^2 law: the verdict is the same as
    # trying all of them (pass if any passes), at a third of the cost for a right gradient,
    # which matters for models whose every evaluation of L runs the whole network.
    results = []
    for v in directions:
        results.append(taylor_remainders(loss, probe.array, g, v, max_step, noise))
        if results[-1].finite and results[-1].passed:
            break
    if not all(r.finite for r in results):
        detail = "L, <g, v> or a remainder is NaN or infinite: forward or backward is not finite"
        return measured("fail", detail, non_finite=True)
    # Pass if any direction shows the h^2 law (or is linear and exact): see TAYLOR_DIRECTIONS.
    best = max(results, key=lambda r: math.inf if r.slope is None else r.slope)
    slopes = ", ".join("linear" if r.slope is None else f"{r.slope:.2f}" for r in results)
    if best.slope is None:
        detail = (
            f"slopes {slopes}; remainder at rounding level along a direction: L is linear there, <g, v> exact"
        )
    else:
        shown = ", ".join(
            f"{h:.1e}:{r:.1e}" for h, r in zip(best.steps[::4], best.remainders[::4], strict=True)
        )
        detail = f"slopes {slopes}; remainders (h:r) {shown}"
    return measured("pass" if best.passed else "fail", detail, best.slope)
