"""Turns what Hypothesis drew (an :class:`ExampleSpec`) into arrays.

Hypothesis draws the sizes, the case and a seed; the values come from
``numpy.random.default_rng(seed)``, each input's through its kind. An example
is thus fully described by a few integers (printed in every failure message
and replayable with ``python -m conformance replay``), and the points where
gradients are compared are generic: no accidental ties or exact zeros, except
in the ``zeros`` regime, which puts them there on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.autograd import reference_final_state, reference_outputs
from conformance.cases import Case
from conformance.dims import typical_dims
from conformance.numerics import Array
from conformance.spec import Example, ExampleSpec, Row


def materialize(row: Row, spec: ExampleSpec) -> Example:
    """The arrays of the example ``spec`` of ``row``, deterministic in ``spec``."""
    rng = np.random.default_rng(spec.seed)
    dims, case = spec.dims, spec.case
    inputs = {t.name: t.kind.draw(rng, t.resolve(dims), dims, case) for t in row.inputs}
    params = {p.name: rng.standard_normal(p.resolve(dims)) for p in row.params}
    example = Example(spec, inputs, params, ())
    example = _with_state(row, example)
    if row.convention.scalar_output:
        # A random scalar, never 1: an implementation that ignores dout must fail.
        douts: tuple[Array, ...] = (np.asarray(rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-1, 1)),)
    else:
        shapes = [o.shape for o in reference_outputs(row, example)]
        douts = tuple(rng.standard_normal(shape) for shape in shapes)
    return example.with_douts(douts)


def _with_state(row: Row, example: Example) -> Example:
    """The state a call starts from, as the case says: zeros for a layer built with
    ``stateful=False``; for a carried state, the reference's final state after the first call."""
    state = row.convention.state
    mode = example.case.get("state")
    if state is None or mode == "set":
        return example
    if mode == "zero":
        return example.with_inputs({n: np.zeros_like(example.value(n)) for n in state.names})
    final = reference_final_state(row, example)
    return example.with_inputs({n: final[n] for n in state.names})


def typical_example(row: Row, case: Case | None = None, seed: int = 0) -> Example:
    """A small, non-degenerate example of ``row`` (its first case by default), without
    Hypothesis: for unit tests that build a layer from its row."""
    chosen = case if case is not None else row.cases()[0]
    return materialize(row, ExampleSpec(typical_dims(row.dims, chosen), chosen, seed))


def size_of(example: Example) -> int:
    """The largest tensor of the example: the K of the rounding bounds in ``numerics``."""
    arrays: list[Any] = [*example.inputs.values(), *example.params.values(), *example.douts]
    return max((int(np.size(a)) for a in arrays), default=1)
