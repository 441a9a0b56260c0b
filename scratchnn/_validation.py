"""Input checks shared by every function, node and layer.

Each check raises ``TypeError`` (wrong kind or dtype) or ``ValueError`` (wrong
shape or value) with one message format::

    <owner>: <argument> <what was expected>; got <what came>

where ``owner`` names the layer and method, e.g. ``"Affine.forward"``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.integer[Any]]

T = TypeVar("T")

SUPPORTED_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def describe(value: object) -> str:
    """Short description of a value for error messages: kind, dtype and shape."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return f"{type(value).__name__} {value!r}"[:120]


def fail_type(owner: str, name: str, expected: str, value: object) -> TypeError:
    return TypeError(f"{owner}: {name} must be {expected}; got {describe(value)}")


def fail_value(owner: str, name: str, expected: str, got: str) -> ValueError:
    return ValueError(f"{owner}: {name} must be {expected}; got {got}")


def float_array(owner: str, name: str, value: object) -> FloatArray:
    """``value`` itself, after checking it is a float32 or float64 ndarray."""
    if not isinstance(value, np.ndarray):
        raise fail_type(owner, name, "a numpy.ndarray of float32 or float64", value)
    if value.dtype not in SUPPORTED_FLOATS:
        raise fail_type(owner, name, "a float32 or float64 array", value)
    return value


def float_array_of_rank(owner: str, name: str, value: object, ndim: int, layout: str) -> FloatArray:
    """A float array with exactly ``ndim`` dimensions; ``layout`` names them, e.g. ``(N, D)``."""
    array = float_array(owner, name, value)
    if array.ndim != ndim:
        raise fail_value(owner, name, f"a {ndim}-D array {layout}", f"shape {array.shape}")
    return array


def same_dtype(owner: str, name: str, value: FloatArray, reference_name: str, dtype: np.dtype[Any]) -> None:
    """Mixed float32/float64 is refused rather than silently promoted."""
    if value.dtype != dtype:
        raise TypeError(
            f"{owner}: {name} must have the dtype of {reference_name} ({dtype}); got {value.dtype}"
        )


def same_shape(owner: str, name: str, value: FloatArray, reference_name: str, shape: tuple[int, ...]) -> None:
    """Exact shape match: NumPy broadcasting would otherwise hide the mistake."""
    if value.shape != shape:
        raise fail_value(owner, name, f"of shape {shape} like {reference_name}", f"shape {value.shape}")


