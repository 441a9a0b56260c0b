"""Check 1: the forward output against the PyTorch reference, both in float64."""

from __future__ import annotations

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.numerics import compare

NAME = "forward"


def run(ctx: Context) -> list[Measurement]:
    row, example = ctx.row, ctx.example
    try:
        layer = invoke.construct(row, ctx.cls, example, invoke.cast_params(example, row, np.float64))
        outputs = invoke.forward(row, layer, invoke.cast_inputs(example, row, np.float64))
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]
    expected = ctx.reference.outputs
    if len(outputs) != len(expected):
        detail = f"forward returned {len(outputs)} outputs; expected {len(expected)}"
        return [ctx.measurement(NAME, "out", "float64", "fail", detail=detail)]
    tolerance = ctx.tolerance(np.float64)
    names = ctx.output_names(len(expected))
    return [
        ctx.compared(NAME, name, "float64", compare(actual, reference, tolerance))
        for name, actual, reference in zip(names, outputs, expected, strict=True)
    ]
