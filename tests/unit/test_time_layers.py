"""TimeEmbedding, TimeAffine, TimeSoftmaxWithLoss, TimeSigmoidWithLoss and TimeDropout: against
torch autograd (float64), the layer contract, ignored labels, dropout statistics, bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

from scratchnn.time_layers import (
    TimeAffine,
    TimeDropout,
    TimeEmbedding,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
)
from tests.unit.time_reference import assert_close, check_protocol, normal, tensor


def raises(error, owner, argument):
    return pytest.raises(error, match="^" + re.escape(f"{owner}: {argument} "))


# --- TimeEmbedding -----------------------------------------------------------------------------


def test_time_embedding_matches_torch_with_repeated_ids(dtype):
    rng = np.random.default_rng(21)
    V, D = 7, 3
    W = normal(rng, (V, D), dtype)
    xs = np.array([[1, 4, 1, 0], [6, 1, 4, 4]])  # 1 three times, 4 three times
    dout = normal(rng, (2, 4, D), dtype)
    layer = TimeEmbedding(W)

    out = layer.forward(xs)
    assert layer.backward(dout) is None

    w = tensor(W)
    ref = F.embedding(torch.from_numpy(xs), w)
    (ref * tensor(dout, False)).sum().backward()
    assert out.dtype == layer.grads[0].dtype == dtype
    np.testing.assert_array_equal(out, W[xs])
    assert_close(layer.grads[0], w.grad.numpy(), dtype, "dW")
    assert not np.shares_memory(out, W)


def test_time_embedding_contract_and_errors(dtype):
    rng = np.random.default_rng(22)
    W = normal(rng, (5, 3), dtype)
    layer = TimeEmbedding(W)
    check_protocol(layer, (np.array([[0, 4, 4]]),), (normal(rng, (1, 3, 3), dtype),))
    assert layer.params[0] is W
    with raises(TypeError, "TimeEmbedding.forward", "xs"):
        layer.forward(np.array([[0.0, 1.0]]))
    with raises(ValueError, "TimeEmbedding.forward", "xs"):
        layer.forward(np.array([[0, 5]]))
    with raises(ValueError, "TimeEmbedding.forward", "xs"):
        layer.forward(np.array([[0, -1]]))
    with raises(ValueError, "TimeEmbedding.forward", "xs"):
        layer.forward(np.array([0, 1]))
    layer.forward(np.array([[0, 1]]))
    with raises(ValueError, "TimeEmbedding.backward", "dout"):
        layer.backward(np.ones((1, 2, 4), dtype=dtype))
    with raises(ValueError, "TimeEmbedding.__init__", "W"):
        TimeEmbedding(np.ones(3))


# --- TimeAffine --------------------------------------------------------------------------------


@pytest.mark.parametrize(("N", "T", "D", "H"), [(2, 3, 4, 5), (1, 1, 3, 2)])
def test_time_affine_matches_torch(dtype, N, T, D, H):
    rng = np.random.default_rng(23)
    W, b = normal(rng, (D, H), dtype), normal(rng, (H,), dtype)
    xs, dout = normal(rng, (N, T, D), dtype), normal(rng, (N, T, H), dtype)
    layer = TimeAffine(W, b)

    out = layer.forward(xs)
    dxs = layer.backward(dout)

    x, w, bb = tensor(xs), tensor(W), tensor(b)
    ref = x @ w + bb
    (ref * tensor(dout, False)).sum().backward()
    assert out.shape == (N, T, H)
    assert out.dtype == dxs.dtype == dtype
    assert_close(out, ref.detach().numpy(), dtype, "out")
    assert_close(dxs, x.grad.numpy(), dtype, "dxs")
    assert_close(layer.grads[0], w.grad.numpy(), dtype, "dW")
    assert_close(layer.grads[1], bb.grad.numpy(), dtype, "db")


def test_time_affine_with_a_tied_transposed_weight():
    """The book's BetterRnnlm passes embed_W.T: a transposed view; its grad has W's layout."""
    rng = np.random.default_rng(24)
    embed_W = normal(rng, (6, 4), np.float64)  # (V, D)
    b = normal(rng, (6,), np.float64)
    layer = TimeAffine(embed_W.T, b)
    assert np.shares_memory(layer.params[0], embed_W)
    xs, dout = normal(rng, (2, 3, 4), np.float64), normal(rng, (2, 3, 6), np.float64)
    layer.forward(xs)
    layer.backward(dout)
    np.testing.assert_allclose(layer.grads[0], xs.reshape(6, 4).T @ dout.reshape(6, 6), rtol=1e-13)


def test_time_affine_contract_and_errors(dtype):
    rng = np.random.default_rng(25)
    layer = TimeAffine(normal(rng, (3, 2), dtype), normal(rng, (2,), dtype))
    check_protocol(layer, (normal(rng, (2, 4, 3), dtype),), (normal(rng, (2, 4, 2), dtype),))
    with raises(ValueError, "TimeAffine.forward", "xs"):
        layer.forward(np.ones((2, 3), dtype=dtype))
    with raises(ValueError, "TimeAffine.forward", "xs"):
        layer.forward(np.ones((2, 3, 2), dtype=dtype))
    with raises(TypeError, "TimeAffine.forward", "xs"):
        layer.forward(np.ones((2, 3, 3), dtype=np.float16))
    layer.forward(np.ones((2, 3, 3), dtype=dtype))
    with raises(ValueError, "TimeAffine.backward", "dout"):
        layer.backward(np.ones((3, 2, 2), dtype=dtype))
    with raises(ValueError, "TimeAffine.__init__", "b"):
        TimeAffine(np.ones((3, 2)), np.ones(3))


# --- TimeSoftmaxWithLoss --------------------------------------------------------------------------


def torch_cross_entropy(xs, ts, dout, ignore_index=-1):
    """Mean over the non-ignored positions, as F.cross_entropy's reduction='mean' with ignore_index."""
    V = xs.shape[2]
    x = tensor(xs)
    loss = F.cross_entropy(x.reshape(-1, V), torch.from_numpy(ts.reshape(-1)), ignore_index=ignore_index)
    (loss * dout).backward()
    return loss.item(), x.grad.numpy()


