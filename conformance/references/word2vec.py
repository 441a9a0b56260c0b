"""References of the word2vec models of ``scratchnn.models`` (chapters 3 and 4): SimpleCBOW,
SimpleSkipGram, CBOW, SkipGram; each the whole model's loss, whose autograd gradients with
respect to W_in and W_out are the checked parameter gradients.

Weight layouts are the book's: the one-hot models multiply ``c @ W_in`` with W_in (V, H) and
``h @ W_out`` with W_out (H, V); the embedding models look rows up in W_in (V, H) and score
against rows of W_out (V, H), the layout of ``torch.nn.Embedding``'s weight, so
``F.embedding`` takes both as they are.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from conformance.references.negative_sampling import negative_sampling_loss_of

Tensors = dict[str, torch.Tensor]
Dims = dict[str, Any]


def simple_cbow(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Section 3.4: h = (c0 W_in + c1 W_in) / 2, the softmax cross-entropy of h W_out against
    the target. ``F.cross_entropy`` takes index targets (int64) and one-hot ones (float64
    probabilities) and averages over the batch, as the book's SoftmaxWithLoss does."""
    contexts, W_in = inputs["contexts"], params["W_in"]
    h = (contexts[:, 0] @ W_in + contexts[:, 1] @ W_in) * 0.5
    return F.cross_entropy(h @ params["W_out"], inputs["target"])


def simple_skip_gram(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Section 3.5: h = target W_in, and the sum of the two context words' softmax
    cross-entropies of h W_out (each averaged over the batch)."""
    score = inputs["target"] @ params["W_in"] @ params["W_out"]
    contexts = inputs["contexts"]
    return F.cross_entropy(score, contexts[:, 0]) + F.cross_entropy(score, contexts[:, 1])


def cbow(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Section 4.3.1: h is the mean of the 2 * window context words' rows of W_in; the loss is
    the book's NegativeSamplingLoss of h against the target, with the target's negatives (the
    rows of the hidden table ``negatives`` that the harness gave the model's sampler)."""
    contexts, target = inputs["contexts"], inputs["target"]
    h = F.embedding(contexts, params["W_in"]).mean(dim=1)
    return negative_sampling_loss_of(h, target, params["W_out"], inputs["negatives"][target])


def skip_gram(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """Section 4.3.1: h is the target's row of W_in; the loss is the sum over the 2 * window
    context columns of the NegativeSamplingLoss of h against that column's words, each with the
    negatives of its own words (the book has one loss layer, and one sampler, per column)."""
    contexts, negatives = inputs["contexts"], inputs["negatives"]
    h = F.embedding(inputs["target"], params["W_in"])
    loss = torch.zeros((), dtype=h.dtype)
    for c in range(contexts.shape[1]):
        column = contexts[:, c]
        loss = loss + negative_sampling_loss_of(h, column, params["W_out"], negatives[column])
    return loss
