"""Check: every gradient against central finite differences of the implementation's own
forward, in float64.

Element-wise for tensors up to FD_ELEMENTWISE_LIMIT elements, along random
directions beyond. Elements within two steps of a kink are skipped. The noise
floor is the reference gradient judged against the same differences: how well
finite differences can resolve a right answer on this example.
"""

from __future__ import annotations

import numpy as np

from conformance.checks.context import Context
from conformance.checks.probes import Probe, direction_rng, perturbation
from conformance.invoke import ImplementationRaised, ProtocolViolation, Unavailable
from conformance.measurement import Measurement
from conformance.numerics import (
    FD_DIRECTIONS,
    FD_ELEMENTWISE_LIMIT,
    Array,
    Loss,
    central_difference_gradient,
    compare,
    directional_differences,
    finite_difference_tolerance,
    scale_of,
)

NAME = "finite_difference"
REGIMES = ("moderate", "zeros")


def run(ctx: Context) -> list[Measurement]:
    try:
        setup = perturbation(ctx)
        return [
            _probe(ctx, probe, setup.loss, setup.magnitude, setup.gradients(probe.target))
            for probe in setup.probes
        ]
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]


def _probe(
    ctx: Context, probe: Probe, loss: Loss, magnitude: float, gradient: Array | Unavailable
) -> Measurement:
    if probe.skip:
        return ctx.measurement(NAME, probe.target, "float64", "skipped", detail=probe.skip)
    if isinstance(gradient, Unavailable):
        return ctx.unavailable(NAME, probe.target, "float64", gradient)
    return _measure(ctx, probe, loss, magnitude, gradient)


def _measure(ctx: Context, probe: Probe, loss: Loss, magnitude: float, gradient: Array) -> Measurement:
    wrong = ctx.wrong_shape(NAME, probe.target, "float64", gradient, probe.array.shape)
    if wrong is not None:
        return wrong
    reference = ctx.reference.gradient(probe.target)
    skip = probe.near_kink
    if probe.array.size <= FD_ELEMENTWISE_LIMIT:
        estimate = central_difference_gradient(loss, probe.array, skip)  # NaN where skipped
        if skip is not None:
            estimate[skip] = 0.0
        size = probe.array.size
        actual, expected, how = gradient, reference, f"element-wise over {size} element{'s' * (size != 1)}"
    else:
        directions = _directions(ctx, probe)
        estimate = directional_differences(loss, probe.array, directions)
        actual = np.array([np.sum(gradient * v) for v in directions])
        expected = np.array([np.sum(reference * v) for v in directions])
        how, skip = f"along {len(directions)} random unit directions", None
    if skip is not None and skip.any():
        how += f", {int(skip.sum())} within 2 steps of a kink skipped"
    if not np.all(np.isfinite(estimate)):
        detail = f"{how}; the differences are not finite: forward returns NaN or inf near this point"
        return ctx.measurement(NAME, probe.target, "float64", "fail", detail=detail, non_finite=True)
    tolerance = (
        finite_difference_tolerance(ctx.size, magnitude, scale_of(estimate)) * ctx.row.tolerance_factor
    )
    comparison = compare(actual, estimate, tolerance, exclude=skip)
    noise = compare(expected, estimate, tolerance, exclude=skip).max_rel_err
    return ctx.compared(NAME, probe.target, "float64", comparison, noise_floor=noise, detail=how)


def _directions(ctx: Context, probe: Probe) -> list[Array]:
    rng = direction_rng(ctx, probe.target)
    directions = []
    for _ in range(FD_DIRECTIONS):
        v = np.asarray(rng.standard_normal(probe.array.shape))
        if probe.near_kink is not None:
            v[probe.near_kink] = 0.0
        norm = float(np.linalg.norm(v))
        directions.append(v / norm if norm > 0 else v)
    return directions
