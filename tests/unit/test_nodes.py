"""The chapter-1 computation-graph nodes on small arrays whose results are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.nodes import Add, Branch, MatMul, Mul, Repeat, Sum


def test_add_passes_dout_to_both_inputs(dtype):
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)
    y = np.array([[0.5, -1.0], [2.0, 0.0]], dtype=dtype)
    dout = np.array([[1.0, -2.0], [0.25, 3.0]], dtype=dtype)
    node = Add()

    np.testing.assert_array_equal(node.forward(x, y), [[1.5, 1.0], [5.0, 4.0]])
    dx, dy = node.backward(dout)

    np.testing.assert_array_equal(dx, dout)
    np.testing.assert_array_equal(dy, dout)
    assert dx is not dy
    assert not np.shares_memory(dx, dout)


def test_mul_swaps_the_inputs_in_backward(dtype):
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)
    y = np.array([[0.5, -1.0], [2.0, 0.0]], dtype=dtype)
    dout = np.array([[1.0, -2.0], [0.25, 3.0]], dtype=dtype)
    node = Mul()

    np.testing.assert_array_equal(node.forward(x, y), [[0.5, -2.0], [6.0, 0.0]])
    dx, dy = node.backward(dout)

    np.testing.assert_array_equal(dx, [[0.5, 2.0], [0.5, 0.0]])  # dout * y
    np.testing.assert_array_equal(dy, [[1.0, -4.0], [0.75, 12.0]])  # dout * x


def test_branch_copies_forward_and_sums_backward(dtype):
    x = np.array([[1.0, -2.0, 3.0]], dtype=dtype)
    node = Branch(3)

    outputs = node.forward(x)
    assert len(outputs) == 3
    for out in outputs:
        np.testing.assert_array_equal(out, x)
        assert not np.shares_memory(out, x)

    douts = (
        np.array([[1.0, 0.0, 2.0]], dtype=dtype),
        np.array([[0.5, 1.0, -2.0]], dtype=dtype),
        np.array([[-1.0, 4.0, 0.25]], dtype=dtype),
    )
    np.testing.assert_array_equal(node.backward(*douts), [[0.5, 5.0, 0.25]])


def test_branch_has_two_outputs_by_default():
    x = np.ones((2, 2))
    assert len(Branch().forward(x)) == 2


@pytest.mark.parametrize("n", [4, 1])
def test_repeat_and_sum_are_each_others_backward_in_the_books_case(n, dtype):
    """x of shape (1, D) repeated to (N, D); the Sum node goes back from (N, D) to (1, D)."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((1, 3)).astype(dtype)
    g_big = rng.standard_normal((n, 3)).astype(dtype)
    g_small = rng.standard_normal((1, 3)).astype(dtype)
    repeat, total = Repeat(n, axis=0), Sum(axis=0)

    np.testing.assert_array_equal(repeat.forward(x), np.vstack([x] * n))
    total.forward(np.vstack([x] * n))

    np.testing.assert_array_equal(repeat.backward(g_big), Sum(axis=0).forward(g_big))
    np.testing.assert_array_equal(total.backward(g_small), Repeat(n, axis=0).forward(g_small))


def test_repeat_backward_sums_each_group_of_copies():
    # np.repeat([[a, b, c]], 2, axis=1) = [[a, a, b, b, c, c]]: element i of the output came from i // 2.
    node = Repeat(2, axis=1)
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(node.forward(x), [[1, 1, 2, 2, 3, 3], [4, 4, 5, 5, 6, 6]])
    dout = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]])
    np.testing.assert_array_equal(node.backward(dout), [[3.0, 7.0, 11.0], [30.0, 70.0, 110.0]])


def test_repeat_along_the_first_axis_of_several_rows():
    node = Repeat(2, axis=-2)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(node.forward(x), [[1, 2], [1, 2], [3, 4], [3, 4]])
    dout = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(node.backward(dout), [[4.0, 6.0], [12.0, 14.0]])


def test_sum_keeps_the_reduced_axis_and_repeats_dout_back():
    node = Sum(axis=-1)
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(node.forward(x), [[6.0], [15.0]])
    np.testing.assert_array_equal(node.backward(np.array([[2.0], [-1.0]])), [[2, 2, 2], [-1, -1, -1]])


def test_matmul_forward_and_backward_by_hand(dtype):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=dtype)
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=dtype)
    dout = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)
    node = MatMul(W)

    # row 0: [1 + 3, 2 + 3]; row 1: [4 + 6, 5 + 6]
    np.testing.assert_array_equal(node.forward(x), [[4.0, 5.0], [10.0, 11.0]])
    dx = node.backward(dout)

    # dx = dout W^T, W^T = [[1, 0, 1], [0, 1, 1]]
    np.testing.assert_array_equal(dx, [[1.0, 2.0, 3.0], [3.0, 4.0, 7.0]])
    # dW = x^T dout, x^T = [[1, 4], [2, 5], [3, 6]]
    np.testing.assert_array_equal(node.grads[0], [[13.0, 18.0], [17.0, 24.0], [21.0, 30.0]])


def test_matmul_shares_its_weight_by_identity():
    W = np.ones((3, 2))
    node = MatMul(W)
    assert node.params[0] is W
    assert len(node.grads) == 1
    assert node.grads[0] is not W


def test_nodes_without_weights_have_empty_lists():
    for node in (Add(), Mul(), Branch(), Repeat(2), Sum()):
        assert node.params == []
        assert node.grads == []
