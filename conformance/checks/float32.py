"""Check 5: the layer run in float32 keeps float32 everywhere and agrees with the float64
reference within a float32 tolerance.

The reference is evaluated on the float32-rounded inputs, parameters and
upstream gradients, so the rounding of the data itself is not counted against
the implementation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from conformance import invoke
from conformance.autograd import reference_pass
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.numerics import compare
from conformance.spec import Array, Example

NAME = "float32"


def _rounded(example: Example) -> Example:
    def f32(a: Array) -> Array:
        return a.astype(np.float32).astype(np.float64) if a.dtype.kind == "f" else a

    return dataclasses.replace(
        example,
        inputs={k: f32(v) for k, v in example.inputs.items()},
        params={k: f32(v) for k, v in example.params.items()},
        douts=tuple(f32(d) for d in example.douts),
    )


def run(ctx: Context) -> list[Measurement]:
    row = ctx.row
    rounded = _rounded(ctx.example)
    try:
        actual = invoke.run(row, ctx.cls, rounded, np.float32)
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float32", error)]
    reference = reference_pass(row, rounded)
    tolerance = ctx.tolerance(np.float32)
    pairs: list[tuple[str, object, Array]] = list(
        zip(ctx.output_names(len(reference.outputs)), actual.outputs, reference.outputs, strict=False)
    )
    pairs += [(t, actual.gradient(t), reference.gradient(t)) for t in row.gradient_targets()]
    measurements = []
    for target, value, expected in pairs:
        at_kink = ctx.at_kink(target, rounded)
        measurement = ctx.compared(
            NAME, target, "float32", compare(value, expected, tolerance, exclude=at_kink)
        )
        dtype = getattr(value, "dtype", None)
        if dtype != np.float32:
            measurement.status = "fail"
            measurement.detail = f"dtype {dtype}, expected float32 (dtype in = dtype out)"
        measurements.append(measurement)
    if len(actual.outputs) != len(reference.outputs):
        measurements.append(
            ctx.measurement(
                NAME,
                "out",
                "float32",
                "fail",
                detail=f"{len(actual.outputs)} outputs; expected {len(reference.outputs)}",
            )
        )
    return measurements
