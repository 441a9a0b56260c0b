"""Gradient-descent optimizers: SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam.

``update(params, grads)`` changes each parameter array **in place** and keeps
its dtype. Per-parameter state (velocities, running averages, step counts) is
tied to the parameter array itself, by identity, not to its position in the
list: removing a shared weight or adding a layer does not hand one
parameter's state to another.
"""

from __future__ import annotations

import math
import numbers
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from scratchnn import _validation as check
from scratchnn._openblas import axpy
from scratchnn._validation import FloatArray

__all__ = ["SGD", "AdaGrad", "Adam", "Momentum", "Nesterov", "Optimizer", "RMSprop"]


class Optimizer:
    """Base class: validates the lists, then calls ``_step`` for each (param, grad) pair."""

    def __init__(self, lr: float) -> None:
        self.lr = _positive(self, "lr", lr)
        self._state: dict[int, tuple[weakref.ref[FloatArray], dict[str, Any]]] = {}

    def update(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        owner = f"{type(self).__name__}.update"
        if len(params) != len(grads):
            raise check.fail_value(
                owner,
                "grads",
                f"a list parallel to params ({len(params)} arrays)",
                f"{len(grads)} arrays",
            )
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            param = check.float_array(owner, f"params[{i}]", param)
            grad = check.float_array(owner, f"grads[{i}]", grad)
            check.same_shape(owner, f"grads[{i}]", grad, f"params[{i}]", param.shape)
            self._step(param, grad)

    def _step(self, param: FloatArray, grad: FloatArray) -> None:
        raise NotImplementedError

    def state_of(self, param: FloatArray, init: Callable[[FloatArray], dict[str, Any]]) -> dict[str, Any]:
        """The state of ``param`` (this very array), created by ``init`` on first use."""
        key = id(param)
        entry = self._state.get(key)
        if entry is not None and entry[0]() is param:
            return entry[1]
        state = init(param)

        def forget(_ref: weakref.ref[FloatArray]) -> None:
            # The array was garbage-collected: a new array that reuses its id
            # must start fresh (the identity test above also guarantees it).
            self._state.pop(key, None)

        self._state[key] = (weakref.ref(param, forget), state)
        return state


class SGD(Optimizer):
    """W <- W - lr * dL/dW (section 1.3.6).

    Where NumPy's OpenBLAS exports axpy and the arrays allow it (one float dtype, contiguous,
    see :func:`scratchnn._openblas.axpy`), the update is one BLAS pass over memory instead
    of NumPy's two: half the time on large weights such as a 10,000-word embedding. Each
    element is then rounded once (a fused multiply-add) instead of twice.
    """

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)

    def _step(self, param: FloatArray, grad: FloatArray) -> None:
        if not axpy(-self.lr, grad, param):
            param -= self.lr * grad


class Momentum(Optimizer):
    """v <- momentum * v - lr * g;  W <- W + v."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = _fraction(self, "momentum", momentum)

    def _step(self, param: FloatArray, grad: FloatArray) -> None:
        v = self.state_of(param, _zeros("v"))["v"]
        v *= self.momentum
        v -= self.lr * grad
        param += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient in the form of Bengio, Boulanger-Lewandowski and
    Pascanu, "Advances in optimizing recurrent networks" (arXiv:1212.0901, eqs. 6-7),
    with a constant momentum mu:

        W <- W + mu^2 v - (1 + mu) lr g;   v <- mu v - lr g

    which takes the same steps as the look-ahead form v <- mu v - lr grad(W + mu v).
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = _fraction(self, "momentum", momentum)

    def _step(self, param: FloatArray, grad: FloatArray) -> None:
        v = self.state_of(param, _zeros("v"))["v"]
        mu = self.momentum
        param += mu * mu * v - (1 + mu) * self.lr * grad
        v *= mu
        v -= self.lr * grad


class AdaGrad(Optimizer):
    """h <- h + g^2;  W <- W - lr * g / (sqrt(h) + eps) (Duchi, Hazan and Singer, JMLR 2011)."""

    def __init__(self, lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.eps = _positive(self, "eps", eps)

    def _step(self, param: FloatArray, grad: FloatArray) -> None:
        h = self.state_of(param, _zeros("h"))["h"]
        h += grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class RMSprop(Optimizer):
    """h <- rho h + (1 - rho) g^2;  W <- W - lr * g / (sqrt(h) + eps) (Tieleman and Hinton, 2012)."""

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.decay_rate = _fraction(self, "decay_rate", decay_rate)
        self.eps = _positive(self, "eps", eps)

    def _step(self, param: FloatArray, grad: FloatArray) -> None:
        h = self.state_of(param, _zeros("h"))["h"]
        h *= self.decay_rate
        h += (1 - self.decay_rate) * grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    """Adam, Algorithm 1 of Kingma and Ba (arXiv:1412.6980), bias-corrected moments:

        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
        W <- W - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)

    with t counted per parameter array. The step works in place in one scratch array per
    parameter (a word2vec embedding of 10,000 x 100 would otherwise allocate about ten
    temporaries of its size per step), and divides by sqrt(v) / sqrt(1 - b2^t) + eps, which
    is sqrt(v_hat) + eps up to rounding.
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7
    ) -> None:
        super().__init__(lr)
        self.beta1 = _fraction(self, "beta1", beta1)
        self.beta2 = _fraction(self, "beta2", beta2)
        self.eps = _positive(self, "eps", eps)

    def _step(self, param: FloatArray, grad: FloatArray) -> None:
        state = self.state_of(
            param,
            lambda p: {"m": np.zeros_like(p), "v": np.zeros_like(p), "scratch": np.empty_like(p), "t": 0},
        )
        state["t"] += 1
        m, v, scratch, t = state["m"], state["v"], state["scratch"], state["t"]
        np.subtract(grad, m, out=scratch)
        scratch *= 1 - self.beta1
        m += scratch  # m <- m + (1 - b1)(g - m) = b1 m + (1 - b1) g
        np.multiply(grad, grad, out=scratch)
        scratch -= v
        scratch *= 1 - self.beta2
        v += scratch  # v <- b2 v + (1 - b2) g^2
        np.sqrt(v, out=scratch)
        scratch *= 1 / math.sqrt(1 - self.beta2**t)
        scratch += self.eps  # sqrt(v_hat) + eps
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / (1 - self.beta1**t)
        param -= scratch


def _zeros(name: str) -> Callable[[FloatArray], dict[str, Any]]:
    return lambda param: {name: np.zeros_like(param)}


def _real(optimizer: Optimizer, name: str, value: object) -> float:
    """A finite real hyperparameter (Python or NumPy scalar; not bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise check.fail_value(
            f"{type(optimizer).__name__}.__init__", name, "a finite real number", repr(value)
        )
    return float(value)


def _positive(optimizer: Optimizer, name: str, value: object) -> float:
    number = _real(optimizer, name, value)
    if number <= 0:
        raise check.fail_value(
            f"{type(optimizer).__name__}.__init__", name, "a positive finite number", repr(value)
        )
    return number


def _fraction(optimizer: Optimizer, name: str, value: object) -> float:
    number = _real(optimizer, name, value)
    if not 0 <= number < 1:
        raise check.fail_value(
            f"{type(optimizer).__name__}.__init__", name, "a number in [0, 1)", repr(value)
        )
    return number
