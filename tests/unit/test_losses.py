"""Loss layers against the definitions in their docstrings, computed here with ``math`` in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnn.layers import MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss

RTOL = {np.float32: 2e-6, np.float64: 1e-14}

LOGITS = [[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 0.0, 0.0], [3.0, -2.0, 1.0, 0.25]]
LABELS = [1, 0, 3]


def softmax_rows(rows):
    out = []
    for row in rows:
        total = sum(math.exp(v) for v in row)
        out.append([math.exp(v) / total for v in row])
    return out


def one_hot(labels, n_classes):
    return [[1.0 if k == label else 0.0 for k in range(n_classes)] for label in labels]


def test_softmax_with_loss_by_hand_for_index_and_one_hot_labels(dtype):
    n = len(LOGITS)
    y = softmax_rows(LOGITS)
    t = one_hot(LABELS, 4)
    loss_hand = -sum(math.log(y[i][LABELS[i]]) for i in range(n)) / n
    dout = 2.0
    dx_hand = [[(y[i][k] - t[i][k]) / n * dout for k in range(4)] for i in range(n)]
    x = np.array(LOGITS, dtype=dtype)

    by_index, by_one_hot = SoftmaxWithLoss(), SoftmaxWithLoss()
    loss_index = by_index.forward(x, np.array(LABELS))
    loss_one_hot = by_one_hot.forward(x, np.array(t, dtype=dtype))
    dx_index = by_index.backward(dout)
    dx_one_hot = by_one_hot.backward(dout)

    np.testing.assert_allclose(loss_index, loss_hand, rtol=RTOL[dtype])
    np.testing.assert_allclose(loss_one_hot, loss_hand, rtol=RTOL[dtype])
    np.testing.assert_allclose(dx_index, dx_hand, rtol=RTOL[dtype], atol=1e-7)
    np.testing.assert_allclose(dx_one_hot, dx_index, rtol=RTOL[dtype], atol=1e-7)


@pytest.mark.parametrize("labels", [np.array([2, 0]), np.array([[0, 0, 1], [1, 0, 0]], dtype=bool)])
def test_softmax_with_loss_default_dout_is_one(labels):
    x = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    layer = SoftmaxWithLoss()
    layer.forward(x, labels)
    np.testing.assert_allclose(layer.backward(), layer.backward(1.0), rtol=0)
    np.testing.assert_allclose(layer.backward(0.5) * 2, layer.backward(), rtol=1e-15)


def test_softmax_with_loss_handles_probability_rows_exactly():
    """Soft targets are used as they are (dx = (y - t) / N), not rounded to their argmax."""
    x = np.array([[0.5, -0.5, 1.0]])
    t = np.array([[0.25, 0.75, 0.0]])
    y = softmax_rows(x.tolist())[0]
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    assert loss == pytest.approx(-(0.25 * math.log(y[0]) + 0.75 * math.log(y[1])), rel=1e-14)
    np.testing.assert_allclose(layer.backward(), [[y[0] - 0.25, y[1] - 0.75, y[2]]], rtol=1e-14)


@pytest.mark.parametrize(
    "dout",
    [3, 3.0, np.float32(3.0), np.float64(3.0), np.array(3.0), np.array([3.0])],
    ids=["int", "float", "np.float32", "np.float64", "0-d", "shape-1"],
)
def test_loss_backward_accepts_any_real_scalar(dout):
    x = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    layer = SoftmaxWithLoss()
    layer.forward(x, np.array([0, 0]))
    dx = layer.backward(dout)
    assert dx.dtype == np.float32
    np.testing.assert_allclose(dx, 3 * layer.backward(1), rtol=1e-6)


def test_sigmoid_with_loss_against_its_definition(dtype):
    scores = [-1.0, 0.5, 2.0, 0.0]
    labels = [0.0, 1.0, 1.0, 0.3]  # probabilities work as well as 0/1
    y = [1 / (1 + math.exp(-v)) for v in scores]
    per_element = [-(t * math.log(p) + (1 - t) * math.log(1 - p)) for p, t in zip(y, labels, strict=True)]
    dout = 0.5
    dx_hand = [(p - t) * dout / 4 for p, t in zip(y, labels, strict=True)]

    layer = SigmoidWithLoss()
    loss = layer.forward(np.array(scores, dtype=dtype), np.array(labels))
    dx = layer.backward(dout)

    assert loss.dtype == dtype
    np.testing.assert_allclose(loss, sum(per_element) / 4, rtol=RTOL[dtype])
    np.testing.assert_allclose(dx, dx_hand, rtol=RTOL[dtype])


def test_sigmoid_with_loss_averages_over_every_element_of_a_2d_input():
    x = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    t = np.array([[1, 0, 1], [0, 0, 1]])
    layer = SigmoidWithLoss()
    assert layer.forward(x, t) == pytest.approx(math.log(2), rel=1e-15)
    np.testing.assert_allclose(layer.backward(), (0.5 - t) / 6, rtol=1e-15)


def test_mean_squared_error_against_its_definition(dtype):
    x = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 2.0]], dtype=dtype)
    t = np.array([[0.0, 2.0, 1.0], [1.0, 1.0, 2.0]], dtype=dtype)
    layer = MeanSquaredError()
    # squared differences: 1 + 0 + 0.25 + 1 + 4 + 0 = 6.25 over 2N = 4
    loss = layer.forward(x, t)
    dx = layer.backward(3.0)
    assert loss.dtype == dtype
    assert loss == 6.25 / 4
    # (x - t) * dout / N
    np.testing.assert_array_equal(dx, [[1.5, 0.0, -0.75], [-1.5, -3.0, 0.0]])


def test_mean_squared_error_divides_by_the_batch_not_the_element_count():
    x = np.ones((2, 2, 2))
    t = np.zeros((2, 2, 2))
    layer = MeanSquaredError()
    assert layer.forward(x, t) == 8 / 4
    np.testing.assert_array_equal(layer.backward(), np.full((2, 2, 2), 0.5))


# --- stability: |x| up to 1e4 in both dtypes, warnings are errors ---


def test_softmax_with_loss_of_huge_logits(dtype):
    layer = SoftmaxWithLoss()
    x = np.array([[1e4, 0.0]], dtype=dtype)

    loss = layer.forward(x, np.array([1]))
    dx = layer.backward()
    assert loss.dtype == dtype
    assert loss == pytest.approx(1e4, rel=1e-12)
    np.testing.assert_array_equal(dx, [[1.0, -1.0]])

    assert layer.forward(x, np.array([0])) == 0.0
    np.testing.assert_array_equal(layer.backward(), [[0.0, 0.0]])


def test_softmax_with_loss_of_huge_logits_with_one_hot_labels(dtype):
    layer = SoftmaxWithLoss()
    x = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], dtype=dtype)
    t = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=dtype)
    loss = layer.forward(x, t)
    assert loss == pytest.approx(2e4 / 2, rel=1e-12)
    np.testing.assert_array_equal(layer.backward(), [[0.5, 0.0, -0.5], [0.0, 0.0, 0.0]])


def test_sigmoid_with_loss_of_huge_scores(dtype):
    layer = SigmoidWithLoss()
    x = np.array([1e4, -1e4], dtype=dtype)

    wrong = layer.forward(x, np.array([0, 1]))
    np.testing.assert_array_equal(layer.backward(), [0.5, -0.5])
    right = layer.forward(x, np.array([1, 0]))
    np.testing.assert_array_equal(layer.backward(), [0.0, 0.0])

    assert wrong.dtype == dtype
    assert wrong == pytest.approx(1e4, rel=1e-12)
    assert right == 0.0
