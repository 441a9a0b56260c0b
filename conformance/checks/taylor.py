"""Check 4: the Taylor remainder |L(x + h v) - L(x) - h <g, v>| must shrink like h^2.

For the implementation's gradient g and a random direction v, a right g leaves
a remainder of order h^2 (log-log slope ~2), a wrong one of order h (slope ~1):
a verdict that needs no tolerance. Elements near a kink are left out of v, and
the steps stay below half the distance from the others to their nearest kink.
"""

from __future__ import annotations

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.checks.probes import Probe, direction_rng, probes
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.numerics import TAYLOR_SLOPE_THRESHOLD, TAYLOR_STEPS, Loss, taylor_remainders, unit_roundoff
from conformance.spec import Array

NAME = "taylor"

KINK_CLEARANCE = 1e-3
"""Elements closer than this to a kink are left out of the direction v."""


def run(ctx: Context) -> list[Measurement]:
    row, example = ctx.row, ctx.example
    try:
        actual = invoke.run(row, ctx.cls, example, np.float64)
        layer = invoke.construct(row, ctx.cls, example, invoke.cast_params(example, row, np.float64))
        args = invoke.cast_inputs(example, row, np.float64)
        douts = list(example.douts)
        loss = invoke.scalarized_loss(row, layer, args, douts)
        # Rounding noise of one evaluation of L: K u sum|dout * out| (see numerics).
        noise = ctx.size * unit_roundoff(np.float64) * invoke.loss_magnitude(row, layer, args, douts)
        return [
            _measure(ctx, probe, loss, noise, actual.gradient(probe.target))
            for probe in probes(ctx, layer, args)
        ]
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]


def _measure(ctx: Context, probe: Probe, loss: Loss, noise: float, gradient: Array) -> Measurement:
    if np.shape(gradient) != probe.array.shape:
        detail = f"gradient of shape {np.shape(gradient)}, expected {probe.array.shape}"
        return ctx.measurement(
            NAME, probe.target, "float64", "fail", detail=detail, tolerance=TAYLOR_SLOPE_THRESHOLD
        )
    direction = np.asarray(direction_rng(ctx, probe.target).standard_normal(probe.array.shape))
    max_step = TAYLOR_STEPS[0]
    if probe.distance is not None:
        clear = probe.distance >= KINK_CLEARANCE
        direction[~clear] = 0.0
        if clear.any():
            max_step = min(max_step, 0.5 * float(probe.distance[clear].min()))
    if not np.any(direction):
        return ctx.measurement(
            NAME, probe.target, "float64", "skipped", detail="every element sits at a kink"
        )
    direction /= np.max(np.abs(direction))
    result = taylor_remainders(
        loss, probe.array, np.asarray(gradient, dtype=np.float64), direction, max_step, noise
    )
    status = "pass" if result.passed else "fail"
    if result.slope is None:
        detail = "remainder at rounding level for every step: L is linear along v and <g, v> is exact"
    else:
        shown = ", ".join(
            f"{h:.1e}:{r:.1e}" for h, r in zip(result.steps[::4], result.remainders[::4], strict=True)
        )
        detail = f"remainders (h:r) {shown}"
    return ctx.measurement(
        NAME,
        probe.target,
        "float64",
        status,
        slope=result.slope,
        tolerance=TAYLOR_SLOPE_THRESHOLD,
        detail=detail,
    )
