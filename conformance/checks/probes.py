"""The arrays that finite differences and Taylor remainders perturb, one per checked gradient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ProtocolViolation
from conformance.numerics import FD_STEP, Loss
from conformance.spec import Array


@dataclass(frozen=True)
class Probe:
    target: str  # "dx", "dW" ...
    array: Array  # perturbed in place: an input argument, or the layer's own parameter array
    distance: Array | None  # distance of each element to the nearest kink, if any

    @property
    def near_kink(self) -> Array | None:
        """Elements closer to a kink than the finite-difference step: a central difference
        there would straddle the kink."""
        return None if self.distance is None else self.distance < 2 * FD_STEP


def probes(ctx: Context, layer: Any, args: list[Array]) -> list[Probe]:
    """One probe per differentiable input (in ``args``) and per parameter (in ``layer.params``)."""
    found = []
    for index, tensor in enumerate(ctx.row.inputs):
        if tensor in ctx.row.differentiable_inputs:
            found.append(Probe(f"d{tensor.name}", args[index], ctx.kink_distance(tensor.name)))
    params = getattr(layer, "params", None)
    if not isinstance(params, (list, tuple)) or len(params) != len(ctx.row.params):
        raise ProtocolViolation(
            f"params holds {len(params) if isinstance(params, (list, tuple)) else params!r}; "
            f"expected {len(ctx.row.params)} arrays"
        )
    for spec, array in zip(ctx.row.params, params, strict=True):
        if not isinstance(array, np.ndarray) or array.dtype != np.float64:
            raise ProtocolViolation(
                f"params entry for {spec.name} is not a float64 array: {type(array).__name__}"
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

    gradients: Callable[[str], Array]
    probes: list[Probe]
    loss: Loss
    magnitude: float


def perturbation(ctx: Context) -> Perturbation:
    """Raises ImplementationRaised / ProtocolViolation when the implementation does."""
    row, example = ctx.row, ctx.example
    actual = invoke.run(row, ctx.cls, example, np.float64)
    layer = invoke.construct(row, ctx.cls, example, invoke.cast_params(example, row, np.float64))
    args = invoke.cast_inputs(example, row, np.float64)
    douts = list(example.douts)
    loss = invoke.scalarized_loss(row, layer, args, douts)
    magnitude = invoke.loss_magnitude(row, layer, args, douts)
    return Perturbation(actual.gradient, probes(ctx, layer, args), loss, magnitude)
