"""References of the sequence-to-sequence models of ``scratchnn.models`` (chapters 7 and 8).

Each model is written from ``F.embedding``, ``torch.nn.LSTM``, ``F.linear`` and
``F.cross_entropy``, with the attention of :mod:`conformance.references.attention`.

Mapping of the book's layers to PyTorch's:

- ``TimeEmbedding(W)``, W (V, D): ``F.embedding(xs, W)`` (the same layout).
- ``TimeLSTM(Wx, Wh, b)``, Wx (D, 4H), Wh (H, 4H), b (4H,), column blocks in the book's
  gate order (f, g, i, o), a single bias: ``torch.nn.LSTM(D, H, batch_first=True)`` has
  weight_ih_l0 (4H, D), weight_hh_l0 (4H, H), row blocks in the order (i, f, g, o), and two
  biases. So weight_ih_l0 = Wx[:, p].T, weight_hh_l0 = Wh[:, p].T, bias_ih_l0 = b[p],
  bias_hh_l0 = 0, where p lists the columns of the blocks i, f, g, o of the book's layout
  (:func:`lstm_torch_weights`). Both compute c' = f c + i g, h' = o tanh(c') with
  sigmoid f, i, o and tanh g; torch wants the states as (layers, N, H).
- ``TimeAffine(W, b)``, W (H, V): ``F.linear(x, W.T, b)``.
- ``TimeSoftmaxWithLoss``: ``F.cross_entropy`` over the N * T positions, mean reduction
  (the drawn ids hold no ignored label).
- The decoder's LSTM starts from the encoder's h with a zero cell state (the book's
  ``set_state(h)``); the encoder's starts from zeros (``stateful=False``).

:func:`book_time_lstm` is the book's LSTM written step by step from torch operations in the
book's own layout; the harness's tests check that it agrees with the mapped ``torch.nn.LSTM``,
which checks the mapping itself.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch.func import functional_call

from conformance.references.attention import attend

Tensors = dict[str, torch.Tensor]
Dims = dict[str, Any]

LSTM_PARAMS = ("embed_W", "lstm_Wx", "lstm_Wh", "lstm_b")
DECODER_PARAMS = (*LSTM_PARAMS, "affine_W", "affine_b")


# --- the LSTM -----------------------------------------------------------------------------------


def torch_gate_order(H: int) -> torch.Tensor:
    """Column indices of the book's (f, g, i, o) blocks taken in torch's order (i, f, g, o)."""
    f, g, i, o = (torch.arange(k * H, (k + 1) * H) for k in range(4))
    return torch.cat((i, f, g, o))


def lstm_torch_weights(Wx: torch.Tensor, Wh: torch.Tensor, b: torch.Tensor) -> Tensors:
    """The book's (Wx, Wh, b) as ``torch.nn.LSTM``'s parameters (see the module docstring)."""
    order = torch_gate_order(Wh.shape[0])
    return {
        "weight_ih_l0": Wx[:, order].T,
        "weight_hh_l0": Wh[:, order].T,
        "bias_ih_l0": b[order],
        "bias_hh_l0": torch.zeros_like(b),
    }


@functools.lru_cache(maxsize=128)
def _lstm_module(D: int, H: int, dtype: torch.dtype) -> torch.nn.LSTM:
    """A ``torch.nn.LSTM`` of these sizes, made once: only its structure is used, the weights
    come from ``functional_call`` (building one took a fifth of a model reference's time)."""
    return torch.nn.LSTM(D, H, batch_first=True, dtype=dtype)


def time_lstm(xs: torch.Tensor, h0: torch.Tensor, Wx: torch.Tensor, Wh: torch.Tensor, b: torch.Tensor) -> Any:
    """hs (N, T, H) of ``torch.nn.LSTM`` over xs (N, T, D) from h0 (N, H) and a zero cell state."""
    N, _, D = xs.shape
    H = Wh.shape[0]
    module = _lstm_module(D, H, xs.dtype)
    c0 = torch.zeros(1, N, H, dtype=xs.dtype)
    hs, _ = functional_call(module, lstm_torch_weights(Wx, Wh, b), (xs, (h0.unsqueeze(0), c0)))
    return cast(torch.Tensor, hs)


def book_time_lstm(
    xs: torch.Tensor, h0: torch.Tensor, Wx: torch.Tensor, Wh: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """The same from torch operations, as the book's LSTM step reads (section 6.3)."""
    H = Wh.shape[0]
    h, c, steps = h0, torch.zeros_like(h0), []
    for t in range(xs.shape[1]):
        A = xs[:, t] @ Wx + h @ Wh + b
        f, g, i, o = A[:, :H], A[:, H : 2 * H], A[:, 2 * H : 3 * H], A[:, 3 * H :]
        c = torch.sigmoid(f) * c + torch.tanh(g) * torch.sigmoid(i)
        h = torch.sigmoid(o) * torch.tanh(c)
        steps.append(h)
    return torch.stack(steps, dim=1)


# --- encoders and decoders, on a dict of parameters named as in the rows --------------------------


def _part(params: Tensors, prefix: str) -> Tensors:
    """The parameters whose names start with ``prefix``, without it (``enc_lstm_Wx`` -> ``lstm_Wx``)."""
    return {name[len(prefix) :]: value for name, value in params.items() if name.startswith(prefix)}


def encoder_states(xs: torch.Tensor, p: Tensors) -> torch.Tensor:
    """TimeEmbedding - TimeLSTM from a zero state: hs (N, T, H)."""
    embedded = F.embedding(xs, p["embed_W"])
    h0 = torch.zeros(xs.shape[0], p["lstm_Wh"].shape[0], dtype=embedded.dtype)
    return cast(torch.Tensor, time_lstm(embedded, h0, p["lstm_Wx"], p["lstm_Wh"], p["lstm_b"]))


def decoder_scores(xs: torch.Tensor, h: torch.Tensor, p: Tensors) -> torch.Tensor:
    """TimeEmbedding - TimeLSTM from (h, 0) - TimeAffine: scores (N, T, V)."""
    hs = time_lstm(F.embedding(xs, p["embed_W"]), h, p["lstm_Wx"], p["lstm_Wh"], p["lstm_b"])
    return F.linear(hs, p["affine_W"].T, p["affine_b"])


def peeky_decoder_scores(xs: torch.Tensor, h: torch.Tensor, p: Tensors) -> torch.Tensor:
    """As :func:`decoder_scores`, with h concatenated before the embedding at every step's LSTM
    input and before the LSTM output at every step's Affine input (section 7.3.2)."""
    N, T = xs.shape
    peek = h.unsqueeze(1).expand(N, T, h.shape[1])
    lstm_in = torch.cat((peek, F.embedding(xs, p["embed_W"])), dim=2)
    hs = time_lstm(lstm_in, h, p["lstm_Wx"], p["lstm_Wh"], p["lstm_b"])
    return F.linear(torch.cat((peek, hs), dim=2), p["affine_W"].T, p["affine_b"])


def attention_decoder_scores(xs: torch.Tensor, enc_hs: torch.Tensor, p: Tensors) -> torch.Tensor:
    """LSTM from (enc_hs[:, -1], 0) over the embedded xs, then each step's context over enc_hs,
    then Affine of concat(context, LSTM output) (section 8.2.2)."""
    dec_hs = time_lstm(F.embedding(xs, p["embed_W"]), enc_hs[:, -1], p["lstm_Wx"], p["lstm_Wh"], p["lstm_b"])
    contexts = attend(enc_hs, dec_hs)
    return F.linear(torch.cat((contexts, dec_hs), dim=2), p["affine_W"].T, p["affine_b"])


def mean_cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """TimeSoftmaxWithLoss: the mean over every (n, t) of -log softmax(scores[n, t])[targets[n, t]]."""
    return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets.reshape(-1))


# --- the rows' references -------------------------------------------------------------------------


def encoder(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return encoder_states(inputs["xs"], params)[:, -1]


def attention_encoder(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return encoder_states(inputs["xs"], params)


def decoder(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return decoder_scores(inputs["xs"], inputs["h"], params)


def peeky_decoder(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return peeky_decoder_scores(inputs["xs"], inputs["h"], params)


def attention_decoder(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return attention_decoder_scores(inputs["xs"], inputs["enc_hs"], params)


def seq2seq(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Encoder's last h into Decoder, taught with ts[:, :-1] against ts[:, 1:] (section 7.2.4)."""
    ts = inputs["ts"]
    h = encoder_states(inputs["xs"], _part(params, "enc_"))[:, -1]
    return mean_cross_entropy(decoder_scores(ts[:, :-1], h, _part(params, "dec_")), ts[:, 1:])


def peeky_seq2seq(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    ts = inputs["ts"]
    h = encoder_states(inputs["xs"], _part(params, "enc_"))[:, -1]
    return mean_cross_entropy(peeky_decoder_scores(ts[:, :-1], h, _part(params, "dec_")), ts[:, 1:])


def attention_seq2seq(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Every encoder state into the attention decoder; the last one also starts its LSTM."""
    ts = inputs["ts"]
    enc_hs = encoder_states(inputs["xs"], _part(params, "enc_"))
    return mean_cross_entropy(attention_decoder_scores(ts[:, :-1], enc_hs, _part(params, "dec_")), ts[:, 1:])
