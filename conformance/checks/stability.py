"""Check: at extreme values (magnitudes 1e2 to 1e4, far beyond where ``exp`` overflows),
outputs and gradients stay finite, equal the float64 reference, and raise no
floating-point warning.

The extreme regime lives here only, so that an overflow in a correct formula
written as the book writes it (``1 / (1 + np.exp(-x))``) is one robustness
finding, and never hides the verdict of the correctness checks on moderate values.
"""

from __future__ import annotations

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.checks.forward import compare_outputs
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.spec import Row

NAME = "stability"
REGIMES = ("extreme",)


def applies(row: Row) -> str | None:
    if not any(t.kind.follows_regime and t.route in ("forward", "state") for t in row.inputs):
        return "no real-valued input to take to extreme values"
    return None


def run(ctx: Context) -> list[Measurement]:
    try:
        actual = invoke.run(ctx.row, ctx.cls, ctx.example, np.float64)
        reference = ctx.reference
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]
    tolerance = ctx.tolerance(np.float64)
    measurements = compare_outputs(ctx, NAME, "float64", actual.outputs, reference.outputs, tolerance)
    for target in ctx.row.gradient_targets():
        measurements.append(
            ctx.compare_gradient(
                NAME,
                target,
                "float64",
                actual.gradient(target),
                reference.gradient(target),
                tolerance,
                exclude=ctx.at_kink(target),
            )
        )
    return measurements
