"""The layer protocol, checked on every node, layer and loss (the ``layer_case`` fixture).

No argument is mutated, dtype in is dtype out, parameter gradients are written
in place and overwritten (not accumulated), backward before forward is refused.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from scratchnn.protocol import Layer


def as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def snapshot(values: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Everything that identifies an array bitwise: dtype, shape and raw bytes."""
    return [(v.dtype, v.shape, v.tobytes()) for v in values]


def test_every_case_follows_the_layer_protocol(layer_case):
    layer, _, _ = layer_case.build(np.float64)
    assert isinstance(layer, Layer)
    assert len(layer.params) == len(layer.grads)
    for param, grad in zip(layer.params, layer.grads, strict=True):
        assert grad.shape == param.shape
        assert grad.dtype == param.dtype
        assert grad is not param


def test_no_argument_is_mutated(layer_case, dtype):
    layer, inputs, douts = layer_case.build(dtype)
    arguments = (*inputs, *douts)
    before = snapshot(arguments)
    params_before = snapshot(tuple(layer.params))

    layer.forward(*inputs)
    layer.backward(*douts)

    assert snapshot(arguments) == before
    assert snapshot(tuple(layer.params)) == params_before


def test_dtype_in_is_dtype_out(layer_case, dtype):
    layer, inputs, douts = layer_case.build(dtype)

    outputs = as_tuple(layer.forward(*inputs))
    input_grads = as_tuple(layer.backward(*douts))

    for out in outputs:
        assert np.asarray(out).dtype == dtype
    if layer_case.is_loss:
        (loss,) = outputs
        assert np.ndim(loss) == 0
    n_float_inputs = 1 if layer_case.is_loss else len(inputs)  # a loss returns dx only, not dt
    assert len(input_grads) == n_float_inputs
    for grad, x in zip(input_grads, inputs, strict=False):
        assert isinstance(grad, np.ndarray)
        assert grad.dtype == dtype
        assert grad.shape == x.shape
    for param, grad in zip(layer.params, layer.grads, strict=True):
        assert param.dtype == dtype
        assert grad.dtype == dtype


def test_parameter_gradients_are_written_in_place(layer_case, dtype):
    layer, inputs, douts = layer_case.build(dtype)
    grads_list = layer.grads
    grads_before = list(layer.grads)

    layer.forward(*inputs)
    layer.backward(*douts)

    assert layer.grads is grads_list
    assert all(after is before for after, before in zip(layer.grads, grads_before, strict=True))


def test_backward_twice_overwrites_instead_of_accumulating(layer_case, dtype):
    layer, inputs, douts = layer_case.build(dtype)
    layer.forward(*inputs)

    first_dx = as_tuple(layer.backward(*douts))
    first_grads = [g.copy() for g in layer.grads]
    second_dx = as_tuple(layer.backward(*douts))

    for a, b in zip(first_dx, second_dx, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first_grads, layer.grads, strict=True):
        np.testing.assert_array_equal(a, b)


def test_returned_gradients_are_fresh_arrays(layer_case, dtype):
    """dx may be modified by the caller without corrupting dout or the layer's next backward."""
    layer, inputs, douts = layer_case.build(dtype)
    layer.forward(*inputs)
    first = [dx.copy() for dx in as_tuple(layer.backward(*douts))]
    for dx in as_tuple(layer.backward(*douts)):
        assert not any(np.shares_memory(dx, d) for d in douts)
        dx[...] = 0
    for a, b in zip(first, as_tuple(layer.backward(*douts)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_backward_before_forward_is_a_runtime_error(layer_case):
    layer, _, douts = layer_case.build(np.float64)
    with pytest.raises(RuntimeError, match=re.escape(f"{layer_case.name}.backward: call forward before")):
        layer.backward(*douts)
