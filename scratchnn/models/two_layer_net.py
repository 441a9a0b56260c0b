"""The two-layer network of section 1.4: Affine - Sigmoid - Affine, then SoftmaxWithLoss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray
from scratchnn.layers import Affine, Sigmoid, SoftmaxWithLoss
from scratchnn.protocol import Layer
from scratchnn.serialization import load_params, save_params

__all__ = ["TwoLayerNet"]


class TwoLayerNet:
    """Classifier with one hidden sigmoid layer.

    Weights are drawn as ``weight_scale * standard normal`` from ``rng`` (a
    ``numpy.random.Generator`` or a seed), biases start at zero, all in ``dtype``.
    ``params`` and ``grads`` collect the layers' lists once; ``backward`` fills
    ``grads`` in place.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        rng: np.random.Generator | int | None = None,
        dtype: type[np.floating[Any]] | np.dtype[Any] = np.float64,
        weight_scale: float = 0.01,
    ) -> None:
        owner = "TwoLayerNet.__init__"
        input_size = check.positive_int(owner, "input_size", input_size)
        hidden_size = check.positive_int(owner, "hidden_size", hidden_size)
        output_size = check.positive_int(owner, "output_size", output_size)
        if np.dtype(dtype) not in check.SUPPORTED_FLOATS:
            raise check.fail_type(owner, "dtype", "float32 or float64", dtype)
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        W1 = (weight_scale * generator.standard_normal((input_size, hidden_size))).astype(dtype)
        b1 = np.zeros(hidden_size, dtype=dtype)
        W2 = (weight_scale * generator.standard_normal((hidden_size, output_size))).astype(dtype)
        b2 = np.zeros(output_size, dtype=dtype)

        self.layers: list[Layer] = [Affine(W1, b1), Sigmoid(), Affine(W2, b2)]
        self.loss_layer = SoftmaxWithLoss()
        self.params: list[FloatArray] = [p for layer in self.layers for p in layer.params]
        self.grads: list[FloatArray] = [g for layer in self.layers for g in layer.grads]

    def predict(self, x: FloatArray) -> FloatArray:
        """Class scores (logits) of shape (N, output_size)."""
        return self._scores(check.matrix_input("TwoLayerNet.predict", x, self.params[0]))

    def forward(self, x: FloatArray, t: IntArray | FloatArray) -> np.floating[Any]:
        """Mean cross-entropy loss of the batch; labels as indices (N,) or one-hot (N, C)."""
        owner = "TwoLayerNet.forward"
        x = check.matrix_input(owner, x, self.params[0])
        check.class_labels(owner, "t", t, x.shape[0], self.params[-1].shape[0], x.dtype)
        return self.loss_layer.forward(self._scores(x), t)

    def _scores(self, x: FloatArray) -> FloatArray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: float = 1) -> FloatArray:
        """Fill ``grads``; return the gradient of the loss with respect to x."""
        check.upstream_scalar("TwoLayerNet.backward", dout, self.params[0].dtype)
        grad = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def accuracy(self, x: FloatArray, t: IntArray | FloatArray) -> float:
        """Fraction of samples whose highest score is the label (indices or one-hot)."""
        predicted = self.predict(x).argmax(axis=1)
        labels = t.argmax(axis=1) if t.ndim == 2 else t
        return float(np.mean(predicted == labels))

    def save_params(self, path: str | Path) -> Path:
        return save_params(self.params, path)

    def load_params(self, path: str | Path) -> None:
        load_params(self.params, path)
