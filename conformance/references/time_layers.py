"""References of ``scratchnn.time_layers`` (chapters 5 and 6): recurrent layers in the book's layout.

The book keeps one weight matrix per input, laid out (in, out) as everywhere in
the book (``x @ Wx``), batch-major sequences (N, T, D), and a single bias.
``torch.nn.RNN`` keeps (out, in) matrices, two biases and a hidden state with
a leading layer axis. The mapping is written once, in :func:`rnn_torch_weights`.
The LSTM's gate blocks are also reordered, from the book's (f, g, i, o) columns to torch's
(i, f, g, o) rows: :func:`lstm_torch_weights`, used by the cell, TimeLSTM, TimeBiLSTM (both
directions) and the language models. The book's GRU is not torch's (see :func:`gru_step`):
its reference is written from torch operations.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch.func import functional_call

Tensors = dict[str, torch.Tensor]
Dims = dict[str, Any]


def rnn(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """One step of the book's RNN: tanh(h_prev Wh + x Wx + b)."""
    return torch.tanh(inputs["h_prev"] @ params["Wh"] + inputs["x"] @ params["Wx"] + params["b"])


def rnn_torch_weights(params: Tensors) -> Tensors:
    """The book's (Wx, Wh, b) as ``torch.nn.RNN``'s parameters.

    torch.nn.RNN computes h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), so
    W_ih = Wx^T (H, D), W_hh = Wh^T (H, H), b_ih = b and b_hh = 0 (the book has one bias).
    """
    return {
        "weight_ih_l0": params["Wx"].T,
        "weight_hh_l0": params["Wh"].T,
        "bias_ih_l0": params["b"],
        "bias_hh_l0": torch.zeros_like(params["b"]),
    }


