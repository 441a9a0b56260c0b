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


def input_magnitude(ctx: Context) -> float:
    """M = max(1, largest |value| of a real input): the factor on the reference tolerance here.

    The reference tolerance assumes values of order one. At extreme values a quantity that
    carries a rounding error of order u in absolute terms is multiplied by an input of
    magnitude M: 1 - tanh(a)^2 computed from a rounded tanh(a) near 1 is off by about 2u, and
    dWh = h_prev^T dt multiplies it by h_prev ~ M, so two correct evaluations (the layer's and
    the reference's) differ by about u M where the result itself may be tiny (measured: 7e-13
    for a correct RNN at M = 1e4, against a tolerance of 1e-13 for values of order one).
    Stability bugs (an overflow, a log of zero, a biased log) are off by far more than u M.
    """
    values = [
        float(np.max(np.abs(ctx.example.inputs[t.name])))
        for t in ctx.row.inputs
        if t.kind.follows_regime and t.route in ("forward", "state") and ctx.example.inputs[t.name].size
    ]
    return max([1.0, *values])


def run(ctx: Context) -> list[Measurement]:
    try:
        actual = invoke.run(ctx.row, ctx.cls, ctx.example, np.float64, need_output=False)
        reference = ctx.reference
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]
    tolerance = ctx.tolerance(np.float64) * input_magnitude(ctx)
    measurements = []
    if actual.outputs:  # forward returned None: the forward check reports it
        measurements += compare_outputs(ctx, NAME, "float64", actual.outputs, reference.outputs, tolerance)
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
