"""Check: the layer run in float32 keeps float32 everywhere and agrees with the float64
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
from conformance.invoke import ImplementationRaised, ProtocolViolation, Unavailable
from conformance.measurement import Measurement
from conformance.numerics import Array
from conformance.spec import Example

NAME = "float32"
DTYPE = "float32"
REGIMES = ("moderate", "zeros")


def rounded(example: Example) -> Example:
    """The example with every real value rounded to float32 (and kept in float64)."""

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
    example = rounded(ctx.example)
    try:
        actual = invoke.run(row, ctx.cls, example, np.float32, need_output=False)
        outputs, gradients = reference_pass(row, example.with_inputs(actual.observed))
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float32", error)]
    tolerance = ctx.tolerance(np.float32)
    if not actual.outputs:
        outputs = ()  # forward returned None: the forward check reports it; the gradients are checked
    elif len(actual.outputs) != len(outputs):
        detail = f"{len(actual.outputs)} outputs; expected {len(outputs)}"
        return [ctx.measurement(NAME, "out", "float32", "fail", detail=detail)]
    pairs: list[tuple[str, Array | Unavailable, Array]] = list(
        zip(ctx.output_names(len(outputs)), actual.outputs[: len(outputs)], outputs, strict=True)
    )
    pairs += [(t, actual.gradient(t), gradients[t]) for t in row.gradient_targets()]
    measurements = []
    for target, value, expected in pairs:
        measurement = ctx.compare_gradient(
            NAME, target, "float32", value, expected, tolerance, exclude=ctx.at_kink(target, example)
        )
        dtype = getattr(value, "dtype", None)
        if measurement.status == "pass" and dtype != np.float32:
            measurement.status = "fail"
            measurement.detail = f"dtype {dtype}, expected float32 (dtype in = dtype out)"
        measurements.append(measurement)
    return measurements
