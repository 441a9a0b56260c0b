"""Bad inputs: one kind of malformed input each, derived from a valid example.

The ``bad_input`` check applies every malformation of a row and expects a
``ValueError`` or ``TypeError`` that names the layer and the argument. Most
come from the row's declarations: each input's kind malforms itself (see
:mod:`conformance.kinds`: integer data for real inputs, extra and missing axes
for fixed-rank ones, labels and indices out of range ...), each parameter gets
an integer dtype and rank changes, and the calling convention malforms the
upstream gradient. Rows add their own with the helpers below (a feature size
that does not match W, shapes that would broadcast, an axis out of range), and
may declare one of them not applicable, with the reason, in ``not_applicable``
(key ``bad_input:<argument>:<kind>``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from conformance.numerics import Array

if TYPE_CHECKING:
    from conformance.spec import Example, Row


@dataclass(frozen=True)
class Malformation:
    """One kind of bad input derived from a valid example.

    ``make(example)`` returns the example with one thing broken; ``stage`` says
    where the error must be raised: ``"construct"`` (bad params or constructor
    data), ``"forward"`` (bad inputs or state) or ``"backward"`` (bad dout). The
    error message must mention ``argument``. ``applies(example)`` rules out
    examples where the change is not malformed (e.g. broadcasting along a
    dimension that is already 1).
    """

    argument: str
    kind: str
    make: Callable[[Example], Example]
    stage: str = "forward"
    applies: Callable[[Example], bool] = lambda example: True

    @property
    def target(self) -> str:
        return f"{self.argument}:{self.kind}"


def grow_last_axis(array: Array) -> Array:
    """One more element along the last axis (a 0-d array becomes shape (2,))."""
    if array.ndim == 0:
        return np.repeat(array, 2)
    return np.concatenate([array, array[..., :1]], axis=-1)


def input_resized(name: str, kind: str = "feature_size") -> Malformation:
    """``name`` with one more element on its last axis than the layer's weights or other input fit."""
    return Malformation(name, kind, lambda ex: ex.with_input(name, grow_last_axis(ex.value(name))))


def input_broadcastable(name: str, like: str) -> Malformation:
    """``name`` shrunk to size 1 along the first axis where ``like`` is longer: NumPy would
    broadcast it silently."""

    def make(example: Example) -> Example:
        value = example.value(name)
        axis = next(i for i, n in enumerate(example.value(like).shape) if n > 1)
        return example.with_input(name, np.take(value, [0], axis=axis))

    return Malformation(
        name, "broadcastable_shape", make, applies=lambda ex: any(n > 1 for n in ex.value(like).shape)
    )


def param_resized(name: str) -> Malformation:
    return Malformation(
        name, "size", lambda ex: ex.with_param(name, grow_last_axis(ex.params[name])), stage="construct"
    )


def dims_changed(argument: str, kind: str, stage: str = "construct", **changes: Any) -> Malformation:
    """A constructor argument taken from the dims, changed (``repeats=0``, ``hidden_size=0``)."""
    return Malformation(argument, kind, lambda ex: ex.with_dims(**changes), stage=stage)


def _param_malformations(row: Row) -> list[Malformation]:
    found = []
    for param in row.params:
        name = param.name

        def integer(example: Example, name: str = name) -> Example:
            return example.with_param(name, np.round(example.params[name]).astype(np.int64))

        def extra_axis(example: Example, name: str = name) -> Example:
            return example.with_param(name, example.params[name][np.newaxis])

        found += [
            Malformation(name, "integer_dtype", integer, stage="construct"),
            Malformation(name, "extra_axis", extra_axis, stage="construct"),
        ]
    return found


def _when_reaching(row: Row, name: str, malformation: Malformation) -> Malformation:
    """The malformation, applied only in the cases where the input reaches the implementation
    (a state is handed over only where the case calls set_state)."""
    convention, applies = row.convention, malformation.applies
    return dataclasses.replace(
        malformation, applies=lambda ex: convention.reaches(row, name, ex.case) and applies(ex)
    )


def derived(row: Row) -> tuple[Malformation, ...]:
    """Every malformation that follows from the row's declarations, then the row's own."""
    found: list[Malformation] = []
    for tensor in row.inputs:
        if tensor.route == "hidden":
            continue  # never handed to the implementation
        for malformation in tensor.kind.malformations(tensor, row.fixed_rank(tensor)):
            found.append(_when_reaching(row, tensor.name, malformation))
    if row.convention.takes_params:
        found += _param_malformations(row)
    found += row.convention.dout_malformations()
    return (*found, *row.malformed)
