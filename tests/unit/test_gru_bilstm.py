"""GRU and TimeGRU (the book's formulation) against an op-level torch reference; TimeBiLSTM against
torch.nn.LSTM(bidirectional=True) with the gate mapping of tests/unit/time_reference.py."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from scratchnn.time_layers import GRU, TimeBiLSTM, TimeGRU
from tests.unit.time_reference import (
    assert_close,
    assert_sequence_matches,
    assert_step_matches,
    check_protocol,
    lstm_columns,
    normal,
    tensor,
    torch_gru,
)

SHAPES = [(3, 5, 4, 6), (1, 1, 2, 3), (2, 1, 5, 2), (1, 4, 3, 3)]  # (N, T, D, H)


def gru_weights(rng, D, H, dtype):
    return (
        normal(rng, (D, 3 * H), dtype, 0.5),
        normal(rng, (H, 3 * H), dtype, 0.5),
        normal(rng, (3 * H,), dtype, 0.5),
    )


def raises(error, owner, argument):
    return pytest.raises(error, match="^" + re.escape(f"{owner}: {argument} "))


@pytest.mark.parametrize(("N", "T", "D", "H"), SHAPES)
def test_time_gru_matches_the_book_formulas_in_torch(dtype, N, T, D, H):
    rng = np.random.default_rng(41)
    Wx, Wh, b = gru_weights(rng, D, H, dtype)
    xs, dhs, h0 = normal(rng, (N, T, D), dtype), normal(rng, (N, T, H), dtype), normal(rng, (N, H), dtype)
    layer = TimeGRU(Wx, Wh, b, stateful=True)
    layer.set_state(h0)

    hs = layer.forward(xs)
    dxs = layer.backward(dhs)

    ref = torch_gru(Wx, Wh, b, xs, h0, dhs)
    assert_sequence_matches(layer, hs, dxs, ref, dtype)


def test_gru_step_matches_the_book_formulas_in_torch(dtype):
    rng = np.random.default_rng(42)
    N, D, H = 3, 4, 5
    Wx, Wh, b = gru_weights(rng, D, H, dtype)
    x, h_prev, dh_next = normal(rng, (N, D), dtype), normal(rng, (N, H), dtype), normal(rng, (N, H), dtype)
    layer = GRU(Wx, Wh, b)
    h_next = layer.forward(x, h_prev)
    dx, dh_prev = layer.backward(dh_next)
    ref = torch_gru(Wx, Wh, b, x[:, None], h_prev, dh_next[:, None])
    assert_step_matches(layer, h_next, dx, dh_prev, ref, dtype)


def test_gru_is_not_torch_gru():
    """The docstring's claim, checked: with the same weights in torch's layout, torch.nn.GRU differs."""
    rng = np.random.default_rng(43)
    N, T, D, H = 2, 3, 3, 4
    Wx, Wh, b = gru_weights(rng, D, H, np.float64)
    xs = normal(rng, (N, T, D), np.float64)
    ours = TimeGRU(Wx, Wh, b).forward(xs)
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    cols = np.concatenate([np.arange(k * H, (k + 1) * H) for k in (1, 0, 2)])  # (r, z, n) from (z, r, h̃)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(Wx[:, cols].T.copy()))
        gru.weight_hh_l0.copy_(torch.from_numpy(Wh[:, cols].T.copy()))
        gru.bias_ih_l0.copy_(torch.from_numpy(b[cols]))
        gru.bias_hh_l0.zero_()
    theirs = gru(torch.from_numpy(xs))[0].detach().numpy()
    assert np.max(np.abs(ours - theirs)) > 0.1


def test_stateful_time_gru_carries_h():
    rng = np.random.default_rng(44)
    N, T, D, H = 2, 3, 3, 4
    Wx, Wh, b = gru_weights(rng, D, H, np.float64)
    xs, dhs = normal(rng, (N, 2 * T, D), np.float64), normal(rng, (N, 2 * T, H), np.float64)
    layer = TimeGRU(Wx, Wh, b, stateful=True)
    first = layer.forward(xs[:, :T])
    h1 = layer.h.copy()
    second = layer.forward(xs[:, T:])
    dxs = layer.backward(dhs[:, T:])
    whole = torch_gru(Wx, Wh, b, xs, np.zeros((N, H)), dhs)
    assert_close(np.concatenate([first, second], axis=1), whole["hs"], np.float64, "hs over two calls")
    ref = torch_gru(Wx, Wh, b, xs[:, T:], h1, dhs[:, T:])
    assert_close(dxs, ref["dxs"], np.float64, "dxs")
    assert_close(layer.dh, ref["dh"], np.float64, "dh")
    layer.reset_state()
    assert_close(layer.forward(xs[:, :T]), first, np.float64, "after reset_state")


@pytest.mark.parametrize("stateful", [False, True])
def test_gru_contracts(dtype, stateful):
    rng = np.random.default_rng(45)
    Wx, Wh, b = gru_weights(rng, 3, 4, dtype)
    check_protocol(
        TimeGRU(Wx, Wh, b, stateful=stateful),
        (normal(rng, (2, 3, 3), dtype),),
        (normal(rng, (2, 3, 4), dtype),),
    )
    inputs = (normal(rng, (2, 3), dtype), normal(rng, (2, 4), dtype))
    check_protocol(GRU(Wx, Wh, b), inputs, (normal(rng, (2, 4), dtype),))


def test_gru_bad_input():
    rng = np.random.default_rng(46)
    Wx, Wh, b = gru_weights(rng, 3, 4, np.float64)
    layer = TimeGRU(Wx, Wh, b, stateful=True)
    with raises(ValueError, "TimeGRU.forward", "xs"):
        layer.forward(np.ones((2, 3, 4)))
    layer.forward(np.ones((2, 3, 3)))
    with raises(ValueError, "TimeGRU.forward", "h"):
        layer.forward(np.ones((1, 3, 3)))
    with raises(ValueError, "TimeGRU.backward", "dhs"):
        layer.backward(np.ones((2, 3, 3)))
    with raises(ValueError, "TimeGRU.__init__", "Wh"):
        TimeGRU(Wx, np.ones((4, 16)), b)
    with raises(ValueError, "GRU.forward", "h_prev"):
        GRU(Wx, Wh, b).forward(np.ones((2, 3)), np.ones((2, 3)))


# --- TimeBiLSTM ------------------------------------------------------------------------------


def lstm_weights(rng, D, H, dtype):
    return (
        normal(rng, (D, 4 * H), dtype, 0.5),
        normal(rng, (H, 4 * H), dtype, 0.5),
        normal(rng, (4 * H,), dtype, 0.5),
    )


def torch_bilstm(weights, xs, dout):
    """torch.nn.LSTM(bidirectional=True); direction 2 gets Wx2, Wh2, b2 (suffix _reverse)."""
    Wx1, Wh1, b1, Wx2, Wh2, b2 = (np.asarray(w, np.float64) for w in weights)
    D, H = Wx1.shape[0], Wh1.shape[0]
    cols, inverse = lstm_columns(H), np.argsort(lstm_columns(H))
    lstm = torch.nn.LSTM(D, H, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for suffix, (Wx, Wh, b) in (("", (Wx1, Wh1, b1)), ("_reverse", (Wx2, Wh2, b2))):
            getattr(lstm, "weight_ih_l0" + suffix).copy_(torch.from_numpy(Wx[:, cols].T.copy()))
            getattr(lstm, "weight_hh_l0" + suffix).copy_(torch.from_numpy(Wh[:, cols].T.copy()))
            getattr(lstm, "bias_ih_l0" + suffix).copy_(torch.from_numpy(b[cols]))
            getattr(lstm, "bias_hh_l0" + suffix).zero_()
    x = tensor(xs)
    out, _ = lstm(x)
    (out * tensor(dout, False)).sum().backward()
    grads = []
    for suffix in ("", "_reverse"):
        grads += [
            getattr(lstm, "weight_ih_l0" + suffix).grad.numpy().T[:, inverse],
            getattr(lstm, "weight_hh_l0" + suffix).grad.numpy().T[:, inverse],
            getattr(lstm, "bias_ih_l0" + suffix).grad.numpy()[inverse],
        ]
    return out.detach().numpy(), x.grad.numpy(), grads


@pytest.mark.parametrize(("N", "T", "D", "H"), [(2, 4, 3, 5), (1, 1, 2, 2)])
def test_time_bilstm_matches_torch_bidirectional_lstm(dtype, N, T, D, H):
    rng = np.random.default_rng(47)
    weights = (*lstm_weights(rng, D, H, dtype), *lstm_weights(rng, D, H, dtype))
    xs, dout = normal(rng, (N, T, D), dtype), normal(rng, (N, T, 2 * H), dtype)
    layer = TimeBiLSTM(*weights)
    assert all(p is w for p, w in zip(layer.params, weights, strict=True))

    out = layer.forward(xs)
    dxs = layer.backward(dout)

    ref_out, ref_dxs, ref_grads = torch_bilstm(weights, xs, dout)
    assert out.shape == (N, T, 2 * H)
    assert out.dtype == dxs.dtype == dtype
    assert_close(out, ref_out, dtype, "out")
    assert_close(dxs, ref_dxs, dtype, "dxs")
    for k, (grad, ref) in enumerate(zip(layer.grads, ref_grads, strict=True)):
        assert_close(grad, ref, dtype, f"grads[{k}]")


def test_time_bilstm_contract_and_errors(dtype):
    rng = np.random.default_rng(48)
    weights = (*lstm_weights(rng, 3, 4, dtype), *lstm_weights(rng, 3, 4, dtype))
    layer = TimeBiLSTM(*weights)
    check_protocol(layer, (normal(rng, (2, 3, 3), dtype),), (normal(rng, (2, 3, 8), dtype),))
    with raises(ValueError, "TimeBiLSTM.forward", "xs"):
        layer.forward(np.ones((2, 3, 4), dtype=dtype))
    with raises(ValueError, "TimeBiLSTM.backward", "dhs"):
        layer.backward(np.ones((2, 3, 4), dtype=dtype))
    other = lstm_weights(rng, 3, 5, dtype)
    with raises(ValueError, "TimeBiLSTM.__init__", "Wx2"):
        TimeBiLSTM(*weights[:3], *other)
