"""PyTorch references for the time layers' tests, all in float64 with autograd.

The weight mappings between the book's layouts and PyTorch's:

- ``torch.nn.RNN(nonlinearity="tanh")``: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), so
  ``weight_ih_l0 = Wx.T``, ``weight_hh_l0 = Wh.T``, ``bias_ih_l0 = b``, ``bias_hh_l0 = 0``;
  back: dWx = weight_ih.grad.T, dWh = weight_hh.grad.T, db = bias_ih.grad.
- ``torch.nn.LSTM``: gate rows in the order (i, f, g, o), the book's columns are (f, g, i, o).
  With blocks numbered f=0, g=1, i=2, o=3, torch's order is blocks [2, 0, 1, 3]:
  ``weight_ih_l0 = Wx[:, cols].T``, ``weight_hh_l0 = Wh[:, cols].T``, ``bias_ih_l0 = b[cols]``,
  ``bias_hh_l0 = 0`` with ``cols`` = the columns of blocks 2, 0, 1, 3. Gradients come back
  through the inverse column permutation (and transposed).
- GRU: the book's formulation is not torch.nn.GRU's (see scratchnn.time_layers.GRU), so the
  reference is written with torch primitives, formula by formula from the book.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

Array = np.ndarray


def tensor(a: Array, grad: bool = True) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def lstm_columns(H: int) -> np.ndarray:
    """Column indices of the book's (f, g, i, o) blocks in torch's (i, f, g, o) order."""
    return np.concatenate([np.arange(k * H, (k + 1) * H) for k in (2, 0, 1, 3)])


def torch_rnn(Wx: Array, Wh: Array, b: Array, xs: Array, h0: Array, dhs: Array) -> dict[str, Array]:
    """hs, h_T and the gradients of sum(hs * dhs) via torch.nn.RNN (batch_first)."""
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(np.asarray(Wx, np.float64).T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(np.asarray(Wh, np.float64).T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(np.asarray(b, np.float64)))
        rnn.bias_hh_l0.zero_()
    x, h = tensor(xs), tensor(h0[None])
    hs, h_last = rnn(x, h)
    (hs * tensor(dhs, False)).sum().backward()
    return {
        "hs": hs.detach().numpy(),
        "h": h_last[0].detach().numpy(),
        "dxs": x.grad.numpy(),
        "dh": h.grad[0].numpy(),
        "dWx": rnn.weight_ih_l0.grad.numpy().T,
        "dWh": rnn.weight_hh_l0.grad.numpy().T,
        "db": rnn.bias_ih_l0.grad.numpy(),
    }


def torch_lstm(
    Wx: Array,
    Wh: Array,
    b: Array,
    xs: Array,
    h0: Array,
    c0: Array,
    dhs: Array,
    dc_last: Array | None = None,
) -> dict[str, Array]:
    """hs, h_T, c_T and the gradients of sum(hs * dhs) (+ sum(c_T * dc_last)) via torch.nn.LSTM."""
    D, H4 = Wx.shape
    H = H4 // 4
    cols = lstm_columns(H)
    inverse = np.argsort(cols)
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(np.asarray(Wx, np.float64)[:, cols].T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(np.asarray(Wh, np.float64)[:, cols].T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(np.asarray(b, np.float64)[cols]))
        lstm.bias_hh_l0.zero_()
    x, h, c = tensor(xs), tensor(h0[None]), tensor(c0[None])
    hs, (h_last, c_last) = lstm(x, (h, c))
    objective = (hs * tensor(dhs, False)).sum()
    if dc_last is not None:
        objective = objective + (c_last[0] * tensor(dc_last, False)).sum()
    objective.backward()
    return {
        "hs": hs.detach().numpy(),
        "h": h_last[0].detach().numpy(),
        "c": c_last[0].detach().numpy(),
        "dxs": x.grad.numpy(),
        "dh": h.grad[0].numpy(),
        "dc": c.grad[0].numpy(),
        "dWx": lstm.weight_ih_l0.grad.numpy().T[:, inverse],
        "dWh": lstm.weight_hh_l0.grad.numpy().T[:, inverse],
        "db": lstm.bias_ih_l0.grad.numpy()[inverse],
    }


def torch_gru(Wx: Array, Wh: Array, b: Array, xs: Array, h0: Array, dhs: Array) -> dict[str, Array]:
    """The book's GRU (blocks z, r, h̃) with torch primitives, unrolled over T."""
    H = Wh.shape[0]
    wx, wh, bb = tensor(Wx), tensor(Wh), tensor(b)
    x, h0t = tensor(xs), tensor(h0)
    h = h0t
    outs = []
    for t in range(xs.shape[1]):
        xt = x[:, t]
        z = torch.sigmoid(xt @ wx[:, :H] + h @ wh[:, :H] + bb[:H])
        r = torch.sigmoid(xt @ wx[:, H : 2 * H] + h @ wh[:, H : 2 * H] + bb[H : 2 * H])
        h_hat = torch.tanh(xt @ wx[:, 2 * H :] + (r * h) @ wh[:, 2 * H :] + bb[2 * H :])
        h = (1 - z) * h + z * h_hat
        outs.append(h)
    hs = torch.stack(outs, dim=1)
    (hs * tensor(dhs, False)).sum().backward()
    return {
        "hs": hs.detach().numpy(),
        "h": h.detach().numpy(),
        "dxs": x.grad.numpy(),
        "dh": h0t.grad.numpy(),
        "dWx": wx.grad.numpy(),
        "dWh": wh.grad.numpy(),
        "db": bb.grad.numpy(),
    }


