"""References of the language models of ``scratchnn.models`` (chapters 5 and 6): SimpleRnnlm,
Rnnlm and BetterRnnlm, each the loss of word ids xs (N, T) against next-word labels ts (N, T).

Each model is its layers' references chained: ``F.embedding`` (the book's (V, D) table), the
recurrent layer through ``torch.nn.RNN`` / ``torch.nn.LSTM`` with the weights mapped as in
:mod:`conformance.references.time_layers` (transposed; LSTM gate blocks from the book's
(f, g, i, o) to torch's (i, f, g, o); one bias, torch's second one zero), ``F.linear`` with
the book's (H, V) affine weight transposed, and ``F.cross_entropy(ignore_index=-1)`` averaged
over the positions whose label is not the book's ignore_label -1. Every recurrent layer starts
from zero states (the harness calls ``reset_state()`` before every forward).
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch.func import functional_call

from conformance.references.time_layers import lstm_torch_weights, rnn_torch_weights

Tensors = dict[str, torch.Tensor]
Dims = dict[str, Any]


def _loss(scores: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), ts.reshape(-1), ignore_index=-1)


def _lstm(xs: torch.Tensor, Wx: torch.Tensor, Wh: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    module = torch.nn.LSTM(xs.shape[2], Wh.shape[0], batch_first=True, dtype=xs.dtype)
    hs, _ = functional_call(module, lstm_torch_weights(Wx, Wh, b, "_l0"), (xs,))
    return cast(torch.Tensor, hs)


def simple_rnnlm(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Embedding -> tanh RNN (``torch.nn.RNN``, weights mapped) -> affine -> softmax cross-entropy."""
    p = params
    xs = F.embedding(inputs["xs"], p["embed_W"])
    module = torch.nn.RNN(xs.shape[2], p["rnn_Wh"].shape[0], batch_first=True, dtype=xs.dtype)
    weights = rnn_torch_weights({"Wx": p["rnn_Wx"], "Wh": p["rnn_Wh"], "b": p["rnn_b"]})
    hs, _ = functional_call(module, weights, (xs,))
    return _loss(F.linear(hs, p["affine_W"].T, p["affine_b"]), inputs["ts"])


def rnnlm(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Embedding -> LSTM (``torch.nn.LSTM``, gate blocks mapped) -> affine -> softmax cross-entropy."""
    p = params
    xs = F.embedding(inputs["xs"], p["embed_W"])
    hs = _lstm(xs, p["lstm_Wx"], p["lstm_Wh"], p["lstm_b"])
    return _loss(F.linear(hs, p["affine_W"].T, p["affine_b"]), inputs["ts"])


def better_rnnlm(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Embedding -> LSTM -> LSTM -> affine with the tied weight -> softmax cross-entropy, in test
    mode (the dropout layers are the identity there; see the row for why only test mode).

    The output weight is the embedding transposed (the book's ``TimeAffine(embed_W.T, b)``):
    x @ embed_W.T + b is ``F.linear(x, embed_W, b)``; autograd sums both uses of embed_W.
    """
    p = params
    xs = F.embedding(inputs["xs"], p["embed_W"])
    hs = _lstm(xs, p["lstm_Wx1"], p["lstm_Wh1"], p["lstm_b1"])
    hs = _lstm(hs, p["lstm_Wx2"], p["lstm_Wh2"], p["lstm_b2"])
    return _loss(F.linear(hs, p["embed_W"], p["affine_b"]), inputs["ts"])
