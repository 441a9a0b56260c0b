"""Check: malformed input gets a clear error.

Each malformation of the row (see ``conformance.malformations``) must make the
layer raise ``ValueError`` or ``TypeError`` whose message names the layer
class and the argument, at construction, forward or backward. Accepting the
input, or failing with another exception (an ``IndexError`` deep inside NumPy,
a ``FloatingPointError``), is a failure.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.malformations import Malformation, derived
from conformance.measurement import Measurement
from conformance.spec import Example

NAME = "bad_input"
REGIMES = ("moderate",)


def run(ctx: Context) -> list[Measurement]:
    measurements = []
    for malformation in derived(ctx.row):
        reason = ctx.row.skip_reason(NAME, malformation.target)
        if reason:
            measurements.append(
                ctx.measurement(NAME, malformation.target, "float64", "skipped", detail=reason)
            )
        elif malformation.applies(ctx.example):
            measurements.append(_measure(ctx, malformation))
    return measurements


def _attempt(ctx: Context, bad: Example) -> tuple[Any, dict[str, Any]]:
    """Construct, forward and backward with the malformed example exactly as drawn (no casting);
    what forward and backward returned."""
    row = ctx.row
    instance = invoke.construct(row, ctx.cls, bad, np.float64, params=dict(bad.params), valid=False)
    values = {t.name: bad.inputs[t.name] for t in row.inputs if t.route != "construct"}
    result = invoke.forward(row, instance, values)
    douts = [bad.douts[0]] if row.convention.scalar_output else list(bad.douts)
    return result, invoke.backward(row, instance, douts)


STAGES = {"constructor": 0, "forward": 1, "backward": 2}
"""Order of the stages ``invoke`` reports; an error must come no later than LATEST[stage]."""

LATEST = {"construct": "forward", "forward": "forward", "backward": "backward"}
"""Bad parameters may be refused by the constructor or, lazily, by the first forward; bad
inputs by forward (an error only in backward means forward returned a wrong answer);
a bad dout by backward."""


def _measure(ctx: Context, malformation: Malformation) -> Measurement:
    bad = malformation.make(ctx.example)
    target = malformation.target
    try:
        result, gradients = _attempt(ctx, bad)
    except ImplementationRaised as raised:
        status, detail = _judge(ctx.row.name, malformation.argument, raised.error)
        latest = LATEST[malformation.stage]
        if status == "pass" and STAGES[raised.stage] > STAGES[latest]:
            status = "fail"
            detail = f"{latest} accepted it; the error came only from {raised.stage}: {detail}"
        return ctx.measurement(NAME, target, "float64", status, detail=detail)
    except ProtocolViolation as violation:
        return ctx.measurement(NAME, target, "float64", "fail", detail=f"no error raised, and {violation}")
    if malformation.stage == "backward":
        shapes = {name: list(np.shape(g)) for name, g in gradients.items() if isinstance(g, np.ndarray)}
        returned = ", ".join(f"d{name} of shape {shape}" for name, shape in shapes.items()) or "no gradient"
        accepted = f"backward returned {returned}"
    else:
        outputs = [list(np.shape(r)) for r in (result if isinstance(result, tuple) else (result,))]
        accepted = f"forward returned shape {outputs[0] if len(outputs) == 1 else outputs}"
    detail = f"accepted silently ({accepted}); expected ValueError or TypeError"
    return ctx.measurement(NAME, target, "float64", "fail", detail=detail)


def _judge(layer: str, argument: str, error: BaseException) -> tuple[str, str]:
    message = str(error)
    kind = type(error).__name__
    if not isinstance(error, (ValueError, TypeError)):
        return "fail", f"raised {kind} (expected ValueError or TypeError): {message}"
    missing = [name for name in (layer, argument) if not re.search(rf"\b{re.escape(name)}\b", message)]
    if missing:
        return "fail", f"raised {kind} without naming {' and '.join(missing)}: {message}"
    return "pass", f"{kind}: {message}"
