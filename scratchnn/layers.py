"""The layers of chapter 1 (section 1.3.5), with the book's names and constructors.

What a layer keeps for backward is its own copy: arrays passed to forward and
arrays returned from it belong to the caller, who may modify them in place
without corrupting the next backward.

Activations (any input shape): ``Sigmoid()``, ``ReLU()``, ``Tanh()``;
``Softmax()`` normalises along the last axis of an input of any rank >= 1.
``Affine(W, b)``: y = x @ W + b for x of shape (N, D).
Losses: ``forward(x, t)`` returns a scalar of x's dtype, ``backward(dout=1)``
returns dx: ``SoftmaxWithLoss()``, ``SigmoidWithLoss()``, ``MeanSquaredError()``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray
from scratchnn.functions import batch_size, log_softmax, sigmoid, softmax
from scratchnn.protocol import LayerBase

__all__ = [
    "Affine",
    "MeanSquaredError",
    "ReLU",
    "Sigmoid",
    "SigmoidWithLoss",
    "Softmax",
    "SoftmaxWithLoss",
    "Tanh",
]


class Sigmoid(LayerBase):
    """y = 1 / (1 + exp(-x)); dx = dout * y * (1 - y)."""

    def __init__(self) -> None:
        super().__init__()
        self.out: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        self.out = sigmoid(check.float_array(self._owner("forward"), "x", x))
        return self.out.copy()

    def backward(self, dout: FloatArray) -> FloatArray:
        out = check.cached(self._owner("backward"), self.out)
        dout = check.upstream_gradient(self._owner("backward"), dout, out.shape, out.dtype)
        return dout * (1 - out) * out


class Tanh(LayerBase):
    """y = tanh(x); dx = dout * (1 - y^2)."""

    def __init__(self) -> None:
        super().__init__()
        self.out: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        self.out = np.tanh(check.float_array(self._owner("forward"), "x", x))
        return self.out.copy()

    def backward(self, dout: FloatArray) -> FloatArray:
        out = check.cached(self._owner("backward"), self.out)
        dout = check.upstream_gradient(self._owner("backward"), dout, out.shape, out.dtype)
        return dout * (1 - out * out)


class ReLU(LayerBase):
    """y = max(x, 0); dx = dout where x > 0, else 0 (0 at the kink x = 0, as in PyTorch)."""

    def __init__(self) -> None:
        super().__init__()
        self.mask: np.ndarray[Any, np.dtype[np.bool_]] | None = None
        self.dtype: np.dtype[np.floating] | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        x = check.float_array(self._owner("forward"), "x", x)
        self.mask, self.dtype = x > 0, x.dtype
        return np.where(self.mask, x, 0).astype(x.dtype, copy=False)

    def backward(self, dout: FloatArray) -> FloatArray:
        mask = check.cached(self._owner("backward"), self.mask)
        dtype = check.cached(self._owner("backward"), self.dtype)
        dout = check.upstream_gradient(self._owner("backward"), dout, mask.shape, dtype)
        return np.where(mask, dout, 0).astype(dtype, copy=False)


class Affine(LayerBase):
    """y = x @ W + b for x (N, D), W (D, H), b (H,).

    dx = dout @ W.T, dW = x.T @ dout, db = dout summed over the batch (section 1.3.5).
    """

    def __init__(self, W: FloatArray, b: FloatArray) -> None:
        super().__init__(W, b)
        owner = self._owner("__init__")
        self._param("W", W, 2, "(D, H)")
        self._param("b", b, 1, "(H,)")
        if b.shape[0] != W.shape[1]:
            raise check.fail_value(
                owner,
                "b",
                f"of shape ({W.shape[1]},) to match W of shape {W.shape}",
                f"shape {b.shape}",
            )
        check.same_dtype(owner, "b", b, "W", W.dtype)
        self.x: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        W, b = self.params
        self.x = check.matrix_input(self._owner("forward"), x, W).copy()
        return self.x @ W + b

    def backward(self, dout: FloatArray) -> FloatArray:
        x = check.cached(self._owner("backward"), self.x)
        W, _ = self.params
        dout = check.upstream_gradient(self._owner("backward"), dout, (x.shape[0], W.shape[1]), W.dtype)
        self.grads[0][...] = x.T @ dout
        self.grads[1][...] = dout.sum(axis=0)
        return dout @ W.T


class Softmax(LayerBase):
    """Softmax along the last axis of an input of any rank >= 1.

    dx = y * (dout - sum(y * dout)) with the sum along the last axis: the
    Jacobian diag(y) - y y^T applied to dout, row by row.
    """

    def __init__(self) -> None:
        super().__init__()
        self.out: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        self.out = softmax(check.classes_axis(self._owner("forward"), "x", x))
        return self.out.copy()

    def backward(self, dout: FloatArray) -> FloatArray:
        out = check.cached(self._owner("backward"), self.out)
        dout = check.upstream_gradient(self._owner("backward"), dout, out.shape, out.dtype)
        along_class: FloatArray = np.sum(out * dout, axis=-1, keepdims=True)
        return out * (dout - along_class)


class SoftmaxWithLoss(LayerBase):
    """Softmax of scores x (N, C) followed by the mean cross-entropy against labels t.

    ``t`` holds class indices (N,) or one-hot rows (N, C) (any probability rows
    are handled exactly, not through argmax). The loss is computed from the
    logits through log-softmax, so it is finite and exact for large logits.
    dx = (softmax(x) - t) * dout / N.
    """

    def __init__(self) -> None:
        super().__init__()
        self.y: FloatArray | None = None
        self.t: IntArray | FloatArray | None = None

    def forward(self, x: FloatArray, t: IntArray | FloatArray) -> np.floating[Any]:
        owner = self._owner("forward")
        x = check.nonempty(owner, "x", check.float_array_of_rank(owner, "x", x, 2, "(N, C)"), "(N, C)")
        n, c = x.shape
        t = check.class_labels(owner, "t", t, n, c, x.dtype)
        log_y = log_softmax(x)
        self.y, self.t = np.exp(log_y), t.copy()
        if t.ndim == 1:
            return -np.sum(log_y[np.arange(n), t]) / n  # type: ignore[no-any-return]
        return -np.sum(t * log_y) / n  # type: ignore[no-any-return]

    def backward(self, dout: float = 1) -> FloatArray:
        y = check.cached(self._owner("backward"), self.y)
        t = check.cached(self._owner("backward"), self.t)
        scale = check.upstream_scalar(self._owner("backward"), dout, y.dtype) / y.shape[0]
        if t.ndim == 1:
            dx = y.copy()
            dx[np.arange(y.shape[0]), t] -= 1
        else:
            dx = y - cast(FloatArray, t)  # one-hot rows, already in y's dtype
        dx *= scale
        return dx


class SigmoidWithLoss(LayerBase):
    """Sigmoid of scores x followed by binary cross-entropy against 0/1 labels t (x's shape).

    loss = mean over all elements of -[t log y + (1 - t) log(1 - y)], y = sigmoid(x),
    computed from the logits as max(x, 0) - x t + log(1 + exp(-|x|)), which
    never overflows. For the book's scores of shape (N,) the mean is over the
    batch. dx = (y - t) * dout / x.size.
    """

    def __init__(self) -> None:
        super().__init__()
        self.y: FloatArray | None = None
        self.t: FloatArray | None = None
        self.loss: np.floating[Any] | None = None

    def forward(self, x: FloatArray, t: IntArray | FloatArray) -> np.floating[Any]:
        owner = self._owner("forward")
        x = check.nonempty(owner, "x", check.at_least_1d(owner, "x", x), "of scores")
        self.t = check.binary_targets(owner, "t", t, x.shape, x.dtype).copy()
        self.y = sigmoid(x)
        per_element = np.maximum(x, 0) - x * self.t + np.log1p(np.exp(-np.abs(x)))
        self.loss = np.sum(per_element) / x.size
        return self.loss

    def backward(self, dout: float = 1) -> FloatArray:
        y = check.cached(self._owner("backward"), self.y)
        t = check.cached(self._owner("backward"), self.t)
        scale = check.upstream_scalar(self._owner("backward"), dout, y.dtype) / y.size
        return (y - t) * scale


class MeanSquaredError(LayerBase):
    """The squared-error loss of :func:`scratchnn.functions.mean_squared_error` on a batch.

    x and t have the same shape (N, ...), N >= 1 samples on the first axis;
    loss = 1/(2N) * sum of (x - t)^2 over all elements; dx = (x - t) * dout / N.
    """

    def __init__(self) -> None:
        super().__init__()
        self.diff: FloatArray | None = None
        self.n = 1

    def forward(self, x: FloatArray, t: FloatArray) -> np.floating[Any]:
        owner = self._owner("forward")
        x = check.nonempty(owner, "x", check.float_array(owner, "x", x), "(N, ...)")
        if x.ndim < 2:
            raise check.fail_value(owner, "x", "a batch of rank >= 2 (N, ...)", f"shape {x.shape}")
        t = check.float_array(owner, "t", t)
        check.same_shape(owner, "t", t, "x", x.shape)
        check.same_dtype(owner, "t", t, "x", x.dtype)
        self.diff, self.n = x - t, batch_size(x)
        return np.sum(self.diff * self.diff) / (2 * self.n)

    def backward(self, dout: float = 1) -> FloatArray:
        diff = check.cached(self._owner("backward"), self.diff)
        scale = check.upstream_scalar(self._owner("backward"), dout, diff.dtype) / self.n
        return diff * scale
