"""The layer protocol, checked on every node, layer and loss of scratchnn, with examples built
from the conformance registry's rows (so a new layer is covered by adding its row).

No argument is mutated, dtype in is dtype out, parameter gradients are written
in place and overwritten (not accumulated), returned gradients are fresh arrays,
backward before forward is refused.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import scratchnn
from conformance import invoke
from conformance.examples import typical_example
from conformance.invoke import Instance
from conformance.registry import ROWS
from conformance.spec import Row
from scratchnn.protocol import Layer

LAYERS = [row for row in ROWS if row.convention.takes_params and row.convention.method == "forward"]
"""Nodes, layers and losses (models and samplers follow other conventions)."""

FLOAT_DTYPES = (np.float32, np.float64)


@pytest.fixture(params=LAYERS, ids=lambda row: row.name)
def row(request: pytest.FixtureRequest) -> Row:
    return request.param  # type: ignore[no-any-return]


def built(row: Row, dtype: Any) -> tuple[Instance, dict[str, Any], list[Any]]:
    """A fresh scratchnn layer of the row's first case, the values its calls read, its douts."""
    example = typical_example(row, row.cases()[0], seed=11)
    instance = invoke.construct(row, getattr(scratchnn, row.name), example, dtype)
    return instance, invoke.cast_values(row, example, dtype), invoke.cast_douts(row, example, dtype)


def arrays(values: dict[str, Any], douts: list[Any]) -> list[Any]:
    return [*values.values(), *(d for d in douts if isinstance(d, np.ndarray))]


def snapshot(items: list[Any]) -> list[tuple[Any, ...]]:
    """Everything that identifies an array bitwise: dtype, shape and raw bytes."""
    return [(v.dtype, v.shape, v.tobytes()) for v in items]


def test_every_layer_follows_the_layer_protocol(row: Row) -> None:
    instance, _, _ = built(row, np.float64)
    layer = instance.layer
    assert isinstance(layer, Layer)
    assert len(layer.params) == len(layer.grads)
    for param, grad in zip(layer.params, layer.grads, strict=True):
        assert grad.shape == param.shape
        assert grad.dtype == param.dtype
        assert grad is not param


def test_no_argument_is_mutated(row: Row, dtype: Any) -> None:
    instance, values, douts = built(row, dtype)
    before = snapshot(arrays(values, douts))
    params_before = snapshot(list(instance.layer.params))
    invoke.forward(row, instance, values, dtype, copies=False)
    invoke.backward(row, instance, douts, copies=False)
    assert snapshot(arrays(values, douts)) == before
    assert snapshot(list(instance.layer.params)) == params_before


def test_dtype_in_is_dtype_out(row: Row, dtype: Any) -> None:
    instance, values, douts = built(row, dtype)
    outputs = invoke.forward(row, instance, values, dtype)
    gradients = invoke.backward(row, instance, douts)
    for out in outputs:
        assert out.dtype == dtype
    if row.convention.scalar_output:
        assert outputs[0].ndim == 0
    assert len(gradients) == len(row.returned_gradients) + len(row.state_gradients)
    for name, grad in gradients.items():
        assert isinstance(grad, np.ndarray), name
        assert grad.dtype == dtype, name
        assert grad.shape == values[name].shape, name
    for param, grad in zip(instance.layer.params, instance.layer.grads, strict=True):
        assert param.dtype == dtype
        assert grad.dtype == dtype


def test_parameter_gradients_are_written_in_place(row: Row, dtype: Any) -> None:
    instance, values, douts = built(row, dtype)
    grads_list, grads_before = instance.layer.grads, list(instance.layer.grads)
    invoke.forward(row, instance, values, dtype)
    invoke.backward(row, instance, douts)
    assert instance.layer.grads is grads_list
    assert all(after is before for after, before in zip(instance.layer.grads, grads_before, strict=True))


def test_backward_twice_overwrites_instead_of_accumulating(row: Row, dtype: Any) -> None:
    instance, values, douts = built(row, dtype)
    invoke.forward(row, instance, values, dtype)
    first = invoke.backward(row, instance, douts)
    first_grads = [g.copy() for g in instance.layer.grads]
    second = invoke.backward(row, instance, douts)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    for a, b in zip(first_grads, instance.layer.grads, strict=True):
        np.testing.assert_array_equal(a, b)


def test_returned_gradients_are_fresh_arrays(row: Row, dtype: Any) -> None:
    """dx may be modified by the caller without corrupting dout or the layer's next backward."""
    instance, values, douts = built(row, dtype)
    invoke.forward(row, instance, values, dtype)
    first = {k: np.array(v) for k, v in invoke.backward(row, instance, douts, copies=False).items()}
    for grad in invoke.backward(row, instance, douts, copies=False).values():
        assert isinstance(grad, np.ndarray)
        assert not any(np.shares_memory(grad, d) for d in douts if isinstance(d, np.ndarray))
        grad[...] = 0
    again = invoke.backward(row, instance, douts, copies=False)
    for name, value in first.items():
        np.testing.assert_array_equal(value, again[name])


def test_backward_before_forward_is_a_runtime_error(row: Row) -> None:
    instance, _, douts = built(row, np.float64)
    with pytest.raises(RuntimeError, match=re.escape(f"{row.name}.backward: call forward before")):
        instance.layer.backward(*douts)
