"""Check 2: every input and parameter gradient against ``torch.autograd``, both in float64.

Elements exactly at a kink (ReLU at 0) are not judged: any value between the
one-sided derivatives is a valid subgradient there.
"""

from __future__ import annotations

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.numerics import compare

NAME = "gradient"


def run(ctx: Context) -> list[Measurement]:
    try:
        actual = invoke.run(ctx.row, ctx.cls, ctx.example, np.float64)
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]
    tolerance = ctx.tolerance(np.float64)
    measurements = []
    for target in ctx.row.gradient_targets():
        at_kink = ctx.at_kink(target)
        detail = (
            f"{int(at_kink.sum())} element(s) at a kink not judged"
            if at_kink is not None and at_kink.any()
            else ""
        )
        comparison = compare(
            actual.gradient(target), ctx.reference.gradient(target), tolerance, exclude=at_kink
        )
        measurements.append(ctx.compared(NAME, target, "float64", comparison, detail=detail))
    return measurements
