"""References of ``scratchnn.negative_sampling`` (chapter 4, section 4.2): EmbeddingDot,
UnigramSampler, NegativeSamplingLoss.

The book's output word vectors W are laid out (V, D), one row per word, as
``torch.nn.Embedding`` stores its weight, so ``F.embedding(idx, W)`` is the
book's ``W[idx]`` with no mapping.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

Tensors = dict[str, torch.Tensor]
Dims = dict[str, Any]


def scores(h: torch.Tensor, W: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """W[idx] . h, row by row: for idx (N,) the scores (N,); for idx (N, K) the scores (N, K)
    of the K words of each row against the same h[n]."""
    rows = F.embedding(idx, W)  # (N, D) or (N, K, D)
    return (rows * (h if idx.dim() == 1 else h.unsqueeze(1))).sum(dim=-1)


def embedding_dot(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return scores(inputs["h"], params["W"], inputs["idx"])


def negative_sampling_loss_of(
    h: torch.Tensor, target: torch.Tensor, W: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """The book's NegativeSamplingLoss (section 4.2.7) for targets (N,) and their negatives (N, K).

    The book sums sample_size + 1 SigmoidWithLoss losses, each the binary cross-entropy of one
    score averaged over the batch: label 1 for the target's score, 0 for each negative's.
    ``F.binary_cross_entropy_with_logits`` with its mean reduction is that loss per score; the
    K negative losses are summed one by one, as the book does, not averaged together.
    """
    positive = scores(h, W, target)
    loss = F.binary_cross_entropy_with_logits(positive, torch.ones_like(positive))
    negative = scores(h, W, negatives)
    for k in range(negative.shape[1]):
        column = negative[:, k]
        loss = loss + F.binary_cross_entropy_with_logits(column, torch.zeros_like(column))
    return loss


def negative_sampling_loss(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """The loss with the negatives the harness gave the layer's sampler: the rows of the hidden
    table ``negatives`` (V, K) picked by the targets."""
    target = inputs["target"]
    return negative_sampling_loss_of(inputs["h"], target, params["W"], inputs["negatives"][target])


def unigram_distribution(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    """What UnigramSampler's draws follow, per row of the targets (N,): the distribution (N, V)
    P(w) proportional to count(w) ** power over the words w other than the row's target (and
    zero for a word that never occurs). Its draws are random, so the ``forward`` check does not
    apply; the ``sampling`` check tests the draws against this distribution."""
    corpus, target = inputs["corpus"], inputs["target"]
    counts = torch.bincount(corpus).to(torch.float64)
    weights = counts.pow(float(dims["power"])).expand(target.shape[0], -1).clone()
    weights[torch.arange(target.shape[0]), target] = 0.0
    return weights / weights.sum(dim=1, keepdim=True)
