"""RNN and TimeRNN against torch.nn.RNN (float64 autograd); state handling; the layer contract."""

from __future__ import annotations

import re

import numpy as np
import pytest

from scratchnn.time_layers import RNN, TimeRNN
from tests.unit.time_reference import (
    assert_close,
    assert_sequence_matches,
    assert_step_matches,
    check_protocol,
    normal,
    torch_rnn,
)

SHAPES = [(3, 5, 4, 6), (1, 1, 2, 3), (2, 1, 5, 2), (1, 4, 3, 3)]  # (N, T, D, H): H != D, T = 1, N = 1


def weights(rng, D, H, dtype):
    return normal(rng, (D, H), dtype, 0.5), normal(rng, (H, H), dtype, 0.5), normal(rng, (H,), dtype, 0.5)


@pytest.mark.parametrize(("N", "T", "D", "H"), SHAPES)
def test_time_rnn_matches_torch_rnn(dtype, N, T, D, H):
    rng = np.random.default_rng(1)
    Wx, Wh, b = weights(rng, D, H, dtype)
    xs, dhs = normal(rng, (N, T, D), dtype), normal(rng, (N, T, H), dtype)
    layer = TimeRNN(Wx, Wh, b)

    hs = layer.forward(xs)
    dxs = layer.backward(dhs)

    ref = torch_rnn(Wx, Wh, b, xs, np.zeros((N, H)), dhs)
    assert hs.shape == (N, T, H)
    assert dxs.shape == (N, T, D)
    assert_sequence_matches(layer, hs, dxs, ref, dtype)


def test_rnn_step_matches_torch_rnn_of_one_step(dtype):
    rng = np.random.default_rng(2)
    N, D, H = 3, 4, 5
    Wx, Wh, b = weights(rng, D, H, dtype)
    x, h_prev, dh_next = normal(rng, (N, D), dtype), normal(rng, (N, H), dtype), normal(rng, (N, H), dtype)
    layer = RNN(Wx, Wh, b)

    h_next = layer.forward(x, h_prev)
    dx, dh_prev = layer.backward(dh_next)

    ref = torch_rnn(Wx, Wh, b, x[:, None], h_prev, dh_next[:, None])
    assert_step_matches(layer, h_next, dx, dh_prev, ref, dtype)


def test_stateful_time_rnn_carries_h_and_truncates_backward():
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 3, 3, 4
    Wx, Wh, b = weights(rng, D, H, np.float64)
    xs = normal(rng, (N, 2 * T, D), np.float64)
    dhs = normal(rng, (N, 2 * T, H), np.float64)
    layer = TimeRNN(Wx, Wh, b, stateful=True)

    first = layer.forward(xs[:, :T])
    h_after_first = layer.h.copy()
    second = layer.forward(xs[:, T:])
    dxs = layer.backward(dhs[:, T:])

    whole = torch_rnn(Wx, Wh, b, xs, np.zeros((N, H)), dhs)
    assert_close(np.concatenate([first, second], axis=1), whole["hs"], np.float64, "hs over two calls")
    # Truncated BPTT: the second call's gradients treat its starting state as a constant input.
    ref = torch_rnn(Wx, Wh, b, xs[:, T:], h_after_first, dhs[:, T:])
    assert_close(dxs, ref["dxs"], np.float64, "dxs")
    assert_close(layer.dh, ref["dh"], np.float64, "dh")
    assert_close(layer.grads[1], ref["dWh"], np.float64, "dWh")


def test_set_state_and_reset_state():
    rng = np.random.default_rng(4)
    N, T, D, H = 2, 3, 3, 4
    Wx, Wh, b = weights(rng, D, H, np.float64)
    xs, dhs, h0 = (
        normal(rng, (N, T, D), np.float64),
        normal(rng, (N, T, H), np.float64),
        normal(rng, (N, H), np.float64),
    )
    layer = TimeRNN(Wx, Wh, b, stateful=True)

    h0_given = h0.copy()
    layer.set_state(h0_given)
    h0_given[...] = 0  # set_state kept its own copy
    hs = layer.forward(xs)
    layer.backward(dhs)
    ref = torch_rnn(Wx, Wh, b, xs, h0, dhs)
    assert_close(hs, ref["hs"], np.float64, "hs from h0")
    assert_close(layer.dh, ref["dh"], np.float64, "dh with respect to h0")

    layer.reset_state()
    assert layer.h is None
    assert_close(
        layer.forward(xs), torch_rnn(Wx, Wh, b, xs, np.zeros((N, H)), dhs)["hs"], np.float64, "reset"
    )

    # Not stateful: every call starts from zeros, as in the book, whatever set_state said.
    plain = TimeRNN(Wx, Wh, b)
    plain.set_state(h0)
    np.testing.assert_array_equal(plain.forward(xs), TimeRNN(Wx, Wh, b).forward(xs))
    np.testing.assert_array_equal(plain.forward(xs), plain.forward(xs))


