"""References of ``scratchnn.time_layers`` (chapters 5 and 6): recurrent layers in the book's layout.

The book keeps one weight matrix per input, laid out (in, out) as everywhere in
the book (``x @ Wx``), batch-major sequences (N, T, D), and a single bias.
``torch.nn.RNN`` keeps (out, in) matrices, two biases and a hidden state with
a leading layer axis. The mapping is written once, in :func:`rnn_torch_weights`.
"""

from __future__ import annotations

from typing import Any, cast

import torch
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
    h, steps = inputs["h"], []
    for t in range(inputs["xs"].shape[1]):
        h = rnn({"x": inputs["xs"][:, t], "h_prev": h}, params, dims)
        steps.append(h)
    return torch.stack(steps, dim=1)


def time_rnn_state(inputs: Tensors, params: Tensors, dims: Dims) -> Tensors:
    """The state a TimeRNN call ends in: its last hidden state."""
    return {"h": time_rnn_ops(inputs, params, dims)[:, -1]}
