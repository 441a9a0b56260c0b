"""Activation layers, Affine and Softmax against their closed-form derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnn.layers import Affine, ReLU, Sigmoid, Softmax, Tanh

RTOL = {np.float32: 1e-6, np.float64: 1e-14}


def test_sigmoid_backward_is_dout_y_one_minus_y(dtype):
    values = [-2.0, 0.0, 1.0]
    x = np.array([values], dtype=dtype)
    dout = np.array([[3.0, -1.0, 0.5]], dtype=dtype)
    layer = Sigmoid()

    y = layer.forward(x)
    dx = layer.backward(dout)

    y_hand = [1 / (1 + math.exp(-v)) for v in values]
    np.testing.assert_allclose(y[0], y_hand, rtol=RTOL[dtype])
    expected = [d * s * (1 - s) for d, s in zip([3.0, -1.0, 0.5], y_hand, strict=True)]
    np.testing.assert_allclose(dx[0], expected, rtol=4 * RTOL[dtype])
    assert dx[0, 1] == -0.25  # sigmoid'(0) = 1/4 exactly


def test_tanh_backward_is_dout_one_minus_y_squared(dtype):
    values = [-1.5, 0.0, 0.7]
    layer = Tanh()
    y = layer.forward(np.array(values, dtype=dtype))
    dx = layer.backward(np.array([2.0, 3.0, -1.0], dtype=dtype))

    y_hand = [math.tanh(v) for v in values]
    np.testing.assert_allclose(y, y_hand, rtol=RTOL[dtype])
    expected = [d * (1 - s * s) for d, s in zip([2.0, 3.0, -1.0], y_hand, strict=True)]
    np.testing.assert_allclose(dx, expected, rtol=4 * RTOL[dtype])
    assert dx[1] == 3.0


def test_relu_gradient_is_zero_where_x_is_not_positive(dtype):
    layer = ReLU()
    x = np.array([[-2.0, 0.0, 1e-30, 4.0], [-0.0, 3.0, -1e-30, 0.5]], dtype=dtype)
    dout = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], dtype=dtype)

    np.testing.assert_array_equal(layer.forward(x), [[0, 0, x[0, 2], 4], [0, 3, 0, 0.5]])
    np.testing.assert_array_equal(layer.backward(dout), [[0, 0, 3, 4], [0, 6, 0, 8]])


def affine_example(dtype):
    """x (2, 3), W (3, 2), b (2,), dout (2, 2): small integers, so every result is exact."""
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=dtype)
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=dtype)
    b = np.array([0.5, -1.0], dtype=dtype)
    dout = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)
    return x, W, b, dout


def test_affine_forward_and_backward_by_hand(dtype):
    x, W, b, dout = affine_example(dtype)
    layer = Affine(W, b)

    # x W = [[1 + 3, 2 + 3], [4 + 6, 5 + 6]] = [[4, 5], [10, 11]], plus b = [0.5, -1]
    np.testing.assert_array_equal(layer.forward(x), [[4.5, 4.0], [10.5, 10.0]])
    dx = layer.backward(dout)

    # dx = dout W^T with W^T = [[1, 0, 1], [0, 1, 1]]
    np.testing.assert_array_equal(dx, [[1.0, 2.0, 3.0], [3.0, 4.0, 7.0]])
    dW, db = layer.grads
    # dW = x^T dout with x^T = [[1, 4], [2, 5], [3, 6]]
    np.testing.assert_array_equal(dW, [[13.0, 18.0], [17.0, 24.0], [21.0, 30.0]])
    # db = dout summed over the batch
    np.testing.assert_array_equal(db, [4.0, 6.0])


def test_affine_shares_its_parameters_by_identity():
    _, W, b, _ = affine_example(np.float64)
    layer = Affine(W, b)
    assert layer.params[0] is W
    assert layer.params[1] is b
    W[0, 0] = 7.0  # an optimizer updating W in place updates the layer
    assert layer.params[0][0, 0] == 7.0


def test_affine_gradients_follow_the_latest_forward():
    x, W, b, dout = affine_example(np.float64)
    layer = Affine(W, b)
    dW, db = layer.grads
    layer.forward(x)
    layer.backward(dout)
    layer.forward(2 * x)
    layer.backward(dout)
    assert layer.grads[0] is dW
    assert layer.grads[1] is db
    np.testing.assert_array_equal(dW, 2 * np.array([[13.0, 18.0], [17.0, 24.0], [21.0, 30.0]]))
    np.testing.assert_array_equal(db, [4.0, 6.0])


def test_softmax_backward_of_a_3d_input_is_the_jacobian_of_each_row(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    dout = rng.standard_normal((2, 3, 4)).astype(dtype)
    layer = Softmax()

    y = layer.forward(x)
    dx = layer.backward(dout)

    expected = np.empty((2, 3, 4))
    for i in range(2):
        for j in range(3):
            row = np.exp(x[i, j].astype(np.float64))
            row /= row.sum()
            jacobian = np.diag(row) - np.outer(row, row)  # d y_k / d x_l, symmetric
            expected[i, j] = jacobian @ dout[i, j].astype(np.float64)
    np.testing.assert_allclose(y.sum(axis=-1), np.ones((2, 3)), rtol=RTOL[dtype])
    np.testing.assert_allclose(dx, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_sigmoid_layer_saturates_without_warnings(sign, dtype):
    layer = Sigmoid()
    y = layer.forward(np.array([sign * 1e4, 0.0], dtype=dtype))
    dx = layer.backward(np.ones(2, dtype=dtype))
    assert y[0] == (1.0 if sign > 0 else 0.0)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, [0.0, 0.25])


def test_softmax_layer_of_huge_logits_without_warnings(dtype):
    layer = Softmax()
    y = layer.forward(np.array([[1e4, 0.0, -1e4]], dtype=dtype))
    dx = layer.backward(np.array([[1.0, 2.0, 3.0]], dtype=dtype))
    np.testing.assert_array_equal(y, [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 0.0]])