@pytest.mark.parametrize("stateful", [False, True])
def test_time_rnn_contract(dtype, stateful):
    rng = np.random.default_rng(5)
    Wx, Wh, b = weights(rng, 3, 4, dtype)
    layer = TimeRNN(Wx, Wh, b, stateful=stateful)
    check_protocol(layer, (normal(rng, (2, 3, 3), dtype),), (normal(rng, (2, 3, 4), dtype),))
    returned_h = layer.h
    assert not np.shares_memory(returned_h, layer.forward(normal(rng, (2, 3, 3), dtype)))


def test_rnn_contract(dtype):
    rng = np.random.default_rng(6)
    Wx, Wh, b = weights(rng, 3, 4, dtype)
    layer = RNN(Wx, Wh, b)
    check_protocol(
        layer, (normal(rng, (2, 3), dtype), normal(rng, (2, 4), dtype)), (normal(rng, (2, 4), dtype),)
    )


def raises(error, owner, argument):
    return pytest.raises(error, match="^" + re.escape(f"{owner}: {argument} "))


def test_time_rnn_bad_input():
    rng = np.random.default_rng(7)
    Wx, Wh, b = weights(rng, 3, 4, np.float64)
    layer = TimeRNN(Wx, Wh, b, stateful=True)
    with raises(ValueError, "TimeRNN.forward", "xs"):
        layer.forward(np.ones((2, 3)))
    with raises(ValueError, "TimeRNN.forward", "xs"):
        layer.forward(np.ones((2, 3, 5)))
    with raises(TypeError, "TimeRNN.forward", "xs"):
        layer.forward(np.ones((2, 3, 3), dtype=np.float32))
    with raises(TypeError, "TimeRNN.forward", "xs"):
        layer.forward(np.ones((2, 3, 3), dtype=np.int64))
    with raises(ValueError, "TimeRNN.forward", "xs"):
        layer.forward(np.ones((2, 0, 3)))
    with pytest.raises(RuntimeError, match=r"^TimeRNN\.backward: "):
        layer.backward(np.ones((2, 3, 4)))
    layer.forward(np.ones((2, 3, 3)))
    with raises(ValueError, "TimeRNN.backward", "dhs"):
        layer.backward(np.ones((2, 3, 3)))
    with raises(TypeError, "TimeRNN.backward", "dhs"):
        layer.backward(np.ones((2, 3, 4), dtype=np.float32))
    with raises(ValueError, "TimeRNN.forward", "h"):  # the carried state is for a batch of 2
        layer.forward(np.ones((5, 3, 3)))
    with raises(ValueError, "TimeRNN.set_state", "h"):
        layer.set_state(np.ones((2, 5)))
    with raises(TypeError, "TimeRNN.set_state", "h"):
        layer.set_state(np.ones((2, 4), dtype=np.float32))
    with raises(ValueError, "TimeRNN.__init__", "Wh"):
        TimeRNN(Wx, np.ones((4, 5)), b)
    with raises(ValueError, "TimeRNN.__init__", "b"):
        TimeRNN(Wx, Wh, np.ones(3))
    with raises(TypeError, "TimeRNN.__init__", "b"):
        TimeRNN(Wx, Wh, b.astype(np.float32))


def test_rnn_bad_input():
    rng = np.random.default_rng(8)
    layer = RNN(*weights(rng, 3, 4, np.float64))
    with raises(ValueError, "RNN.forward", "h_prev"):
        layer.forward(np.ones((2, 3)), np.ones((3, 4)))
    with raises(ValueError, "RNN.forward", "x"):
        layer.forward(np.ones((2, 4)), np.ones((2, 4)))
    layer.forward(np.ones((2, 3)), np.ones((2, 4)))
    with raises(ValueError, "RNN.backward", "dh_next"):
        layer.backward(np.ones((2, 3)))