def upstream_gradient(owner: str, dout: object, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
    """Check ``dout`` of a layer whose forward returned an array of ``shape`` and ``dtype``."""
    array = float_array(owner, "dout", dout)
    same_shape(owner, "dout", array, "the forward output", shape)
    same_dtype(owner, "dout", array, "the forward output", dtype)
    return array


def upstream_scalar(owner: str, dout: object, dtype: np.dtype[Any]) -> np.floating[Any]:
    """The scalar upstream gradient of a loss, converted to the loss' dtype."""
    if isinstance(dout, np.ndarray):
        if dout.size != 1 or dout.ndim > 1:
            raise fail_value(owner, "dout", "a scalar (the loss is a scalar)", describe(dout))
        dout = dout.reshape(()).item()
    if isinstance(dout, bool) or not isinstance(dout, numbers.Real):
        raise fail_type(owner, "dout", "a real scalar", dout)
    value = float(dout)
    if not math.isfinite(value) or abs(value) > float(np.finfo(dtype).max):
        raise fail_value(owner, "dout", f"finite in {dtype}", repr(dout))
    return dtype.type(value)  # type: ignore[no-any-return]


def cached(owner: str, value: T | None) -> T:
    """What forward stored for backward, or a clear error when forward was never called."""
    if value is None:
        raise RuntimeError(f"{owner}: call forward before backward")
    return value


def positive_int(owner: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise fail_value(owner, name, "a positive integer", repr(value))
    return int(value)


def axis_index(owner: str, axis: int, ndim: int) -> int:
    """``axis`` normalised to ``0 <= axis < ndim`` (negative axes count from the end)."""
    if not -ndim <= axis < ndim:
        raise fail_value(owner, "axis", f"in [-{ndim}, {ndim}) for an input of rank {ndim}", repr(axis))
    return axis % ndim


def class_labels(
    owner: str, name: str, t: object, n_rows: int, n_classes: int, dtype: np.dtype[Any]
) -> IntArray | FloatArray:
    """Validate labels for ``n_rows`` samples over ``n_classes`` classes.

    Returns the class indices, shape ``(n_rows,)``, when ``t`` holds indices, or
    the target distribution, shape ``(n_rows, n_classes)`` and ``dtype``, when ``t``
    is one-hot (or any probability vector per row).
    """
    if not isinstance(t, np.ndarray):
        raise fail_type(owner, name, "a numpy.ndarray of labels", t)
    if t.shape == (n_rows,):
        if not np.issubdtype(t.dtype, np.integer):
            raise fail_type(
                owner,
                name,
                f"integer class indices (or one-hot labels of shape ({n_rows}, {n_classes}))",
                t,
            )
        if t.size and (int(t.min()) < 0 or int(t.max()) >= n_classes):
            raise fail_value(
                owner,
                name,
                f"class indices in [0, {n_classes})",
                f"values from {int(t.min())} to {int(t.max())}",
            )
        return t
    if t.shape == (n_rows, n_classes):
        if not (np.issubdtype(t.dtype, np.number) or t.dtype == np.bool_):
            raise fail_type(owner, name, "numeric one-hot labels", t)
        target = t.astype(dtype, copy=False)
        if not np.all(np.isfinite(target)) or (
            t.size and (float(target.min()) < 0 or float(target.max()) > 1)
        ):
            raise fail_value(
                owner,
                name,
                "one-hot labels with values in [0, 1]",
                f"values from {target.min()} to {target.max()}",
            )
        # Each row must be a distribution. Summing n_classes numbers rounds by at most
        # about n_classes * eps (Higham, Accuracy and Stability, §4.2); 4x that is slack.
        slack = 4 * n_classes * float(np.finfo(dtype).eps)
        row_sums = target.sum(axis=1)
        bad = np.abs(row_sums - 1) > slack
        if np.any(bad):
            row = int(np.argmax(bad))
            raise fail_value(
                owner, name, "one-hot rows that sum to 1", f"row {row} summing to {row_sums[row]}"
            )
        return target
    raise fail_value(
        owner,
        name,
        f"class indices of shape ({n_rows},) or one-hot labels of shape ({n_rows}, {n_classes})",
        f"shape {t.shape}",
    )


def binary_targets(
    owner: str, name: str, t: object, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> FloatArray:
    """Targets in [0, 1] (0/1 labels or probabilities) with exactly ``shape``, as ``dtype``."""
    if not isinstance(t, np.ndarray):
        raise fail_type(owner, name, "a numpy.ndarray of 0/1 labels", t)
    if not (np.issubdtype(t.dtype, np.number) or t.dtype == np.bool_):
        raise fail_type(owner, name, "numeric 0/1 labels", t)
    if t.shape != shape:
        raise fail_value(owner, name, f"of shape {shape} like the scores", f"shape {t.shape}")
    target = t.astype(dtype, copy=False)
    if not np.all(np.isfinite(target)) or (
        target.size and (float(target.min()) < 0 or float(target.max()) > 1)
    ):
        raise fail_value(owner, name, "labels in [0, 1]", f"values from {target.min()} to {target.max()}")
    return target


def at_least_1d(owner: str, name: str, value: object) -> FloatArray:
    """A float array of rank >= 1 (reductions and repeats need an axis)."""
    array = float_array(owner, name, value)
    if array.ndim == 0:
        raise fail_value(owner, name, "an array of rank >= 1", "a 0-D array")
    return array


def matrix_input(owner: str, x: object, W: FloatArray) -> FloatArray:
    """x of shape (N, D) matching W of shape (D, H) in size and dtype (MatMul, Affine)."""
    array = float_array_of_rank(owner, "x", x, 2, "(N, D)")
    if array.shape[1] != W.shape[0]:
        raise fail_value(
            owner,
            "x",
            f"of shape (N, {W.shape[0]}) to match W of shape {W.shape}",
            f"shape {array.shape}",
        )
    same_dtype(owner, "x", array, "W", W.dtype)
    return array


def classes_axis(owner: str, name: str, value: object) -> FloatArray:
    """Scores with classes on the last axis: rank >= 1 and at least one class."""
    array = at_least_1d(owner, name, value)
    if array.shape[-1] == 0:
        expected = "an array with at least one class on its last axis"
        raise fail_value(owner, name, expected, f"shape {array.shape}")
    return array


def nonempty(owner: str, name: str, value: FloatArray, layout: str) -> FloatArray:
    """A batch with at least one sample and, for scores, at least one class: a mean over
    nothing is undefined, and NumPy would answer with NaN and a warning."""
    if value.size == 0:
        raise fail_value(owner, name, f"a non-empty array {layout}", f"shape {value.shape}")
    return value