@pytest.mark.parametrize("ignored", [(), ((0, 1), (1, 3), (1, 0))])
def test_time_softmax_with_loss_matches_torch_cross_entropy(dtype, ignored):
    rng = np.random.default_rng(26)
    N, T, V = 2, 4, 5
    xs = normal(rng, (N, T, V), dtype, 3.0)
    ts = rng.integers(0, V, (N, T))
    for position in ignored:
        ts[position] = -1
    layer = TimeSoftmaxWithLoss()

    loss = layer.forward(xs, ts)
    dxs = layer.backward(1.7)

    ref_loss, ref_dxs = torch_cross_entropy(xs, ts, 1.7)
    assert loss.dtype == dxs.dtype == dtype
    assert_close(loss, ref_loss, dtype, "loss")
    assert_close(dxs, ref_dxs, dtype, "dxs")
    for position in ignored:
        assert not dxs[position].any()


def test_time_softmax_with_loss_one_hot_and_extreme_logits(dtype):
    rng = np.random.default_rng(27)
    N, T, V = 3, 2, 4
    xs = normal(rng, (N, T, V), dtype, 1e4)  # logits of ±1e4: exp would overflow without the shift
    ts = rng.integers(0, V, (N, T))
    one_hot = np.eye(V, dtype=dtype)[ts]
    by_id, by_one_hot = TimeSoftmaxWithLoss(), TimeSoftmaxWithLoss()
    loss = by_id.forward(xs, ts)
    assert_close(loss, torch_cross_entropy(xs, ts, 1.0)[0], dtype, "loss", scale=10)
    assert np.isfinite(loss)
    assert by_one_hot.forward(xs, one_hot) == loss
    np.testing.assert_array_equal(by_one_hot.backward(), by_id.backward())


def test_time_softmax_with_loss_ignore_label_attribute():
    rng = np.random.default_rng(28)
    xs = normal(rng, (2, 3, 4), np.float64)
    ts = np.array([[0, 2, 3], [0, 0, 1]])
    layer = TimeSoftmaxWithLoss()
    layer.ignore_label = 0  # e.g. a padding id
    loss = layer.forward(xs, ts)
    ref_loss, ref_dxs = torch_cross_entropy(xs, ts, 1.0, ignore_index=0)
    assert_close(loss, ref_loss, np.float64)
    assert_close(layer.backward(), ref_dxs, np.float64)
    with raises(ValueError, "TimeSoftmaxWithLoss.forward", "ts"):  # -1 is a label now: out of range
        layer.forward(xs, np.array([[1, 2, -1], [0, 0, 1]]))


def test_time_softmax_with_loss_contract_and_errors(dtype):
    rng = np.random.default_rng(29)
    layer = TimeSoftmaxWithLoss()
    check_protocol(layer, (normal(rng, (2, 3, 4), dtype), np.array([[0, -1, 3], [1, 1, 2]])), (2.0,))
    xs = normal(rng, (2, 3, 4), dtype)
    with raises(ValueError, "TimeSoftmaxWithLoss.forward", "ts"):
        layer.forward(xs, np.full((2, 3), -1))
    with raises(ValueError, "TimeSoftmaxWithLoss.forward", "ts"):
        layer.forward(xs, np.array([[0, 4, 1], [1, 1, 2]]))
    with raises(ValueError, "TimeSoftmaxWithLoss.forward", "ts"):
        layer.forward(xs, np.array([[0, -2, 1], [1, 1, 2]]))
    with raises(TypeError, "TimeSoftmaxWithLoss.forward", "ts"):
        layer.forward(xs, np.zeros((2, 3)))
    with raises(ValueError, "TimeSoftmaxWithLoss.forward", "ts"):
        layer.forward(xs, np.zeros((2, 4), dtype=int))
    with raises(ValueError, "TimeSoftmaxWithLoss.forward", "ts"):
        layer.forward(xs, np.full((2, 3, 4), 0.25))  # not one-hot
    with raises(ValueError, "TimeSoftmaxWithLoss.forward", "xs"):
        layer.forward(xs[0], np.zeros((3,), dtype=int))
    with raises(TypeError, "TimeSoftmaxWithLoss.forward", "xs"):
        layer.forward(np.zeros((2, 3, 4), dtype=int), np.zeros((2, 3), dtype=int))
    layer.forward(xs, np.zeros((2, 3), dtype=int))
    with raises(ValueError, "TimeSoftmaxWithLoss.backward", "dout"):
        layer.backward(np.ones(3))


