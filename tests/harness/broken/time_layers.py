"""Deliberately broken classes of ``scratchnn.time_layers`` (chapters 5 and 6)."""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnn
from tests.harness.broken.variant import Variant


class RNNDerivativeOfOutput(scratchnn.RNN):
    def backward(self, dh_next: Any) -> Any:
        x, h_prev, h_next = self.cache
        Wx, Wh, _ = self.params
        dt = dh_next * h_next  # should be dh_next * (1 - h_next ** 2)
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)
        return dt @ Wx.T, dt @ Wh.T


class _PlainTimeRNN(scratchnn.TimeRNN):
    """Backward through time written step by step, so that one line can break it."""

    carries_dh = True
    accumulates = True

    def backward(self, dhs: Any) -> Any:
        X, Hs = self.cache
        Wx, Wh, _ = self.params
        T, N, H = Hs.shape[0] - 1, Hs.shape[1], Wh.shape[0]
        xs = X.reshape(T, N, -1)
        grads = [np.zeros_like(g) for g in self.grads]
        dxs = np.empty((N, T, Wx.shape[0]), dtype=dhs.dtype)
        dh = np.zeros((N, H), dtype=dhs.dtype)
        for t in reversed(range(T)):
            dt = (dhs[:, t] + (dh if self.carries_dh else 0)) * (1 - Hs[t + 1] ** 2)
            step = [xs[t].T @ dt, Hs[t].T @ dt, dt.sum(axis=0)]
            grads = [g + s for g, s in zip(grads, step, strict=True)] if self.accumulates else step
            dh = dt @ Wh.T
            dxs[:, t] = dt @ Wx.T
        for own, g in zip(self.grads, grads, strict=True):
            own[...] = g
        self.dh = dh
        return dxs


class TimeRNNDropsCarriedGradient(_PlainTimeRNN):
    carries_dh = False  # dh from step t+1 is not added at step t


class TimeRNNOverwritesWeightGradients(_PlainTimeRNN):
    accumulates = False  # dWx, dWh, db of the first step only


class TimeRNNIgnoresStateful(scratchnn.TimeRNN):
    def __init__(self, Wx: Any, Wh: Any, b: Any, stateful: bool = False) -> None:
        super().__init__(Wx, Wh, b, stateful=False)  # always starts from zeros


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "rnn-derivative-of-output",
        "RNN",
        RNNDerivativeOfOutput,
        ("gradient", "taylor"),
        "dt = dh_next * h_next instead of dh_next * (1 - h_next ** 2)",
    ),
    Variant(
        "timernn-drops-carried-gradient",
        "TimeRNN",
        TimeRNNDropsCarriedGradient,
        ("gradient", "finite_difference"),
        "dh is not carried back through time",
    ),
    Variant(
        "timernn-overwrites-weight-gradients",
        "TimeRNN",
        TimeRNNOverwritesWeightGradients,
        ("gradient",),
        "dWx, dWh and db are overwritten at each step instead of summed over time",
    ),
    Variant(
        "timernn-ignores-stateful",
        "TimeRNN",
        TimeRNNIgnoresStateful,
        ("forward",),
        "stateful=True is ignored: every call starts from zeros",
        breaks=("N>1 · set_state · moderate", "N>1 · carried state · moderate"),
        holds=("N>1 · zero state · moderate",),
    ),
)

CORRECT_ALTERNATIVES: tuple[Variant, ...] = ()