def time_rnn(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """TimeRNN through ``torch.nn.RNN`` (tanh, batch_first) with the weights mapped, from the
    state ``h`` (N, H); torch wants it as (layers, N, H)."""
    xs, h0 = inputs["xs"], inputs["h"]
    module = torch.nn.RNN(xs.shape[2], h0.shape[1], nonlinearity="tanh", batch_first=True, dtype=xs.dtype)
    hs, _ = functional_call(module, rnn_torch_weights(params), (xs, h0.unsqueeze(0)))
    return cast(torch.Tensor, hs)


def time_rnn_ops(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """The same from torch operations, step by step, as the book writes it (the harness's own
    tests check that the two references agree, outputs and gradients)."""
    return time_rnn_steps(inputs, [params] * inputs["xs"].shape[1], dims)


def time_rnn_steps(inputs: Tensors, params_by_step: list[Tensors], dims: Dims) -> torch.Tensor:
    """:func:`time_rnn_ops` with the parameters of step t taken from ``params_by_step[t]``."""
    h, steps = inputs["h"], []
    for t, params in enumerate(params_by_step):
        h = rnn({"x": inputs["xs"][:, t], "h_prev": h}, params, dims)
        steps.append(h)
    return torch.stack(steps, dim=1)


def time_rnn_state(inputs: Tensors, params: Tensors, dims: Dims) -> Tensors:
    """The state a TimeRNN call ends in: its last hidden state."""
    return {"h": time_rnn_ops(inputs, params, dims)[:, -1]}


# --- LSTM (section 6.3) -----------------------------------------------------------------------


def book_to_torch_gates(H: int) -> torch.Tensor:
    """Column indices that reorder the book's gate blocks (f, g, i, o) into torch's (i, f, g, o)."""
    block = torch.arange(H)
    return torch.cat((block + 2 * H, block, block + H, block + 3 * H))


def lstm_torch_weights(Wx: torch.Tensor, Wh: torch.Tensor, b: torch.Tensor, suffix: str = "") -> Tensors:
    """The book's LSTM weights as ``torch.nn.LSTM`` / ``torch.nn.LSTMCell`` parameters.

    The book computes A = x Wx + h Wh + b with Wx (D, 4H), Wh (H, 4H), b (4H,), column blocks
    (f, g, i, o): f = σ(A_f), g = tanh(A_g), i = σ(A_i), o = σ(A_o), c' = f c + g i,
    h' = o tanh(c'). torch computes the same gates from W_ih x + b_ih + W_hh h + b_hh with
    (4H, D) and (4H, H) matrices whose ROW blocks are (i, f, g, o), and the same cell update.
    So, with P the permutation of :func:`book_to_torch_gates` (blocks i, f, g, o of the book's
    columns): W_ih = Wx[:, P]^T, W_hh = Wh[:, P]^T, b_ih = b[P], b_hh = 0 (the book has one
    bias). ``suffix``: ``_l0`` or ``_l0_reverse`` for ``torch.nn.LSTM``, empty for the cell.
    """
    P = book_to_torch_gates(Wh.shape[0])
    return {
        f"weight_ih{suffix}": Wx[:, P].T,
        f"weight_hh{suffix}": Wh[:, P].T,
        f"bias_ih{suffix}": b[P],
        f"bias_hh{suffix}": torch.zeros_like(b),
    }


def lstm(inputs: Tensors, params: Tensors, dims: Dims) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the book's LSTM through ``torch.nn.LSTMCell`` with the weights mapped:
    (h_next, c_next) from (x, h_prev, c_prev)."""
    x, h, c = inputs["x"], inputs["h_prev"], inputs["c_prev"]
    cell = torch.nn.LSTMCell(x.shape[1], h.shape[1], dtype=x.dtype)
    weights = lstm_torch_weights(params["Wx"], params["Wh"], params["b"])
    h_next, c_next = functional_call(cell, weights, (x, (h, c)))
    return cast(torch.Tensor, h_next), cast(torch.Tensor, c_next)


def _time_lstm(inputs: Tensors, params: Tensors) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    xs, h0, c0 = inputs["xs"], inputs["h"], inputs["c"]
    module = torch.nn.LSTM(xs.shape[2], h0.shape[1], batch_first=True, dtype=xs.dtype)
    weights = lstm_torch_weights(params["Wx"], params["Wh"], params["b"], "_l0")
    hs, (h_n, c_n) = functional_call(module, weights, (xs, (h0.unsqueeze(0), c0.unsqueeze(0))))
    return cast(torch.Tensor, hs), cast(torch.Tensor, h_n[0]), cast(torch.Tensor, c_n[0])


def time_lstm(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """TimeLSTM through ``torch.nn.LSTM`` (batch_first) with the weights mapped (see
    :func:`lstm_torch_weights`), from the states ``h`` and ``c`` (N, H); torch wants them as
    (layers, N, H)."""
    return _time_lstm(inputs, params)[0]


def time_lstm_steps(inputs: Tensors, params_by_step: list[Tensors], dims: Dims) -> torch.Tensor:
    """TimeLSTM as :func:`lstm` step after step, the parameters of step t from
    ``params_by_step[t]`` (the harness's own tests check it against :func:`time_lstm`)."""
    h, c, steps = inputs["h"], inputs["c"], []
    for t, params in enumerate(params_by_step):
        h, c = lstm({"x": inputs["xs"][:, t], "h_prev": h, "c_prev": c}, params, dims)
        steps.append(h)
    return torch.stack(steps, dim=1)


def time_lstm_state(inputs: Tensors, params: Tensors, dims: Dims) -> Tensors:
    """The state a TimeLSTM call ends in: its last hidden and cell states."""
    _, h, c = _time_lstm(inputs, params)
    return {"h": h, "c": c}


def time_bilstm(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """TimeBiLSTM through ``torch.nn.LSTM(bidirectional=True, batch_first=True)``.

    The book runs a second TimeLSTM (Wx2, Wh2, b2) over xs reversed in time and reverses its
    output back, so out[:, t, H:] has read x_{T-1} .. x_t: torch's reverse direction, whose
    output is aligned the same way and concatenated after the forward direction's. Each
    direction's weights are mapped as in :func:`lstm_torch_weights` (suffixes ``_l0`` and
    ``_l0_reverse``); both start from zero states (the book's class has no set_state).
    """
    xs, H = inputs["xs"], params["Wh1"].shape[0]
    module = torch.nn.LSTM(xs.shape[2], H, batch_first=True, bidirectional=True, dtype=xs.dtype)
    weights = {
        **lstm_torch_weights(params["Wx1"], params["Wh1"], params["b1"], "_l0"),
        **lstm_torch_weights(params["Wx2"], params["Wh2"], params["b2"], "_l0_reverse"),
    }
    out, _ = functional_call(module, weights, (xs,))
    return cast(torch.Tensor, out)


# --- GRU (the book's common/time_layers.py) ----------------------------------------------------


def gru_step(x: torch.Tensor, h: torch.Tensor, params: Tensors) -> torch.Tensor:
    """One step of the book's GRU, from torch operations.

    Column blocks (z, r, h~) of Wx (D, 3H), Wh (H, 3H), b (3H,):
    z = σ(x Wx_z + h Wh_z + b_z), r = σ(x Wx_r + h Wh_r + b_r),
    h~ = tanh(x Wx_h + (r * h) Wh_h + b_h), h_next = (1 - z) * h + z * h~.

    Why not ``torch.nn.GRU`` with mapped weights: torch computes
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and h' = (1 - z) * n + z * h. Two things
    differ. Its z weights the OLD state where the book's weights the candidate; that part
    alone could be mapped (negated z weights and bias, since σ(-a) = 1 - σ(a)). But its reset
    gate multiplies the hidden product W_hn h + b_hn, while the book's multiplies h before
    the product, r * h then Wh_h: (r * h) Wh_h is not r * (h Wh_h) for any choice of weights
    unless Wh_h is diagonal. The two are different functions, so the reference is the
    book's formula written out.
    """
    Wx, Wh, b = params["Wx"], params["Wh"], params["b"]
    H = Wh.shape[0]
    a = x @ Wx + b
    z = torch.sigmoid(a[:, :H] + h @ Wh[:, :H])
    r = torch.sigmoid(a[:, H : 2 * H] + h @ Wh[:, H : 2 * H])
    h_hat = torch.tanh(a[:, 2 * H :] + (r * h) @ Wh[:, 2 * H :])
    return (1 - z) * h + z * h_hat


def gru(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """One step of the book's GRU (see :func:`gru_step` for why it is op-level)."""
    return gru_step(inputs["x"], inputs["h_prev"], params)


def time_gru(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """TimeGRU: :func:`gru_step` over the time axis of xs (N, T, D), from the state ``h``."""
    return time_gru_steps(inputs, [params] * inputs["xs"].shape[1], dims)


def time_gru_steps(inputs: Tensors, params_by_step: list[Tensors], dims: Dims) -> torch.Tensor:
    """:func:`time_gru` with the parameters of step t taken from ``params_by_step[t]``."""
    h, steps = inputs["h"], []
    for t, params in enumerate(params_by_step):
        h = gru_step(inputs["xs"][:, t], h, params)
        steps.append(h)
    return torch.stack(steps, dim=1)


def time_gru_state(inputs: Tensors, params: Tensors, dims: Dims) -> Tensors:
    """The state a TimeGRU call ends in: its last hidden state."""
    return {"h": time_gru(inputs, params, dims)[:, -1]}


# --- time-distributed layers and losses (sections 5.4, 6.5) -------------------------------------


def time_embedding(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """out[n, t] = W[xs[n, t]]: ``F.embedding`` with the book's (V, D) layout."""
    return F.embedding(inputs["xs"], params["W"])


def time_affine(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """out[n, t] = xs[n, t] W + b; torch.nn.Linear stores W as (out, in), hence W^T."""
    return F.linear(inputs["xs"], params["W"].T, params["b"])


def time_softmax_with_loss(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """The mean cross-entropy over the N*T positions whose label is not -1 (the book's
    ignore_label): ``F.cross_entropy(ignore_index=-1)`` on the (N*T, V) scores, whose mean
    divides by the number of positions not ignored, as the book's ``mask.sum()``. One-hot
    labels (N, T, V) arrive as float64 class probabilities, none ignored."""
    xs, ts = inputs["xs"], inputs["ts"]
    V = xs.shape[2]
    if ts.is_floating_point():
        return F.cross_entropy(xs.reshape(-1, V), ts.reshape(-1, V))
    return F.cross_entropy(xs.reshape(-1, V), ts.reshape(-1), ignore_index=-1)


def time_sigmoid_with_loss(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Binary cross-entropy with logits, averaged over all N*T scores (the book averages
    SigmoidWithLoss over N at each step, then over T: the same mean)."""
    xs = inputs["xs"]
    return F.binary_cross_entropy_with_logits(xs, inputs["ts"].to(xs.dtype))


def time_dropout(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """The book's TimeDropout is inverted: training keeps xs where the layer's mask is set (the
    keep pattern the layer drew, read back by the harness) and scales the kept values by
    1 / (1 - ratio); test mode is the identity. F.dropout has the same formula but would draw
    its own mask."""
    if dims["case"]["mode"] == "train":
        return inputs["xs"] * inputs["mask"] / (1 - float(dims["ratio"]))
    return inputs["xs"] * 1.0
