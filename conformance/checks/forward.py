"""Check: the forward output against the PyTorch reference, both in float64."""

from __future__ import annotations

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.numerics import compare

NAME = "forward"
REGIMES = ("moderate", "zeros")


def run(ctx: Context) -> list[Measurement]:
    row, example = ctx.row, ctx.example
    try:
        instance = invoke.construct(row, ctx.cls, example, np.float64)
        outputs = invoke.forward(row, instance, invoke.cast_values(row, example, np.float64))
        expected = ctx.reference.outputs
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]
    return compare_outputs(ctx, NAME, "float64", outputs, expected, ctx.tolerance(np.float64))


def compare_outputs(
    ctx: Context,
    check: str,
    dtype: str,
    outputs: tuple[np.ndarray, ...],
    expected: tuple[np.ndarray, ...],
    tolerance: float,
) -> list[Measurement]:
    """Each output against the reference's; a different number of outputs is one failure."""
    if len(outputs) != len(expected):
        method = f"{ctx.row.name}.{ctx.row.convention.method}"
        detail = f"{method} returned {len(outputs)} outputs; expected {len(expected)}"
        return [ctx.measurement(check, "out", dtype, "fail", detail=detail)]
    names = ctx.output_names(len(expected))
    measurements = []
    for name, actual, reference in zip(names, outputs, expected, strict=True):
        if np.shape(actual) != np.shape(reference):
            method = f"{ctx.row.name}.{ctx.row.convention.method}"
            detail = f"{method} returned {name} of shape {np.shape(actual)}; expected {np.shape(reference)}"
            measurements.append(
                ctx.measurement(check, name, dtype, "fail", detail=detail, tolerance=tolerance)
            )
        else:
            measurements.append(ctx.compared(check, name, dtype, compare(actual, reference, tolerance)))
    return measurements