# --- TimeSigmoidWithLoss -----------------------------------------------------------------------


def test_time_sigmoid_with_loss_matches_torch(dtype):
    rng = np.random.default_rng(30)
    xs = normal(rng, (3, 4), dtype, 3.0)
    xs[0, 0], xs[0, 1] = 800.0, -800.0  # stable: no overflow in exp
    ts = rng.integers(0, 2, (3, 4))
    layer = TimeSigmoidWithLoss()
    loss = layer.forward(xs, ts)
    dxs = layer.backward(0.5)

    x = tensor(xs)
    ref = F.binary_cross_entropy_with_logits(x, torch.from_numpy(ts.astype(np.float64)))
    (ref * 0.5).backward()
    assert loss.dtype == dxs.dtype == dtype
    assert_close(loss, ref.item(), dtype, "loss")
    assert_close(dxs, x.grad.numpy(), dtype, "dxs")
    check_protocol(TimeSigmoidWithLoss(), (xs, ts), (0.5,))
    with raises(ValueError, "TimeSigmoidWithLoss.forward", "ts"):
        layer.forward(xs, np.full((3, 4), 2))
    with raises(ValueError, "TimeSigmoidWithLoss.forward", "xs"):
        layer.forward(xs[0], ts[0])


# --- TimeDropout ----------------------------------------------------------------------------------


def test_time_dropout_is_inverted_and_draws_once(dtype):
    ratio = 0.3
    xs = np.random.default_rng(31).standard_normal((4, 50, 60)).astype(dtype)
    dout = np.random.default_rng(32).standard_normal(xs.shape).astype(dtype)
    rng = np.random.default_rng(33)
    layer = TimeDropout(ratio, rng=rng)
    assert layer.rng is rng
    assert layer.train_flg

    out = layer.forward(xs)
    dxs = layer.backward(dout)

    replay = np.random.default_rng(33)
    keep = replay.random(xs.shape) > ratio
    assert rng.random() == replay.random()  # exactly one draw of xs.shape per training forward
    scale = dtype(1 / (1 - ratio))
    assert layer.mask.dtype == out.dtype == dxs.dtype == dtype
    np.testing.assert_array_equal(layer.mask, np.where(keep, scale, dtype(0)))
    np.testing.assert_array_equal(out, xs * np.where(keep, scale, dtype(0)))
    np.testing.assert_array_equal(dxs, dout * np.where(keep, scale, dtype(0)))
    # 12000 Bernoulli(0.7) draws: the kept fraction is within 5 standard deviations of 0.7,
    # and the mask's mean (an unbiased estimate of 1) within 5 standard deviations of 1.
    n = keep.size
    assert abs(keep.mean() - 0.7) < 5 * np.sqrt(0.7 * 0.3 / n)
    assert abs(layer.mask.mean() - 1) < 5 * np.sqrt(0.7 * 0.3 / n) / 0.7


def test_time_dropout_test_mode_is_the_identity():
    xs = np.random.default_rng(34).standard_normal((2, 3, 4))
    rng = np.random.default_rng(35)
    layer = TimeDropout(0.5, rng=rng)
    layer.forward(xs)  # a training mask exists now
    state = rng.bit_generator.state
    layer.train_flg = False
    out = layer.forward(xs)
    np.testing.assert_array_equal(out, xs)
    assert not np.shares_memory(out, xs)
    dout = np.ones_like(xs)
    np.testing.assert_array_equal(layer.backward(dout), dout)  # not the old training mask
    assert rng.bit_generator.state == state  # test mode and backward draw nothing


def test_time_dropout_contract_and_errors(dtype):
    rng = np.random.default_rng(36)
    check_protocol(
        TimeDropout(0.5, rng=1), (normal(rng, (2, 3, 4), dtype),), (normal(rng, (2, 3, 4), dtype),)
    )
    with raises(ValueError, "TimeDropout.__init__", "dropout_ratio"):
        TimeDropout(1.0)
    with raises(TypeError, "TimeDropout.forward", "xs"):
        TimeDropout().forward(np.ones((2, 3), dtype=int))
    layer = TimeDropout()
    layer.forward(np.ones((2, 3), dtype=dtype))
    with raises(ValueError, "TimeDropout.backward", "dout"):
        layer.backward(np.ones((3, 2), dtype=dtype))
    with pytest.raises(RuntimeError, match=r"^TimeDropout\.backward: "):
        TimeDropout().backward(np.ones(2))
