"""The attention layers of chapter 8 (section 8.1, the book's ``common/attention_layer.py``).

The book's unscaled dot-product attention, batch-major, without parameters
(``params = grads = []``):

- ``WeightSum()``: ``forward(hs, a)``, c[n] = sum_t a[n, t] hs[n, t] for hs (N, T, H), a (N, T);
  ``backward(dc) -> (dhs, da)``.
- ``AttentionWeight()``: ``forward(hs, h)``, a[n] = softmax_t(sum_h hs[n, t, h] h[n, h]) for
  hs (N, T, H), h (N, H); ``backward(da) -> (dhs, dh)``.
- ``Attention()``: AttentionWeight then WeightSum on the same hs; ``forward(hs, h) -> c`` (N, H),
  ``backward(dout) -> (dhs, dh)``; ``attention_weight`` keeps the last a.
- ``TimeAttention()``: one Attention per decoder step, all steps at once;
  ``forward(hs_enc, hs_dec) -> cs`` (N, Tdec, H), ``backward(dout) -> (dhs_enc, dhs_dec)``;
  ``attention_weights`` keeps the last weights as the book does (a list of Tdec arrays (N, Tenc)).

Sums over T or H are written as batched matrix products (``np.matmul`` over the batch
axis), which reach BLAS, instead of broadcasting a (N, T, H) temporary and reducing it.
What a layer keeps for backward is its own copy, never the caller's array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray
from scratchnn.functions import softmax
from scratchnn.protocol import LayerBase

__all__ = ["Attention", "AttentionWeight", "TimeAttention", "WeightSum"]


def _hidden_states(owner: str, name: str, value: object, layout: str = "(N, T, H)") -> FloatArray:
    """A float (N, T, H) array with at least one time step: softmax over T needs one."""
    hs = check.float_array_of_rank(owner, name, value, 3, layout)
    if hs.shape[1] == 0:
        raise check.fail_value(owner, name, f"an array {layout} with T >= 1", f"shape {hs.shape}")
    return hs


def _upstream_gradient(
    owner: str, name: str, value: object, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> FloatArray:
    """backward's argument, named as the book names it (``dc``, ``da``), of the forward output's
    shape and dtype."""
    array = check.float_array(owner, name, value)
    check.same_shape(owner, name, array, "the forward output", shape)
    check.same_dtype(owner, name, array, "the forward output", dtype)
    return array


def _softmax_backward(a: FloatArray, da: FloatArray) -> FloatArray:
    """Gradient of softmax along the last axis: ds = a * (da - sum(a * da)) (section 1.3.5)."""
    return a * (da - np.sum(a * da, axis=-1, keepdims=True))  # type: ignore[no-any-return]


class WeightSum(LayerBase):
    """Context vector c = sum_t a[:, t] hs[:, t] (section 8.1.3, fig. 8-11).

    forward(hs (N, T, H), a (N, T)) -> c (N, H);
    backward(dc) -> (dhs, da) with dhs[n, t] = a[n, t] dc[n], da[n, t] = hs[n, t] . dc[n].
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[FloatArray, FloatArray] | None = None

    def forward(self, hs: FloatArray, a: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        hs = _hidden_states(owner, "hs", hs)
        a = check.float_array_of_rank(owner, "a", a, 2, "(N, T)")
        check.same_shape(owner, "a", a, "hs[:, :, 0]", hs.shape[:2])
        check.same_dtype(owner, "a", a, "hs", hs.dtype)
        self.cache = (hs.copy(), a.copy())
        c: FloatArray = np.matmul(a[:, None, :], hs)[:, 0, :]
        return c

    def backward(self, dc: FloatArray) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("backward")
        hs, a = check.cached(owner, self.cache)
        N, _, H = hs.shape
        dc = _upstream_gradient(owner, "dc", dc, (N, H), hs.dtype)
        dhs = a[:, :, None] * dc[:, None, :]
        da = np.matmul(hs, dc[:, :, None])[:, :, 0]
        return dhs, da


class AttentionWeight(LayerBase):
    """Attention weights a = softmax_t(s), s[n, t] = hs[n, t] . h[n] (section 8.1.4, fig. 8-16).

    The book's unscaled dot product. forward(hs (N, T, H), h (N, H)) -> a (N, T);
    backward(da) -> (dhs, dh) with ds = a * (da - sum_t a da), dhs[n, t] = ds[n, t] h[n],
    dh[n] = sum_t ds[n, t] hs[n, t].
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[FloatArray, FloatArray, FloatArray] | None = None

    def forward(self, hs: FloatArray, h: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        hs = _hidden_states(owner, "hs", hs)
        h = check.float_array_of_rank(owner, "h", h, 2, "(N, H)")
        check.same_shape(owner, "h", h, "hs[:, 0, :]", (hs.shape[0], hs.shape[2]))
        check.same_dtype(owner, "h", h, "hs", hs.dtype)
        s = np.matmul(hs, h[:, :, None])[:, :, 0]
        a = softmax(s)  # subtracts the row maximum: no overflow for large scores
        self.cache = (hs.copy(), h.copy(), a)
        return a.copy()

    def backward(self, da: FloatArray) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("backward")
        hs, h, a = check.cached(owner, self.cache)
        da = _upstream_gradient(owner, "da", da, a.shape, a.dtype)
        ds = _softmax_backward(a, da)
        dhs = ds[:, :, None] * h[:, None, :]
        dh = np.matmul(ds[:, None, :], hs)[:, 0, :]
        return dhs, dh


class Attention(LayerBase):
    """c = WeightSum(hs, AttentionWeight(hs, h)) (section 8.1.5, fig. 8-18).

    forward(hs (N, T, H), h (N, H)) -> c (N, H); backward(dout) -> (dhs, dh), where dhs adds
    the paths through the weights and through the weighted sum. ``attention_weight`` is
    the last forward's a (N, T).
    """

    def __init__(self) -> None:
        super().__init__()
        self.attention_weight_layer = AttentionWeight()
        self.weight_sum_layer = WeightSum()
        self.attention_weight: FloatArray | None = None

    def forward(self, hs: FloatArray, h: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        # Checked here so that errors name Attention, not the inner layer.
        hs = _hidden_states(owner, "hs", hs)
        h = check.float_array_of_rank(owner, "h", h, 2, "(N, H)")
        check.same_shape(owner, "h", h, "hs[:, 0, :]", (hs.shape[0], hs.shape[2]))
        check.same_dtype(owner, "h", h, "hs", hs.dtype)
        a = self.attention_weight_layer.forward(hs, h)
        c = self.weight_sum_layer.forward(hs, a)
        self.attention_weight = a
        return c

    def backward(self, dout: FloatArray) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("backward")
        hs, _ = check.cached(owner, self.weight_sum_layer.cache)
        dc = check.upstream_gradient(owner, dout, (hs.shape[0], hs.shape[2]), hs.dtype)
        dhs0, da = self.weight_sum_layer.backward(dc)
        dhs1, dh = self.attention_weight_layer.backward(da)
        return dhs0 + dhs1, dh


class TimeAttention(LayerBase):
    """One Attention per decoder step over the encoder's states (section 8.2.3, fig. 8-22).

    For hs_enc (N, Tenc, H) and hs_dec (N, Tdec, H), all steps at once:
    S = hs_dec @ hs_enc^T (N, Tdec, Tenc), A = softmax(S) over Tenc, cs = A @ hs_enc (N, Tdec, H).
    backward(dout) -> (dhs_enc, dhs_dec), with dS = A * (dA - sum A dA), dA = dout @ hs_enc^T:
    dhs_enc = A^T @ dout + dS^T @ hs_dec (summed over decoder steps), dhs_dec = dS @ hs_enc.
    The same numbers as the book's loop of Attention layers, in four batched products.

    ``attention_weights`` is the last forward's weights as the book keeps them: a list of
    Tdec arrays of shape (N, Tenc) (``np.array(layer.attention_weights)`` is (Tdec, N, Tenc)).
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[FloatArray, FloatArray, FloatArray] | None = None
        self.attention_weights: list[FloatArray] = []

    def forward(self, hs_enc: FloatArray, hs_dec: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        hs_enc = _hidden_states(owner, "hs_enc", hs_enc, "(N, Tenc, H)")
        hs_dec = check.float_array_of_rank(owner, "hs_dec", hs_dec, 3, "(N, Tdec, H)")
        N, _, H = hs_enc.shape
        if hs_dec.shape[0] != N or hs_dec.shape[2] != H:
            raise check.fail_value(
                owner,
                "hs_dec",
                f"of shape ({N}, Tdec, {H}) to match hs_enc of shape {hs_enc.shape}",
                f"shape {hs_dec.shape}",
            )
        check.same_dtype(owner, "hs_dec", hs_dec, "hs_enc", hs_enc.dtype)
        scores = np.matmul(hs_dec, hs_enc.transpose(0, 2, 1))
        weights = softmax(scores)
        self.cache = (hs_enc.copy(), hs_dec.copy(), weights)
        # The book appends each step's (N, Tenc) weights; these come from a copy, so a
        # caller editing them cannot reach the cache that backward reads.
        self.attention_weights = list(weights.transpose(1, 0, 2).copy())
        cs: FloatArray = np.matmul(weights, hs_enc)
        return cs

    def backward(self, dout: FloatArray) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("backward")
        hs_enc, hs_dec, weights = check.cached(owner, self.cache)
        dout = check.upstream_gradient(owner, dout, hs_dec.shape, hs_dec.dtype)
        dweights = np.matmul(dout, hs_enc.transpose(0, 2, 1))
        dscores = _softmax_backward(weights, dweights)
        dhs_enc = np.matmul(weights.transpose(0, 2, 1), dout)
        dhs_enc += np.matmul(dscores.transpose(0, 2, 1), hs_dec)
        dhs_dec = np.matmul(dscores, hs_enc)
        return dhs_enc, dhs_dec
