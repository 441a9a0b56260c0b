"""Bad inputs derived from a row's declared inputs and parameters.

For each example the ``bad_input`` check applies every malformation of the row
and expects a ``ValueError`` or ``TypeError`` that names the layer and the
argument. What is derived here from the row's :class:`~conformance.spec.Tensor`
declarations:

- real inputs and parameters: integer dtype; for fixed-rank ones, an extra and a
  missing axis;
- class labels: an index equal to C, a negative index, float indices, one label
  too many, a one-hot row that is not a distribution;
- 0/1 labels: a value of 2, a shape different from the scores';
- upstream gradients: an extra axis on a layer's dout, an array where a loss
  expects a scalar.

Rows add their own (a feature size that does not match W, shapes that would
broadcast, an axis out of range) with the helpers below.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from conformance.spec import Array, Example, Kind, Malformation, Role, Row, Tensor


def with_input(example: Example, name: str, value: Array) -> Example:
    return dataclasses.replace(example, inputs={**example.inputs, name: value})


def with_param(example: Example, name: str, value: Array) -> Example:
    return dataclasses.replace(example, params={**example.params, name: value})


def with_dims(example: Example, **changes: Any) -> Example:
    spec = dataclasses.replace(example.spec, dims={**example.dims, **changes})
    return dataclasses.replace(example, spec=spec)


def grow_last_axis(array: Array) -> Array:
    """One more element along the last axis (a 0-d array becomes shape (2,))."""
    if array.ndim == 0:
        return np.repeat(array, 2)
    return np.concatenate([array, array[..., :1]], axis=-1)


def input_resized(name: str, kind: str = "feature_size") -> Malformation:
    """``name`` with one more element on its last axis than the layer's weights or other input fit."""
    return Malformation(name, kind, lambda ex: with_input(ex, name, grow_last_axis(ex.inputs[name])))


def input_broadcastable(name: str, like: str) -> Malformation:
    """``name`` shrunk to size 1 along the first axis where ``like`` is longer: NumPy would
    broadcast it silently."""

    def make(example: Example) -> Example:
        value = example.inputs[name]
        axis = next(i for i, n in enumerate(example.inputs[like].shape) if n > 1)
        return with_input(example, name, np.take(value, [0], axis=axis))

    return Malformation(
        name, "broadcastable_shape", make, applies=lambda ex: any(n > 1 for n in ex.inputs[like].shape)
    )


def param_resized(name: str) -> Malformation:
    return Malformation(
        name, "size", lambda ex: with_param(ex, name, grow_last_axis(ex.params[name])), stage="construct"
    )


def derived(row: Row) -> tuple[Malformation, ...]:
    """Every malformation that follows from the row's declarations, then the row's own."""
    found: list[Malformation] = []
    for tensor in row.inputs:
        found += _for_input(tensor)
    if row.kind is not Kind.MODEL:
        for param in row.params:
            found += _for_real(param, stage="construct")
    found += _for_dout(row)
    return (*found, *row.malformed)


def _for_input(tensor: Tensor) -> list[Malformation]:
    if tensor.role in (Role.FLOAT, Role.TARGET):
        return _for_real(tensor, stage="forward")
    if tensor.role is Role.LABELS:
        return _for_labels(tensor)
    return _for_binary(tensor)


def _for_real(tensor: Tensor, stage: str) -> list[Malformation]:
    name = tensor.name
    source = "params" if stage == "construct" else "inputs"

    def replaced(example: Example, value: Array) -> Example:
        return with_param(example, name, value) if source == "params" else with_input(example, name, value)

    def current(example: Example) -> Array:
        return getattr(example, source)[name]  # type: ignore[no-any-return]

    found = [
        Malformation(
            name,
            "integer_dtype",
            lambda ex: replaced(ex, np.asarray(np.round(current(ex))).astype(np.int64)),
            stage,
        ),
    ]
    if tensor.fixed_rank:
        found.append(
            Malformation(name, "extra_axis", lambda ex: replaced(ex, current(ex)[np.newaxis]), stage)
        )
        found.append(
            Malformation(
                name,
                "missing_axis",
                lambda ex: replaced(ex, current(ex)[0]),
                stage,
                applies=lambda ex: current(ex).ndim >= 1,
            )
        )
    return found


def _indices(example: Example, name: str) -> Array:
    labels = example.inputs[name]
    return labels.argmax(axis=-1) if labels.dtype.kind == "f" else labels.copy()


def _for_labels(tensor: Tensor) -> list[Malformation]:
    name, classes = tensor.name, tensor.classes

    def set_first(value: int) -> Any:
        def make(example: Example) -> Example:
            labels = _indices(example, name)
            labels.reshape(-1)[0] = value
            return with_input(example, name, labels)

        return make

    def one_hot_row_zero(example: Example) -> Example:
        n_classes = example.dims[classes]
        one_hot = np.eye(n_classes)[_indices(example, name)]
        one_hot.reshape(-1, n_classes)[0] = 0.0
        return with_input(example, name, one_hot)

    return [
        Malformation(name, "index_out_of_range", lambda ex: set_first(ex.dims[classes])(ex)),
        Malformation(name, "negative_index", set_first(-1)),
        Malformation(
            name, "float_indices", lambda ex: with_input(ex, name, _indices(ex, name).astype(np.float64))
        ),
        Malformation(
            name,
            "batch_mismatch",
            lambda ex: with_input(ex, name, np.concatenate([_indices(ex, name), _indices(ex, name)[:1]])),
        ),
        Malformation(name, "one_hot_not_distribution", one_hot_row_zero),
    ]


def _for_binary(tensor: Tensor) -> list[Malformation]:
    name = tensor.name

    def out_of_range(example: Example) -> Example:
        labels = example.inputs[name].copy()
        labels.reshape(-1)[0] = 2
        return with_input(example, name, labels)

    def reshaped(example: Example) -> Example:
        return with_input(example, name, np.append(example.inputs[name].reshape(-1), 0))

    return [Malformation(name, "out_of_range", out_of_range), Malformation(name, "shape", reshaped)]


def _for_dout(row: Row) -> list[Malformation]:
    if row.kind is Kind.LAYER:

        def extra_axis(example: Example) -> Example:
            first, *rest = example.douts
            return dataclasses.replace(example, douts=(first[np.newaxis], *rest))

        return [Malformation("dout", "extra_axis", extra_axis, stage="backward")]

    def not_scalar(example: Example) -> Example:
        return dataclasses.replace(example, douts=(np.ones(2),))

    return [Malformation("dout", "not_scalar", not_scalar, stage="backward")]
