"""Embedding and Dropout (the book's common/layers.py): values by hand, duplicates, torch, randomness."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from scratchnn.layers import Dropout, Embedding, _scatter_add_rows

FLOATS = (np.float32, np.float64)


def table(dtype=np.float64):
    """W (4, 3) with W[i, j] = 3 i + j: every row is recognisable."""
    return np.arange(12, dtype=dtype).reshape(4, 3)


# --- Embedding --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_embedding_forward_picks_rows_in_ws_dtype(dtype):
    layer = Embedding(table(dtype))
    out = layer.forward(np.array([0, 2, 0, 3]))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [[0, 1, 2], [6, 7, 8], [0, 1, 2], [9, 10, 11]])


def test_embedding_forward_accepts_indices_of_any_shape():
    layer = Embedding(table())
    idx = np.array([[1, 3, 1], [0, 0, 2]], dtype=np.int32)
    out = layer.forward(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[0, 1], [9, 10, 11])
    np.testing.assert_array_equal(out[1, 2], [6, 7, 8])
    scalar = layer.forward(np.array(2))
    np.testing.assert_array_equal(scalar, [6, 7, 8])


def test_embedding_output_is_a_fresh_array():
    W = table()
    layer = Embedding(W)
    out = layer.forward(np.array(1))  # a 0-d index: W[idx] would be a view of W here
    out[...] = -1
    np.testing.assert_array_equal(W, table())


def test_embedding_backward_accumulates_duplicate_indices():
    layer = Embedding(table())
    layer.forward(np.array([2, 0, 2, 2]))
    dout = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0], [0.5, 0.5, 0.5], [100.0, 0.0, -1.0]])
    grads = layer.grads[0]

    assert layer.backward(dout) is None  # as in the book: indices have no gradient

    assert layer.grads[0] is grads  # written in place
    # row 2 receives rows 0, 2 and 3 of dout: [1 + 0.5 + 100, 2 + 0.5 + 0, 3 + 0.5 - 1]
    np.testing.assert_array_equal(grads, [[10, 20, 30], [0, 0, 0], [101.5, 2.5, 2.5], [0, 0, 0]])


def test_embedding_backward_overwrites_the_previous_gradient():
    layer = Embedding(table())
    layer.forward(np.array([3, 3]))
    layer.backward(np.ones((2, 3)))
    layer.backward(np.ones((2, 3)))  # the second backward after one forward: same result
    np.testing.assert_array_equal(layer.grads[0][3], [2, 2, 2])
    layer.forward(np.array([1]))
    layer.backward(np.full((1, 3), 5.0))
    np.testing.assert_array_equal(layer.grads[0], [[0, 0, 0], [5, 5, 5], [0, 0, 0], [0, 0, 0]])


def test_embedding_keeps_its_own_copy_of_the_indices():
    layer = Embedding(table())
    idx = np.array([0, 1])
    layer.forward(idx)
    idx[:] = 3  # the caller reuses its array
    layer.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(layer.grads[0].sum(axis=1), [3, 3, 0, 0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_embedding_gradient_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    W = rng.standard_normal((7, 5)).astype(dtype)
    idx = rng.integers(0, 7, (4, 6))  # 24 indices into 7 rows: many duplicates
    dout = rng.standard_normal((4, 6, 5)).astype(dtype)
    layer = Embedding(W)
    out = layer.forward(idx)
    layer.backward(dout)

    weight = torch.tensor(W, requires_grad=True)
    reference = torch.nn.functional.embedding(torch.from_numpy(idx), weight)
    reference.backward(torch.from_numpy(dout))
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_array_equal(out, reference.detach().numpy())
    np.testing.assert_allclose(layer.grads[0], weight.grad.numpy(), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("distribution", ["uniform", "zipf", "one row", "distinct"])
@pytest.mark.parametrize("width", [4, 5, 1])  # even widths go through the complex view
def test_scatter_add_rows_agrees_with_np_add_at(dtype, distribution, width):
    rng = np.random.default_rng(11)
    size, m = 50, 300
    rows = {
        "uniform": rng.integers(0, size, m),
        "zipf": np.minimum(rng.zipf(1.5, m) - 1, size - 1),
        "one row": np.full(m, 7),
        "distinct": rng.permutation(size)[: min(m, size)],
    }[distribution]
    values = rng.standard_normal((rows.size, width)).astype(dtype)
    start = rng.standard_normal((size, width)).astype(dtype)  # it adds to what is there
    expected = start.astype(np.float64)
    np.add.at(expected, rows, values.astype(np.float64))

    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for order in ("C", "F"):  # an F-ordered target (the gradient of a transposed view) has no flat view
        target = start.copy(order=order)
        _scatter_add_rows(target, rows, values)
        np.testing.assert_allclose(target, expected, rtol=tolerance, atol=tolerance)
    # the same additions in the same order as np.add.at in the target's dtype: bit for bit
    same_dtype = start.copy()
    np.add.at(same_dtype, rows, values)
    target = start.copy()
    _scatter_add_rows(target, rows, values[:, ::1].copy(order="F"))  # any memory layout of the values
    np.testing.assert_array_equal(target, same_dtype)


def test_embedding_refuses_float_indices():
    layer = Embedding(table())
    with pytest.raises(TypeError, match=r"Embedding\.forward: idx must be an array of integer indices"):
        layer.forward(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match=r"Embedding\.forward: idx must be a numpy\.ndarray"):
        layer.forward([0, 1])


@pytest.mark.parametrize("bad", [-1, 4, -128])
@pytest.mark.parametrize("itype", [np.int8, np.int64])
def test_embedding_refuses_indices_out_of_range(bad, itype):
    layer = Embedding(table())
    with pytest.raises(ValueError, match=r"Embedding\.forward: idx must be indices in \[0, 4\)"):
        layer.forward(np.array([0, bad, 1], dtype=itype))


def test_negative_index_is_refused_even_for_a_table_wider_than_the_index_type():
    # int8 -100 viewed as uint8 is 156 < 200: the single-pass check must not be used here.
    layer = Embedding(np.zeros((200, 2)))
    with pytest.raises(ValueError, match="negative indices are not counted from the end"):
        layer.forward(np.array([3, -100], dtype=np.int8))
    np.testing.assert_array_equal(layer.forward(np.array([127], dtype=np.int8)), [[0, 0]])


def test_embedding_refuses_bad_dout_and_backward_before_forward():
    layer = Embedding(table())
    with pytest.raises(RuntimeError, match=r"Embedding\.backward: call forward before backward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"Embedding\.backward: dout must be of shape \(2, 3\)"):
        layer.backward(np.ones((3,)))
    with pytest.raises(TypeError, match=r"Embedding\.backward: dout must have the dtype of"):
        layer.backward(np.ones((2, 3), dtype=np.float32))


def test_embedding_refuses_a_weight_that_is_not_a_matrix():
    with pytest.raises(ValueError, match=r"Embedding\.__init__: W must be a 2-D array \(V, D\)"):
        Embedding(np.ones(3))


def test_embedding_accepts_an_empty_batch():
    layer = Embedding(table())
    assert layer.forward(np.zeros(0, dtype=np.int64)).shape == (0, 3)
    layer.backward(np.zeros((0, 3)))
    assert not np.any(layer.grads[0])


# --- Dropout ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_training_mask_is_the_books(dtype):
    generator = np.random.default_rng(5)
    twin = copy.deepcopy(generator)
    x = np.linspace(-1, 1, 12).reshape(3, 4).astype(dtype)
    dout = np.arange(12, dtype=dtype).reshape(3, 4)
    layer = Dropout(0.3, rng=generator)

    out = layer.forward(x)

    expected_mask = twin.random((3, 4)) > 0.3
    assert layer.mask is not None
    assert layer.mask.dtype == np.bool_
    np.testing.assert_array_equal(layer.mask, expected_mask)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.where(expected_mask, x, 0))
    dx = layer.backward(dout)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, np.where(expected_mask, dout, 0))


def test_dropout_draws_once_per_training_forward_and_never_elsewhere():
    generator = np.random.default_rng(9)
    layer = Dropout(0.5, rng=generator)
    assert layer.rng is generator  # the caller's Generator is kept, not copied
    x = np.ones((2, 5))

    twin = copy.deepcopy(generator)
    layer.forward(x)
    twin.random((2, 5))
    assert generator.bit_generator.state == twin.bit_generator.state

    layer.backward(np.ones((2, 5)))
    layer.forward(x, train_flg=False)
    layer.backward(np.ones((2, 5)))
    assert generator.bit_generator.state == twin.bit_generator.state


@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_test_mode_scales_by_the_keep_ratio(dtype):
    layer = Dropout(0.25, rng=0)
    x = np.array([[4.0, -8.0]], dtype=dtype)
    layer.forward(x)  # a training forward first: its mask must not leak into test mode
    out = layer.forward(x, train_flg=False)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [[3.0, -6.0]])
    dx = layer.backward(np.array([[1.0, 2.0]], dtype=dtype))
    np.testing.assert_array_equal(dx, [[0.75, 1.5]])
    assert layer.mask is None


def test_dropout_ratio_zero_keeps_everything():
    layer = Dropout(0.0, rng=1)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), np.ones((2, 3)))


def test_dropout_does_not_mutate_its_input():
    x = np.ones((3, 3))
    Dropout(0.5, rng=2).forward(x)
    np.testing.assert_array_equal(x, np.ones((3, 3)))


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5, float("nan"), True, "0.5"])
def test_dropout_refuses_a_ratio_outside_zero_one(ratio):
    with pytest.raises(ValueError, match=r"Dropout\.__init__: dropout_ratio must be a number in \[0, 1\)"):
        Dropout(ratio)


def test_dropout_refuses_bad_input():
    layer = Dropout(0.5, rng=0)
    with pytest.raises(RuntimeError, match=r"Dropout\.backward: call forward before backward"):
        layer.backward(np.ones(2))
    with pytest.raises(TypeError, match=r"Dropout\.forward: x must be a float32 or float64 array"):
        layer.forward(np.ones(2, dtype=np.int64))
    layer.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"Dropout\.backward: dout must be of shape \(2, 2\)"):
        layer.backward(np.ones(4))
