"""Attention layers (chapter 8) against PyTorch autograd, hand-worked values and the book's loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scratchnn.attention import Attention, AttentionWeight, TimeAttention, WeightSum

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
RTOL = {np.float32: 2e-5, np.float64: 1e-12}
ATOL = {np.float32: 2e-6, np.float64: 1e-13}


def normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def close(actual, expected, dtype):
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype])


# --- the torch references: the book's formulas written with torch primitives ------------------


def torch_weight_sum(hs, a):
    return (hs * a[:, :, None]).sum(dim=1)


def torch_attention_weight(hs, h):
    return torch.softmax((hs * h[:, None, :]).sum(dim=2), dim=1)


def torch_time_attention(hs_enc, hs_dec):
    # The book's loop of Attention layers, one per decoder step, stacked.
    steps = [
        torch_weight_sum(hs_enc, torch_attention_weight(hs_enc, hs_dec[:, t])) for t in range(hs_dec.shape[1])
    ]
    return torch.stack(steps, dim=1)


def torch_gradients(function, inputs, dout):
    """Forward value and autograd gradients of sum(function(*inputs) * dout), in float64."""
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    out = function(*tensors)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


CASES = {
    "WeightSum": (WeightSum, torch_weight_sum, (3, 5)),
    "AttentionWeight": (AttentionWeight, torch_attention_weight, (3, 4)),
    "Attention": (Attention, lambda hs, h: torch_weight_sum(hs, torch_attention_weight(hs, h)), (3, 5)),
}


def inputs_of(name, rng, dtype):
    hs = normal(rng, (3, 4, 5), dtype)
    if name == "WeightSum":
        a = rng.random((3, 4))
        return hs, (a / a.sum(axis=1, keepdims=True)).astype(dtype)
    return hs, normal(rng, (3, 5), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_forward_and_gradients_match_torch_autograd(name, dtype):
    cls, reference, out_shape = CASES[name]
    rng = np.random.default_rng(1)
    inputs = inputs_of(name, rng, dtype)
    dout = normal(rng, out_shape, dtype)  # a random upstream gradient, not ones
    layer = cls()

    out = layer.forward(*inputs)
    grads = layer.backward(dout)

    expected_out, expected_grads = torch_gradients(reference, inputs, dout)
    assert out.dtype == dtype
    close(out, expected_out, dtype)
    assert len(grads) == 2
    for grad, expected, x in zip(grads, expected_grads, inputs, strict=True):
        assert grad.dtype == dtype
        assert grad.shape == x.shape
        close(grad, expected, dtype)
    assert layer.params == []
    assert layer.grads == []


@pytest.mark.parametrize("dtype", DTYPES)
def test_time_attention_matches_torch_autograd(dtype):
    rng = np.random.default_rng(2)
    hs_enc, hs_dec = normal(rng, (3, 6, 4), dtype), normal(rng, (3, 5, 4), dtype)
    dout = normal(rng, (3, 5, 4), dtype)
    layer = TimeAttention()

    cs = layer.forward(hs_enc, hs_dec)
    dhs_enc, dhs_dec = layer.backward(dout)

    expected, (expected_enc, expected_dec) = torch_gradients(torch_time_attention, (hs_enc, hs_dec), dout)
    assert cs.dtype == dhs_enc.dtype == dhs_dec.dtype == dtype
    close(cs, expected, dtype)
    close(dhs_enc, expected_enc, dtype)
    close(dhs_dec, expected_dec, dtype)


def test_time_attention_equals_the_books_loop_of_attention_layers():
    """Accumulating each step's dhs over the decoder steps, as the book's TimeAttention does."""
    rng = np.random.default_rng(3)
    hs_enc, hs_dec = normal(rng, (2, 7, 3), np.float64), normal(rng, (2, 4, 3), np.float64)
    dout = normal(rng, (2, 4, 3), np.float64)
    layer = TimeAttention()
    cs = layer.forward(hs_enc, hs_dec)
    dhs_enc, dhs_dec = layer.backward(dout)

    expected_enc = np.zeros_like(hs_enc)
    for t in range(4):
        step = Attention()
        np.testing.assert_allclose(cs[:, t], step.forward(hs_enc, hs_dec[:, t]), rtol=1e-13)
        np.testing.assert_allclose(layer.attention_weights[t], step.attention_weight, rtol=1e-13)
        dhs, dh = step.backward(dout[:, t])
        expected_enc += dhs
        np.testing.assert_allclose(dhs_dec[:, t], dh, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dhs_enc, expected_enc, rtol=1e-12, atol=1e-14)


def test_weights_by_hand():
    """hs rows (1, 0) and (0, 1), h = (log 3, 0): scores (log 3, 0), weights (3/4, 1/4)."""
    hs = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    h = np.array([[math.log(3.0), 0.0]])
    layer = Attention()
    c = layer.forward(hs, h)
    np.testing.assert_allclose(layer.attention_weight, [[0.75, 0.25]], rtol=1e-15)
    np.testing.assert_allclose(c, [[0.75, 0.25]], rtol=1e-15)
    # dc = (1, 0): dc . c = 3/4 directly; da = (1, 0), ds = a (da - a.da) = (3/16, -3/16);
    # dh = sum_t ds_t hs_t = (3/16, -3/16);
    # dhs = a dc + ds h = [(3/4 + 3/16 log 3, 0), (1/4 - 3/16 log 3, 0)].
    dhs, dh = layer.backward(np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(dh, [[3 / 16, -3 / 16]], rtol=1e-15)
    log3 = math.log(3.0)
    np.testing.assert_allclose(dhs, [[[0.75 + 3 / 16 * log3, 0.0], [0.25 - 3 / 16 * log3, 0.0]]], rtol=1e-15)


def test_time_attention_weights_are_kept_as_the_book_keeps_them():
    rng = np.random.default_rng(4)
    layer = TimeAttention()
    layer.forward(normal(rng, (2, 6, 3), np.float64), normal(rng, (2, 4, 3), np.float64))
    weights = np.array(layer.attention_weights)
    assert weights.shape == (4, 2, 6)  # Tdec arrays of (N, Tenc)
    np.testing.assert_allclose(weights.sum(axis=2), np.ones((4, 2)), rtol=1e-15)
    assert np.all(weights > 0)


def test_large_scores_stay_finite_and_pick_the_best_match():
    # Scores of +-1e4: exp would overflow without subtracting the maximum (warnings are errors).
    hs = np.array([[[100.0, 0.0], [-100.0, 0.0], [0.0, 100.0]]])
    h = np.array([[100.0, 0.0]])
    layer = Attention()
    c = layer.forward(hs, h)
    np.testing.assert_array_equal(layer.attention_weight, [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(c, [[100.0, 0.0]])
    dhs, dh = layer.backward(np.ones((1, 2)))
    assert np.all(np.isfinite(dhs))
    assert np.all(np.isfinite(dh))


def test_finite_differences_of_time_attention():
    """Central differences in float64; error O(eps^2 f''') + O(1e-16 / eps): 1e-6 at eps = 1e-5."""
    rng = np.random.default_rng(5)
    hs_enc, hs_dec = normal(rng, (2, 3, 2), np.float64), normal(rng, (2, 2, 2), np.float64)
    dout = normal(rng, (2, 2, 2), np.float64)
    layer = TimeAttention()
    layer.forward(hs_enc, hs_dec)
    analytic = layer.backward(dout)

    def objective(enc, dec):
        return float(np.sum(TimeAttention().forward(enc, dec) * dout))

    eps = 1e-5
    for which, x in enumerate((hs_enc, hs_dec)):
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            plus, minus = x.copy(), x.copy()
            plus[index] += eps
            minus[index] -= eps
            args_plus = (plus, hs_dec) if which == 0 else (hs_enc, plus)
            args_minus = (minus, hs_dec) if which == 0 else (hs_enc, minus)
            numeric[index] = (objective(*args_plus) - objective(*args_minus)) / (2 * eps)
        np.testing.assert_allclose(analytic[which], numeric, atol=1e-8)


# --- the protocol contract ---------------------------------------------------------------------


LAYERS = {
    "WeightSum": lambda rng: (WeightSum(), inputs_of("WeightSum", rng, np.float64), (3, 5)),
    "AttentionWeight": lambda rng: (AttentionWeight(), inputs_of("AttentionWeight", rng, np.float64), (3, 4)),
    "Attention": lambda rng: (Attention(), inputs_of("Attention", rng, np.float64), (3, 5)),
    "TimeAttention": lambda rng: (
        TimeAttention(),
        (normal(rng, (3, 4, 5), np.float64), normal(rng, (3, 2, 5), np.float64)),
        (3, 2, 5),
    ),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_repeated_backward_gives_the_same_result_and_nothing_is_mutated(name):
    rng = np.random.default_rng(6)
    layer, inputs, out_shape = LAYERS[name](rng)
    dout = normal(rng, out_shape, np.float64)
    saved = [x.copy() for x in (*inputs, dout)]

    out = layer.forward(*inputs)
    first = layer.backward(dout)
    second = layer.backward(dout)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a is not b
    for x, before in zip((*inputs, dout), saved, strict=True):
        np.testing.assert_array_equal(x, before)

    # The caller owns inputs and outputs: changing them does not change the next backward.
    for x in (*inputs, out, *first):
        x[...] = 7.0
    for a, b in zip(layer.backward(dout), second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_before_forward_is_a_runtime_error(name):
    layer, _, out_shape = LAYERS[name](np.random.default_rng(0))
    with pytest.raises(RuntimeError, match=rf"{name}\.backward: call forward before backward"):
        layer.backward(np.zeros(out_shape))


def test_editing_kept_weights_does_not_change_backward():
    rng = np.random.default_rng(7)
    layer = TimeAttention()
    hs_enc, hs_dec = normal(rng, (2, 3, 4), np.float64), normal(rng, (2, 2, 4), np.float64)
    dout = normal(rng, (2, 2, 4), np.float64)
    layer.forward(hs_enc, hs_dec)
    before = layer.backward(dout)
    for w in layer.attention_weights:
        w[...] = 0.0
    for a, b in zip(layer.backward(dout), before, strict=True):
        np.testing.assert_array_equal(a, b)


H3 = np.zeros((2, 3, 4))


@pytest.mark.parametrize(
    ("layer", "args", "error", "message"),
    [
        (
            WeightSum(),
            (np.zeros((2, 3)), np.zeros((2, 3))),
            ValueError,
            r"WeightSum\.forward: hs must be a 3-D",
        ),
        (WeightSum(), (H3, np.zeros((2, 4))), ValueError, r"WeightSum\.forward: a must be of shape \(2, 3\)"),
        (WeightSum(), (H3, np.zeros((3, 3))), ValueError, r"WeightSum\.forward: a must be of shape \(2, 3\)"),
        (WeightSum(), (H3, np.zeros((2, 3, 1))), ValueError, r"WeightSum\.forward: a must be a 2-D"),
        (WeightSum(), (H3, np.zeros((2, 3), np.float32)), TypeError, r"WeightSum\.forward: a must have"),
        (
            WeightSum(),
            (H3.astype(int), np.zeros((2, 3))),
            TypeError,
            r"WeightSum\.forward: hs must be a float",
        ),
        (AttentionWeight(), (H3, np.zeros((2, 5))), ValueError, r"AttentionWeight\.forward: h must be"),
        (AttentionWeight(), (H3, np.zeros((3, 4))), ValueError, r"AttentionWeight\.forward: h must be"),
        (AttentionWeight(), (H3, np.zeros(4)), ValueError, r"AttentionWeight\.forward: h must be a 2-D"),
        (AttentionWeight(), (np.zeros((2, 0, 4)), np.zeros((2, 4))), ValueError, r"hs must be .* T >= 1"),
        (Attention(), (H3, np.zeros((2, 5))), ValueError, r"Attention\.forward: h must be of shape \(2, 4\)"),
        (Attention(), ([[[0.0]]], np.zeros((1, 1))), TypeError, r"Attention\.forward: hs must be a numpy"),
        (TimeAttention(), (H3, np.zeros((2, 5, 3))), ValueError, r"TimeAttention\.forward: hs_dec must be"),
        (TimeAttention(), (H3, np.zeros((3, 5, 4))), ValueError, r"TimeAttention\.forward: hs_dec must be"),
        (
            TimeAttention(),
            (H3, np.zeros((2, 4))),
            ValueError,
            r"TimeAttention\.forward: hs_dec must be a 3-D",
        ),
        (TimeAttention(), (H3[0], H3), ValueError, r"TimeAttention\.forward: hs_enc must be a 3-D"),
        (
            TimeAttention(),
            (H3, H3.astype(np.float32)),
            TypeError,
            r"TimeAttention\.forward: hs_dec must have",
        ),
    ],
)
def test_bad_forward_input_is_refused_with_a_clear_message(layer, args, error, message):
    with pytest.raises(error, match=message):
        layer.forward(*args)


@pytest.mark.parametrize(
    ("layer", "inputs", "dout", "error", "name"),
    [
        # the message names backward's argument as the book does: dc, da, dout
        (WeightSum(), (H3, np.zeros((2, 3))), np.zeros((2, 3)), ValueError, "dc"),
        (AttentionWeight(), (H3, np.zeros((2, 4))), np.zeros((2, 4)), ValueError, "da"),
        (Attention(), (H3, np.zeros((2, 4))), np.zeros((2, 4), np.float32), TypeError, "dout"),
        (TimeAttention(), (H3, np.zeros((2, 5, 4))), np.zeros((2, 4, 4)), ValueError, "dout"),
    ],
)
def test_bad_dout_is_refused(layer, inputs, dout, error, name):
    layer.forward(*inputs)
    with pytest.raises(error, match=rf"{type(layer).__name__}\.backward: {name} must"):
        layer.backward(dout)
