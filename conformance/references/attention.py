"""References of ``scratchnn.attention`` (chapter 8, section 8.1): the book's attention layers.

The book's attention is the plain dot product of Luong et al. (2015), unscaled:
score s[n, t] = hs[n, t] . h[n], weights a = softmax over the encoder steps t,
context c[n] = sum_t a[n, t] hs[n, t]. ``torch.nn.functional.scaled_dot_product_attention``
computes softmax(Q K^T * scale) V with scale = 1/sqrt(H) by default, which is not the
book's formulation, and it has no counterpart of the book's two halves
(``AttentionWeight`` returns the weights, ``WeightSum`` takes them as an input). The
references are therefore written from torch primitives (batched matrix products and
``torch.softmax``), exactly as the book's formulas read; autograd gives the gradients.

:func:`time_attention_sdpa` is the same layer through ``scaled_dot_product_attention``
with the scale set to 1 (its ``scale=`` argument, PyTorch >= 2.1); the harness's tests
check that it agrees with :func:`time_attention`, outputs and gradients, so the
primitive-level reference is itself cross-checked against PyTorch's own kernel.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

Tensors = dict[str, torch.Tensor]
Dims = dict[str, Any]


def attention_weights(hs: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """a[n] = softmax_t(hs[n] @ h[n]) for hs (N, T, H), h (N, H): (N, T)."""
    scores = (hs @ h.unsqueeze(2)).squeeze(2)  # unscaled dot products, as the book's
    return torch.softmax(scores, dim=1)


def weighted_sum(hs: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """c[n] = sum_t a[n, t] hs[n, t] for hs (N, T, H), a (N, T): (N, H)."""
    return (a.unsqueeze(1) @ hs).squeeze(1)


def weight_sum(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return weighted_sum(inputs["hs"], inputs["a"])


def attention_weight(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return attention_weights(inputs["hs"], inputs["h"])


def attention(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """AttentionWeight then WeightSum on the same hs: autograd adds both paths into dhs."""
    hs = inputs["hs"]
    return weighted_sum(hs, attention_weights(hs, inputs["h"]))


def attend(hs_enc: torch.Tensor, hs_dec: torch.Tensor) -> torch.Tensor:
    """One attention per decoder step, all at once: softmax(hs_dec hs_enc^T) hs_enc, (N, Tdec, H)."""
    weights = torch.softmax(hs_dec @ hs_enc.transpose(1, 2), dim=2)  # (N, Tdec, Tenc)
    return weights @ hs_enc


def time_attention(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return attend(inputs["hs_enc"], inputs["hs_dec"])


def time_attention_sdpa(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """TimeAttention as PyTorch's attention kernel with queries hs_dec, keys and values hs_enc
    and ``scale=1.0`` (the default 1/sqrt(H) would not be the book's layer)."""
    hs_enc = inputs["hs_enc"]
    return F.scaled_dot_product_attention(inputs["hs_dec"], hs_enc, hs_enc, scale=1.0)