def assert_close(actual: Any, expected: Any, dtype: Any, name: str = "", scale: float = 1.0) -> None:
    """float64 to 1e-12 relative to the largest expected value; float32 to 2e-5 of it."""
    expected = np.asarray(expected, dtype=np.float64)
    tol = (1e-12 if np.dtype(dtype) == np.float64 else 2e-5) * scale
    magnitude = max(float(np.max(np.abs(expected))), 1.0) if expected.size else 1.0
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), expected, rtol=tol, atol=tol * magnitude, err_msg=name
    )


def assert_weight_gradients(layer: Any, ref: dict[str, Array], dtype: Any) -> None:
    """The layer's grads (dWx, dWh, db, the book's order) in its dtype and equal to the reference's."""
    for name, grad in zip(("dWx", "dWh", "db"), layer.grads, strict=True):
        assert grad.dtype == dtype, name
        assert_close(grad, ref[name], dtype, name)


def assert_sequence_matches(layer: Any, hs: Any, dxs: Any, ref: dict[str, Array], dtype: Any) -> None:
    """A time layer's hs and dxs, its final h and its dh, and its weight gradients against the
    reference (all in the layer's dtype)."""
    assert hs.dtype == dxs.dtype == layer.h.dtype == layer.dh.dtype == dtype
    assert_close(hs, ref["hs"], dtype, "hs")
    assert_close(layer.h, ref["h"], dtype, "h")
    assert_close(dxs, ref["dxs"], dtype, "dxs")
    assert_close(layer.dh, ref["dh"], dtype, "dh")
    assert_weight_gradients(layer, ref, dtype)


def assert_step_matches(
    layer: Any, h_next: Any, dx: Any, dh_prev: Any, ref: dict[str, Array], dtype: Any
) -> None:
    """One step (h_next, dx, dh_prev, weight gradients) against the reference run for T = 1."""
    assert h_next.dtype == dx.dtype == dh_prev.dtype == dtype
    assert_close(h_next, ref["hs"][:, 0], dtype, "h_next")
    assert_close(dx, ref["dxs"][:, 0], dtype, "dx")
    assert_close(dh_prev, ref["dh"], dtype, "dh_prev")
    assert_weight_gradients(layer, ref, dtype)


def normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any, scale: float = 1.0) -> Array:
    return (scale * rng.standard_normal(shape)).astype(dtype)


def snapshot(values: Any) -> list[Array]:
    return [np.array(v, copy=True) for v in values]


def _arrays(value: Any) -> list[Array]:
    if value is None:
        return []
    if isinstance(value, tuple):
        return [v for v in value if isinstance(v, np.ndarray)]
    return [value] if isinstance(value, np.ndarray) else []


def check_protocol(layer: Any, inputs: tuple[Any, ...], douts: tuple[Any, ...]) -> None:
    """The contract every layer keeps, checked on one forward and two backwards.

    No argument is modified; grads keep their identity and dtypes; a second backward gives
    the same result; the returned arrays are fresh (writing into them, or into the inputs,
    after the call changes nothing later).
    """
    before_inputs, before_douts = snapshot(inputs), snapshot(douts)
    grad_ids = [id(g) for g in layer.grads]
    out = layer.forward(*inputs)
    first = _arrays(layer.backward(*douts))
    first_values, first_grads = snapshot(first), snapshot(layer.grads)
    for arg, kept in zip((*inputs, *douts), (*before_inputs, *before_douts), strict=True):
        np.testing.assert_array_equal(arg, kept)
    # Scribble over everything the caller holds: the layer must not have kept references.
    for value in (*[v for v in inputs if isinstance(v, np.ndarray)], *_arrays(out), *first):
        value[...] = 123.0 if value.dtype.kind == "f" else 0
    second = _arrays(layer.backward(*douts))
    for a, b in zip(second, first_values, strict=True):
        np.testing.assert_array_equal(a, b)
    for g, kept in zip(layer.grads, first_grads, strict=True):
        np.testing.assert_array_equal(g, kept)
    assert [id(g) for g in layer.grads] == grad_ids
    for p, g in zip(layer.params, layer.grads, strict=True):
        assert g.shape == p.shape
        assert g.dtype == p.dtype
