"""The computation-graph nodes of chapter 1 (section 1.3.4): Add, Mul, Branch, Repeat, Sum, MatMul.

The book shows these only as figures; the signatures here are the project's:

- ``Add()`` / ``Mul()``: ``forward(x, y)``, ``backward(dout) -> (dx, dy)``;
- ``Branch(n=2)``: ``forward(x) -> (x, ..., x)`` (n copies), ``backward(*douts) -> dx``;
- ``Repeat(repeats, axis=0)``: ``np.repeat``; ``Sum(axis=0)``: ``np.sum(keepdims=True)``;
  each is the other's backward;
- ``MatMul(W)``: ``forward(x) = x @ W`` with ``x`` of shape (N, D) and ``W`` (D, H).

Inputs must have the same shape where the math says so: nothing is broadcast.
What a node keeps for backward is its own copy, never the caller's array.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray
from scratchnn.protocol import LayerBase

__all__ = ["Add", "Branch", "MatMul", "Mul", "Repeat", "Sum"]


class _Seen(NamedTuple):
    """Shape and dtype of the last forward input: all that Add, Branch, Repeat and Sum need."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]


class _ShapeNode(LayerBase):
    """A node whose backward depends only on the shape and dtype of its input."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: _Seen | None = None

    def _remember(self, x: FloatArray) -> FloatArray:
        self.seen = _Seen(x.shape, x.dtype)
        return x

    def _last_input(self) -> _Seen:
        return check.cached(self._owner("backward"), self.seen)

    def _dout(self, dout: object, shape: tuple[int, ...]) -> FloatArray:
        return check.upstream_gradient(self._owner("backward"), dout, shape, self._last_input().dtype)


class _BinaryNode(_ShapeNode):
    """Shared input checks of Add and Mul: two float arrays of one shape and dtype."""

    def _inputs(self, x: object, y: object) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("forward")
        x = check.float_array(owner, "x", x)
        y = check.float_array(owner, "y", y)
        check.same_shape(owner, "y", y, "x", x.shape)
        check.same_dtype(owner, "y", y, "x", x.dtype)
        return self._remember(x), y


class Add(_BinaryNode):
    """z = x + y; both inputs receive dout unchanged."""

    def forward(self, x: FloatArray, y: FloatArray) -> FloatArray:
        x, y = self._inputs(x, y)
        return x + y

    def backward(self, dout: FloatArray) -> tuple[FloatArray, FloatArray]:
        dout = self._dout(dout, self._last_input().shape)
        return dout.copy(), dout.copy()


class Mul(_BinaryNode):
    """z = x * y element-wise; dx = dout * y and dy = dout * x (the inputs swap)."""

    def __init__(self) -> None:
        super().__init__()
        self.x: FloatArray | None = None
        self.y: FloatArray | None = None

    def forward(self, x: FloatArray, y: FloatArray) -> FloatArray:
        x, y = self._inputs(x, y)
        self.x, self.y = x.copy(), y.copy()
        return x * y

    def backward(self, dout: FloatArray) -> tuple[FloatArray, FloatArray]:
        dout = self._dout(dout, self._last_input().shape)
        x = check.cached(self._owner("backward"), self.x)
        y = check.cached(self._owner("backward"), self.y)
        return dout * y, dout * x


class Branch(_ShapeNode):
    """Copies its input to ``n`` outputs; backward sums the ``n`` upstream gradients."""

    def __init__(self, n: int = 2) -> None:
        super().__init__()
        self.n = check.positive_int("Branch.__init__", "n", n)

    def forward(self, x: FloatArray) -> tuple[FloatArray, ...]:
        x = self._remember(check.float_array(self._owner("forward"), "x", x))
        return tuple(x.copy() for _ in range(self.n))

    def backward(self, *douts: FloatArray) -> FloatArray:
        shape = self._last_input().shape
        if len(douts) != self.n:
            raise check.fail_value(
                self._owner("backward"),
                "douts",
                f"{self.n} upstream gradients, one per output",
                str(len(douts)),
            )
        total = self._dout(douts[0], shape).copy()
        for dout in douts[1:]:
            total += self._dout(dout, shape)
        return total


class Repeat(_ShapeNode):
    """``np.repeat(x, repeats, axis)``: each element along ``axis`` appears ``repeats`` times in a row.

    The book's case is x of shape (1, D) copied to (N, D). Backward sums each
    group of ``repeats`` consecutive gradients, which is the Sum node.
    """

    def __init__(self, repeats: int, axis: int = 0) -> None:
        super().__init__()
        self.repeats = check.positive_int("Repeat.__init__", "repeats", repeats)
        self.axis = _int_axis("Repeat.__init__", axis)

    def forward(self, x: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        x = check.at_least_1d(owner, "x", x)
        axis = check.axis_index(owner, self.axis, x.ndim)
        return np.repeat(self._remember(x), self.repeats, axis=axis)

    def backward(self, dout: FloatArray) -> FloatArray:
        shape = self._last_input().shape
        axis = self.axis % len(shape)
        before, size, after = shape[:axis], shape[axis], shape[axis + 1 :]
        dout = self._dout(dout, (*before, size * self.repeats, *after))
        # Output index i * repeats + r along `axis` came from input index i.
        dx: FloatArray = dout.reshape(*before, size, self.repeats, *after).sum(axis=axis + 1)
        return dx


class Sum(_ShapeNode):
    """``np.sum(x, axis, keepdims=True)``; backward repeats dout along ``axis`` (the Repeat node)."""

    def __init__(self, axis: int = 0) -> None:
        super().__init__()
        self.axis = _int_axis("Sum.__init__", axis)

    def forward(self, x: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        x = check.at_least_1d(owner, "x", x)
        axis = check.axis_index(owner, self.axis, x.ndim)
        out: FloatArray = self._remember(x).sum(axis=axis, keepdims=True)
        return out

    def backward(self, dout: FloatArray) -> FloatArray:
        shape = self._last_input().shape
        axis = self.axis % len(shape)
        dout = self._dout(dout, (*shape[:axis], 1, *shape[axis + 1 :]))
        return np.repeat(dout, shape[axis], axis=axis)


class MatMul(LayerBase):
    """y = x @ W for x of shape (N, D) and W of shape (D, H).

    dx = dout @ W.T and dW = x.T @ dout (section 1.3.4).
    """

    def __init__(self, W: FloatArray) -> None:
        super().__init__(W)
        self._param("W", W, 2, "(D, H)")
        self.x: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        (W,) = self.params
        self.x = check.matrix_input(self._owner("forward"), x, W).copy()
        return self.x @ W

    def backward(self, dout: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        x = check.cached(owner, self.x)
        (W,) = self.params
        dout = check.upstream_gradient(owner, dout, (x.shape[0], W.shape[1]), W.dtype)
        self.grads[0][...] = x.T @ dout
        return dout @ W.T


def _int_axis(owner: str, axis: object) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise check.fail_type(owner, "axis", "an int", axis)
    return int(axis)
