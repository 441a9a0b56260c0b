"""Check: every input, state and parameter gradient against ``torch.autograd``, both in float64.

Elements exactly at a kink (ReLU at 0) are not judged: any value between the
one-sided derivatives is a valid subgradient there.
"""

from __future__ import annotations

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement

NAME = "gradient"
REGIMES = ("moderate", "zeros")


def run(ctx: Context) -> list[Measurement]:
    try:
        actual = invoke.run(ctx.row, ctx.cls, ctx.example, np.float64, need_output=False)
        reference = ctx.reference
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
        measurements.append(
            ctx.compare_gradient(
                NAME,
                target,
                "float64",
                actual.gradient(target),
                reference.gradient(target),
                tolerance,
                exclude=at_kink,
                detail=detail,
            )
        )
    return measurements
