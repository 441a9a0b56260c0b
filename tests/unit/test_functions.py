"""scratchnn.functions against the closed-form definitions, computed here with ``math`` in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnn.functions import (
    cross_entropy_error,
    log_softmax,
    mean_squared_error,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
)

# Relative tolerance of one float computation in each dtype, with a little slack.
RTOL = {np.float32: 1e-6, np.float64: 1e-14}


def test_sigmoid_is_the_logistic_function(dtype):
    values = [-3.0, -0.5, 0.0, 0.5, 2.0]
    expected = [1 / (1 + math.exp(-v)) for v in values]
    y = sigmoid(np.array(values, dtype=dtype))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, expected, rtol=RTOL[dtype])
    assert y[2] == 0.5


def test_relu_keeps_positive_values_only(dtype):
    y = relu(np.array([[-2.0, 0.0, 3.5]], dtype=dtype))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, [[0.0, 0.0, 3.5]])


def test_softmax_of_a_row_is_exp_over_sum_of_exp(dtype):
    row = [1.0, 2.0, 3.0]
    total = sum(math.exp(v) for v in row)
    expected = [math.exp(v) / total for v in row]
    y = softmax(np.array([row, [0.0, 0.0, 0.0]], dtype=dtype))
    assert y.dtype == dtype
    np.testing.assert_allclose(y[0], expected, rtol=RTOL[dtype])
    np.testing.assert_allclose(y[1], [1 / 3] * 3, rtol=RTOL[dtype])


def test_softmax_normalises_the_last_axis_of_any_rank():
    x = np.arange(24.0).reshape(2, 3, 4) / 7
    y = softmax(x)
    np.testing.assert_allclose(y.sum(axis=-1), np.ones((2, 3)), rtol=1e-15)
    np.testing.assert_allclose(y[1, 2], softmax(x[1, 2]), rtol=1e-15)


def test_log_softmax_is_x_minus_log_sum_exp(dtype):
    row = [0.5, -1.0, 2.0]
    log_total = math.log(sum(math.exp(v) for v in row))
    expected = [v - log_total for v in row]
    y = log_softmax(np.array([row], dtype=dtype))
    assert y.dtype == dtype
    np.testing.assert_allclose(y[0], expected, rtol=RTOL[dtype])


def test_cross_entropy_error_with_index_and_one_hot_labels(dtype):
    y = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], dtype=dtype)
    expected = -(math.log(0.7) + math.log(0.4)) / 2
    by_index = cross_entropy_error(y, np.array([1, 2]))
    by_one_hot = cross_entropy_error(y, np.array([[0, 1, 0], [0, 0, 1]], dtype=dtype))
    assert by_index.dtype == dtype
    assert by_one_hot.dtype == dtype
    np.testing.assert_allclose(by_index, expected, rtol=RTOL[dtype])
    np.testing.assert_allclose(by_one_hot, expected, rtol=RTOL[dtype])


@pytest.mark.parametrize(
    "t",
    [1, np.int64(1), np.array(1), np.array([1]), np.array([0.0, 1.0, 0.0])],
    ids=["int", "numpy-int", "0-d", "shape-1", "one-hot"],
)
def test_cross_entropy_error_of_a_single_sample(t):
    y = np.array([0.1, 0.7, 0.2])
    assert cross_entropy_error(y, t) == pytest.approx(-math.log(0.7), rel=1e-15)


def test_cross_entropy_error_with_soft_targets_is_the_full_sum():
    y = np.array([[0.25, 0.5, 0.25]])
    t = np.array([[0.5, 0.5, 0.0]])
    expected = -(0.5 * math.log(0.25) + 0.5 * math.log(0.5))
    assert cross_entropy_error(y, t) == pytest.approx(expected, rel=1e-15)


def test_cross_entropy_error_is_finite_at_probability_zero(dtype):
    y = np.array([[0.0, 1.0]], dtype=dtype)
    loss = cross_entropy_error(y, np.array([0]))
    assert np.isfinite(loss)
    assert loss.dtype == dtype
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(loss, -np.log(tiny), rtol=RTOL[dtype])


def test_cross_entropy_error_adds_no_bias_to_nonzero_probabilities(dtype):
    # log(y + 1e-7) would turn p = 1e-9 into about -log(1.01e-7) = 16.1 instead of 20.7.
    for p in (1e-30, 1e-9, 0.3, 1.0):
        y = np.array([[p, 1 - p]], dtype=dtype)
        assert cross_entropy_error(y, np.array([0])) == -np.log(y[0, 0])


def test_softmax_cross_entropy_with_index_one_hot_and_single_sample(dtype):
    rows = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]
    labels = [0, 2]
    per_row = [-(r[k] - math.log(sum(math.exp(v) for v in r))) for r, k in zip(rows, labels, strict=True)]
    x = np.array(rows, dtype=dtype)

    by_index = softmax_cross_entropy(x, np.array(labels))
    by_one_hot = softmax_cross_entropy(x, np.eye(3, dtype=dtype)[labels])
    single = softmax_cross_entropy(x[1], 2)

    for loss in (by_index, by_one_hot, single):
        assert loss.dtype == dtype
    np.testing.assert_allclose(by_index, sum(per_row) / 2, rtol=RTOL[dtype])
    np.testing.assert_allclose(by_one_hot, sum(per_row) / 2, rtol=RTOL[dtype])
    np.testing.assert_allclose(single, per_row[1], rtol=RTOL[dtype])


def test_softmax_cross_entropy_equals_cross_entropy_of_softmax():
    x = np.array([[0.2, -1.3, 2.2, 0.0], [1.0, 1.0, 1.0, 1.0]])
    t = np.array([3, 1])
    assert softmax_cross_entropy(x, t) == pytest.approx(cross_entropy_error(softmax(x), t), rel=1e-14)


def test_mean_squared_error_of_one_sample_is_half_the_sum_of_squares():
    # The seed's example: a softmax output against the one-hot label 2.
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    t = np.zeros(10)
    t[2] = 1.0
    expected = 0.5 * sum((a - b) ** 2 for a, b in zip(y.tolist(), t.tolist(), strict=True))
    assert mean_squared_error(y, t) == pytest.approx(expected, rel=1e-15)


def test_mean_squared_error_of_a_batch_averages_over_samples(dtype):
    y = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 3.0]], dtype=dtype)
    t = np.array([[0.0, 2.0], [1.0, 1.0], [3.0, 0.0]], dtype=dtype)
    # squared differences: 1 + 0 + 1 + 4 + 0 + 9 = 15, over 2N = 6
    loss = mean_squared_error(y, t)
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss, 15 / 6, rtol=RTOL[dtype])


@pytest.mark.parametrize("function", [sigmoid, relu, softmax, log_softmax])
def test_activation_functions_keep_dtype_and_arguments(function, dtype):
    x = np.array([[-1.5, 0.0, 2.0]], dtype=dtype)
    before = x.copy()
    assert function(x).dtype == dtype
    np.testing.assert_array_equal(x, before)


def test_loss_functions_do_not_modify_their_arguments():
    y = np.array([[0.0, 1.0], [0.5, 0.5]])
    t_index, t_one_hot = np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]])
    copies = [a.copy() for a in (y, t_index, t_one_hot)]
    cross_entropy_error(y, t_index)
    cross_entropy_error(y, t_one_hot)
    softmax_cross_entropy(y, t_index)
    softmax_cross_entropy(y, t_one_hot)
    mean_squared_error(y, t_one_hot)
    for array, copy in zip((y, t_index, t_one_hot), copies, strict=True):
        np.testing.assert_array_equal(array, copy)


# --- stability: |x| up to 1e4, warnings are errors (pyproject's filterwarnings) ---


def test_sigmoid_saturates_without_overflow(dtype):
    y = sigmoid(np.array([-1e4, -30.0, 30.0, 1e4], dtype=dtype))
    assert y.dtype == dtype
    assert y[0] == 0.0
    assert y[3] == 1.0
    # far from saturation the small tail is still resolved, not rounded to 0
    np.testing.assert_allclose(y[1], 1 / (1 + math.exp(30.0)), rtol=RTOL[dtype])
    np.testing.assert_allclose(y[2], 1 / (1 + math.exp(-30.0)), rtol=RTOL[dtype])


def test_softmax_of_huge_logits_is_a_one_hot(dtype):
    y = softmax(np.array([[1e4, 0.0], [-1e4, 1e4], [1e4, 1e4]], dtype=dtype))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])


def test_log_softmax_of_huge_logits_is_exact(dtype):
    y = log_softmax(np.array([[1e4, 0.0], [-1e4, 1e4]], dtype=dtype))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, [[0.0, -1e4], [-2e4, 0.0]])


def test_softmax_cross_entropy_of_huge_logits_is_exact(dtype):
    loss = softmax_cross_entropy(np.array([[1e4, 0.0]], dtype=dtype), np.array([1]))
    assert loss.dtype == dtype
    assert loss == pytest.approx(1e4, rel=1e-12)
