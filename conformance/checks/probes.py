"""The arrays that finite differences and Taylor remainders perturb, one per checked gradient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ProtocolViolation, Unavailable
from conformance.numerics import FD_STEP, Array, Loss


@dataclass(frozen=True)
class Probe:
    target: str  # "dx", "dW" ...
    array: Array  # perturbed in place: an input value the calls copy, or the layer's own parameter array
    distance: Array | None  # distance of each element to the nearest kink, if any
    skip: str = ""  # why this gradient cannot be probed here (reported as skipped)

    @property
    def near_kink(self) -> Array | None:
        """Elements closer to a kink than the finite-difference step: a central difference
        there would straddle the kink."""
        return None if self.distance is None else self.distance < 2 * FD_STEP


STATE_NOT_AN_INPUT = (
    "the layer is built with stateful=False here and starts from zeros whatever the state holds,"
    " so the state cannot be perturbed; it is probed in the set_state case"
)


def probes(ctx: Context, instance: invoke.Instance, values: dict[str, Array]) -> list[Probe]:
    """One probe per returned input gradient, state gradient and parameter."""
    row = ctx.row
    found = [Probe(f"d{t.name}", values[t.name], ctx.kink_distance(t.name)) for t in row.returned_gradients]
    for tensor in row.state_gradients:
        settable = ctx.example.case.get("state") == "set"
        found.append(
            Probe(f"d{tensor.name}", values[tensor.name], None, "" if settable else STATE_NOT_AN_INPUT)
        )
    if row.params:
        params, _ = invoke.live_params(row, instance)
        for spec in row.params:
            array = params[spec.name]
            if array.dtype != np.float64:
                raise ProtocolViolation(
                    f"{instance.name}'s parameter {spec.name} is {array.dtype};"
                    " it was built from float64 arrays"
                )
            found.append(Probe(f"d{spec.name}", array, None))
    return found


def direction_rng(ctx: Context, target: str) -> np.random.Generator:
    """Random directions that depend only on the example and the gradient's name."""
    return np.random.default_rng([ctx.example.spec.seed, *target.encode()])


@dataclass(frozen=True)
class Perturbation:
    """What the finite-difference and Taylor checks share for one example (float64):
    the implementation's gradients, a probe per gradient, the scalarised loss
    L = sum(dout * out) over the probes' arrays, and sum|dout * out| (its rounding scale)."""

    gradients: Callable[[str], Array | Unavailable]
    probes: list[Probe]
    loss: Loss
    magnitude: float


def perturbation(ctx: Context) -> Perturbation:
    """Raises ImplementationRaised / ProtocolViolation when the implementation does."""
    row, example = ctx.row, ctx.example
    actual = invoke.run(row, ctx.cls, example, np.float64)
    instance = invoke.construct(row, ctx.cls, example, np.float64)
    values = invoke.cast_values(row, example, np.float64)
    douts = list(example.douts)
    loss = invoke.scalarized_loss(row, instance, values, douts)
    magnitude = invoke.loss_magnitude(row, instance, values, douts)
    return Perturbation(actual.gradient, probes(ctx, instance, values), loss, magnitude)
