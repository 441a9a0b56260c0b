"""Fixtures shared by the unit tests: one small, ready-to-run example of every node, layer and loss.

``layer_case`` is parametrized over all of them, ``dtype`` over float32 and
float64. A case builds a fresh layer, its forward inputs and the upstream
gradients to feed ``backward`` (one array per output; a scalar for losses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from scratchnn.layers import (
    Affine,
    MeanSquaredError,
    ReLU,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
)
from scratchnn.nodes import Add, Branch, MatMul, Mul, Repeat, Sum

FLOAT_DTYPES = (np.float32, np.float64)

Built = tuple[Any, tuple[Any, ...], tuple[Any, ...]]


@dataclass(frozen=True)
class LayerCase:
    """How to build one example: ``make(rng, dtype) -> (layer, inputs, douts)``."""

    id: str
    name: str  # the class name: the prefix of every message the layer raises
    make: Callable[[np.random.Generator, Any], Built]
    is_loss: bool = False

    def build(self, dtype: Any, seed: int = 0) -> Built:
        return self.make(np.random.default_rng(seed), dtype)


def normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _elementwise(cls: type, shape: tuple[int, ...] = (2, 3)) -> Callable[[np.random.Generator, Any], Built]:
    def make(rng: np.random.Generator, dtype: Any) -> Built:
        return cls(), (normal(rng, shape, dtype),), (normal(rng, shape, dtype),)

    return make


def _affine(rng: np.random.Generator, dtype: Any) -> Built:
    W, b = normal(rng, (3, 4), dtype), normal(rng, (4,), dtype)
    return Affine(W, b), (normal(rng, (2, 3), dtype),), (normal(rng, (2, 4), dtype),)


def _matmul(rng: np.random.Generator, dtype: Any) -> Built:
    W = normal(rng, (3, 4), dtype)
    return MatMul(W), (normal(rng, (2, 3), dtype),), (normal(rng, (2, 4), dtype),)


def _binary(cls: type) -> Callable[[np.random.Generator, Any], Built]:
    def make(rng: np.random.Generator, dtype: Any) -> Built:
        x, y = normal(rng, (2, 3), dtype), normal(rng, (2, 3), dtype)
        return cls(), (x, y), (normal(rng, (2, 3), dtype),)

    return make


def _branch(rng: np.random.Generator, dtype: Any) -> Built:
    douts = tuple(normal(rng, (2, 3), dtype) for _ in range(3))
    return Branch(3), (normal(rng, (2, 3), dtype),), douts


def _repeat(rng: np.random.Generator, dtype: Any) -> Built:
    return Repeat(4, axis=0), (normal(rng, (1, 3), dtype),), (normal(rng, (4, 3), dtype),)


def _sum(rng: np.random.Generator, dtype: Any) -> Built:
    return Sum(axis=1), (normal(rng, (2, 3), dtype),), (normal(rng, (2, 1), dtype),)


def _softmax_with_loss_index(rng: np.random.Generator, dtype: Any) -> Built:
    t = np.array([2, 0, 1, 2])
    return SoftmaxWithLoss(), (normal(rng, (4, 3), dtype), t), (np.array(1.5, dtype=dtype),)


def _softmax_with_loss_one_hot(rng: np.random.Generator, dtype: Any) -> Built:
    t = np.eye(3, dtype=dtype)[[2, 0, 1, 2]]
    return SoftmaxWithLoss(), (normal(rng, (4, 3), dtype), t), (np.array(1.5, dtype=dtype),)


def _sigmoid_with_loss(rng: np.random.Generator, dtype: Any) -> Built:
    t = np.array([1, 0, 0, 1])
    return SigmoidWithLoss(), (normal(rng, (4,), dtype), t), (np.array(1.5, dtype=dtype),)


def _mean_squared_error(rng: np.random.Generator, dtype: Any) -> Built:
    x, t = normal(rng, (2, 3), dtype), normal(rng, (2, 3), dtype)
    return MeanSquaredError(), (x, t), (np.array(1.5, dtype=dtype),)


LAYER_CASES = (
    LayerCase("Sigmoid", "Sigmoid", _elementwise(Sigmoid)),
    LayerCase("Tanh", "Tanh", _elementwise(Tanh)),
    LayerCase("ReLU", "ReLU", _elementwise(ReLU)),
    LayerCase("Softmax-3d", "Softmax", _elementwise(Softmax, (2, 3, 4))),
    LayerCase("Affine", "Affine", _affine),
    LayerCase("MatMul", "MatMul", _matmul),
    LayerCase("Add", "Add", _binary(Add)),
    LayerCase("Mul", "Mul", _binary(Mul)),
    LayerCase("Branch", "Branch", _branch),
    LayerCase("Repeat", "Repeat", _repeat),
    LayerCase("Sum", "Sum", _sum),
    LayerCase("SoftmaxWithLoss-index", "SoftmaxWithLoss", _softmax_with_loss_index, is_loss=True),
    LayerCase("SoftmaxWithLoss-onehot", "SoftmaxWithLoss", _softmax_with_loss_one_hot, is_loss=True),
    LayerCase("SigmoidWithLoss", "SigmoidWithLoss", _sigmoid_with_loss, is_loss=True),
    LayerCase("MeanSquaredError", "MeanSquaredError", _mean_squared_error, is_loss=True),
)


@pytest.fixture(params=LAYER_CASES, ids=lambda case: case.id)
def layer_case(request: pytest.FixtureRequest) -> LayerCase:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=FLOAT_DTYPES, ids=lambda dtype: np.dtype(dtype).name)
def dtype(request: pytest.FixtureRequest) -> Any:
    return request.param
