"""Activation and loss functions of chapter 1, numerically stable in float32 and float64.

Every function keeps the dtype of its floating input and never modifies its
arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray

__all__ = [
    "cross_entropy_error",
    "log_softmax",
    "mean_squared_error",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
]


def sigmoid(x: FloatArray) -> FloatArray:
    """Logistic function 1 / (1 + exp(-x)), without overflow for any finite x.

    Uses z = exp(-|x|) <= 1: sigmoid(x) = 1 / (1 + z) for x >= 0 and z / (1 + z)
    for x < 0 — the same value, but exp never sees a large positive argument.
    """
    x = check.float_array("sigmoid", "x", x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def relu(x: FloatArray) -> FloatArray:
    """max(x, 0) element-wise."""
    x = check.float_array("relu", "x", x)
    return np.maximum(x, 0)


def softmax(x: FloatArray) -> FloatArray:
    """Softmax along the last axis, for inputs of any rank >= 1.

    Subtracting the row maximum leaves the result unchanged (softmax is
    shift-invariant) and keeps every exp argument <= 0, so nothing overflows.
    """
    x = check.classes_axis("softmax", "x", x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def log_softmax(x: FloatArray) -> FloatArray:
    """log(softmax(x)) along the last axis, as (x - m) - log(sum(exp(x - m))), m = max(x).

    Finite for any finite x, where log(softmax(x)) would give -inf once a
    probability underflows to zero.
    """
    x = check.classes_axis("log_softmax", "x", x)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # type: ignore[no-any-return]


def cross_entropy_error(y: FloatArray, t: IntArray | FloatArray | int) -> np.floating[Any]:
    """Mean cross-entropy -1/N sum_n sum_k t_nk log y_nk of probabilities ``y``.

    ``y`` has shape (N, C), or (C,) for one sample. ``t`` holds class indices
    (shape (N,), or an int for one sample) or one-hot rows (the shape of ``y``;
    any probability rows work). A probability of exactly 0 is read as the
    smallest normal number of the dtype, so a confidently wrong prediction gives
    a large finite loss (about 708 in float64, 87 in float32) instead of inf,
    and unlike ``log(y + 1e-7)`` no nonzero probability is altered.
    """
    y2, t2 = _batch_of_scores("cross_entropy_error", y, t)
    log_y = np.log(np.maximum(y2, np.finfo(y2.dtype).tiny))
    return _mean_negative_log_likelihood(log_y, t2)


def softmax_cross_entropy(x: FloatArray, t: IntArray | FloatArray | int) -> np.floating[Any]:
    """cross_entropy_error(softmax(x), t), computed from the logits through log_softmax.

    Exact where the two-step form loses precision or overflows (large logits).
    Shapes as in :func:`cross_entropy_error`.
    """
    x2, t2 = _batch_of_scores("softmax_cross_entropy", x, t)
    return _mean_negative_log_likelihood(log_softmax(x2), t2)


def mean_squared_error(y: FloatArray, t: FloatArray) -> np.floating[Any]:
    """Squared error of the seed notes, averaged over the batch like cross_entropy_error.

    E = 1/(2N) * sum over all elements of (y - t)^2, with N = y.shape[0] for
    y.ndim >= 2 and N = 1 for a single sample (y.ndim <= 1), so one sample gives
    the seed's E = 1/2 sum_k (y_k - t_k)^2. Its gradient in y is (y - t) / N.
    """
    y = check.nonempty("mean_squared_error", "y", check.float_array("mean_squared_error", "y", y), "(N, ...)")
    t = check.float_array("mean_squared_error", "t", t)
    check.same_shape("mean_squared_error", "t", t, "y", y.shape)
    check.same_dtype("mean_squared_error", "t", t, "y", y.dtype)
    diff = y - t
    return np.sum(diff * diff) / (2 * batch_size(y))


def batch_size(y: FloatArray) -> int:
    """N in the losses' 1/N: the leading axis for a batch, 1 for a single sample."""
    return int(y.shape[0]) if y.ndim >= 2 else 1


def _batch_of_scores(owner: str, y: object, t: object) -> tuple[FloatArray, IntArray | FloatArray]:
    """Scores as (N, C) and labels as validated indices (N,) or probabilities (N, C)."""
    name = "y" if owner == "cross_entropy_error" else "x"
    scores = check.nonempty(owner, name, check.float_array(owner, name, y), "(N, C)")
    if scores.ndim == 1:
        scores = scores.reshape(1, -1)
        if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
            t = np.array([t])
        elif isinstance(t, np.ndarray) and t.ndim <= 1:
            t = t.reshape(1, -1) if t.size == scores.shape[1] and t.size > 1 else t.reshape(-1)
    elif scores.ndim != 2:
        raise check.fail_value(owner, name, "a 2-D array (N, C) or a 1-D array (C,)", f"shape {scores.shape}")
    n, c = scores.shape
    return scores, check.class_labels(owner, "t", t, n, c, scores.dtype)


def _mean_negative_log_likelihood(log_p: FloatArray, t: IntArray | FloatArray) -> np.floating[Any]:
    n = log_p.shape[0]
    if t.ndim == 1:
        picked = log_p[np.arange(n), t]
        return -np.sum(picked) / n  # type: ignore[no-any-return]
    return -np.sum(t * log_p) / n  # type: ignore[no-any-return]
