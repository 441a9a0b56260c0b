"""Turns what Hypothesis drew (an :class:`ExampleSpec`) into arrays.

Hypothesis draws the sizes, the value regime, the label format and a seed;
the values come from ``numpy.random.default_rng(seed)``. An example is thus
fully described by a few integers (printed in every failure message and
replayable with ``python -m conformance replay``), and the points where
gradients are compared are generic: no accidental ties or exact zeros, except
in the ``zeros`` regime, which puts them there on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.autograd import reference_outputs
from conformance.spec import Array, Example, ExampleSpec, Kind, Role, Row, Tensor

REGIMES = ("moderate", "zeros", "extreme")
"""moderate: standard normal values; zeros: standard normal with about a third of the
elements exactly 0 (where ReLU has its kink, and where a hand-written 0/0 or x/|x|
breaks); extreme: magnitudes 1e2 to 1e4 with random signs (logits far beyond where
exp overflows)."""

EXTREME_MAGNITUDES = (2.0, 4.0)
"""log10 of the smallest and largest magnitude in the extreme regime."""


def materialize(row: Row, spec: ExampleSpec) -> Example:
    """The arrays of the example ``spec`` of ``row``, deterministic in ``spec``."""
    rng = np.random.default_rng(spec.seed)
    inputs = {t.name: _input_values(rng, t, spec) for t in row.inputs}
    params = {p.name: rng.standard_normal(p.shape(spec.dims)) for p in row.params}
    if row.kind in (Kind.LOSS, Kind.MODEL):
        # A random scalar, never 1: an implementation that ignores dout must fail.
        douts: tuple[Array, ...] = (np.asarray(rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-1, 1)),)
    else:
        shapes = [o.shape for o in reference_outputs(row, inputs, params, spec.dims)]
        douts = tuple(rng.standard_normal(shape) for shape in shapes)
    return Example(spec, inputs, params, douts)


def _input_values(rng: np.random.Generator, tensor: Tensor, spec: ExampleSpec) -> Array:
    shape = tensor.shape(spec.dims)
    if tensor.role is Role.LABELS:
        n_classes = spec.dims[tensor.classes]
        indices = rng.integers(0, n_classes, size=shape)
        if spec.labels == "one_hot":
            return np.eye(n_classes)[indices]
        return indices.astype(np.int64)
    if tensor.role is Role.BINARY:
        return rng.integers(0, 2, size=shape).astype(np.int64)
    if tensor.role is Role.TARGET:
        return rng.standard_normal(shape)
    return regime_values(rng, shape, spec.regime)


def regime_values(rng: np.random.Generator, shape: tuple[int, ...], regime: str) -> Array:
    """Float64 values of ``shape`` in the named regime."""
    if regime == "extreme":
        low, high = EXTREME_MAGNITUDES
        signs = rng.choice([-1.0, 1.0], size=shape)
        return np.asarray(signs * 10.0 ** rng.uniform(low, high, size=shape))
    values = rng.standard_normal(shape)
    if regime == "zeros":
        values[rng.random(shape) < 1 / 3] = 0.0
    elif regime != "moderate":
        raise ValueError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
    return values


def size_of(example: Example) -> int:
    """The largest tensor of the example: the K of the rounding bounds in ``numerics``."""
    arrays: list[Any] = [*example.inputs.values(), *example.params.values(), *example.douts]
    return max((int(np.size(a)) for a in arrays), default=1)
