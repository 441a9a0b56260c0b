"""The book's layer protocol, as a type, and the small base class every layer shares.

A layer has ``params`` and ``grads``: parallel lists of arrays with the same
shapes and dtypes. ``forward(*inputs)`` returns the output; ``backward(dout)``
writes each parameter gradient **in place** (``grads[i][...] = g``) and returns
the gradient of each input. Models collect the lists once; optimizers hold live
references to them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray


@runtime_checkable
class Layer(Protocol):
    """Anything with the book's ``params``/``grads``/``forward``/``backward``."""

    params: list[FloatArray]
    grads: list[FloatArray]

    def forward(self, *inputs: Any) -> Any: ...

    def backward(self, *douts: Any) -> Any: ...


class LayerBase:
    """Holds ``params`` and zero ``grads`` of the same shapes and dtypes."""

    params: list[FloatArray]
    grads: list[FloatArray]

    def __init__(self, *params: FloatArray) -> None:
        self.params = list(params)
        self.grads = [np.zeros_like(p) for p in params]

    def _owner(self, method: str) -> str:
        """``"Affine.forward"``: the prefix of every error message a layer raises."""
        return f"{type(self).__name__}.{method}"

    def _param(self, name: str, value: object, ndim: int, layout: str) -> FloatArray:
        return check.float_array_of_rank(self._owner("__init__"), name, value, ndim, layout)
