"""References of ``scratchnn.nodes``, ``scratchnn.layers`` and ``TwoLayerNet`` (chapter 1)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

Tensors = dict[str, torch.Tensor]
Dims = dict[str, Any]


def add(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return inputs["x"] + inputs["y"]


def mul(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return inputs["x"] * inputs["y"]


def branch(inputs: Tensors, params: Tensors, dims: Dims) -> tuple[torch.Tensor, ...]:
    # n copies of x; autograd sums the n upstream gradients into dx.
    return tuple(inputs["x"].clone() for _ in range(dims["n"]))


def repeat(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    # np.repeat (each element repeated in place) is torch.repeat_interleave, not Tensor.repeat (tile).
    return torch.repeat_interleave(inputs["x"], dims["repeats"], dim=dims["axis"])


def sum_keepdims(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return torch.sum(inputs["x"], dim=dims["axis"], keepdim=True)


def matmul(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return inputs["x"] @ params["W"]


def sigmoid(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return torch.sigmoid(inputs["x"])


def relu(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return F.relu(inputs["x"])


def tanh(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return torch.tanh(inputs["x"])


def affine(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    # The book's W is (in, out); torch.nn.Linear stores its weight as (out, in).
    return F.linear(inputs["x"], params["W"].T, params["b"])


def softmax(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    return F.softmax(inputs["x"], dim=-1)


def softmax_with_loss(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    # Index labels arrive as int64 (class indices), one-hot labels as float64
    # (class probabilities); F.cross_entropy takes both and averages over N.
    return F.cross_entropy(inputs["x"], inputs["t"])


def sigmoid_with_loss(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    # The book's loss is the cross-entropy of [1 - y, y] against 0/1 labels,
    # averaged over the scores: binary cross-entropy with logits, mean reduction.
    return F.binary_cross_entropy_with_logits(inputs["x"], inputs["t"].to(inputs["x"].dtype))


def mean_squared_error(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    # The book's squared error is 1/2 sum (y - t)^2 per sample, averaged over
    # the batch N = x.shape[0] only; F.mse_loss(reduction="mean") would divide
    # by every element and drop the 1/2.
    x = inputs["x"]
    return 0.5 * F.mse_loss(x, inputs["t"], reduction="sum") / x.shape[0]


def two_layer_net(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    hidden = torch.sigmoid(F.linear(inputs["x"], params["W1"].T, params["b1"]))
    scores = F.linear(hidden, params["W2"].T, params["b2"])
    return F.cross_entropy(scores, inputs["t"])


def embedding(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    # The book's W is (V, D), rows looked up by index: F.embedding with the same layout.
    return F.embedding(inputs["idx"], params["W"])


def dropout(inputs: Tensors, params: Tensors, dims: Dims) -> torch.Tensor:
    # The book's Dropout is not inverted: training keeps x where the layer's mask is set
    # (the mask the layer drew, read back by the harness), test scales by 1 - ratio.
    # F.dropout would draw its own mask and scale the kept values by 1 / (1 - ratio).
    if dims["case"]["mode"] == "train":
        return inputs["x"] * inputs["mask"]
    return inputs["x"] * (1 - float(dims["ratio"]))
