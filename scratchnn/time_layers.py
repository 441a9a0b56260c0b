"""The time layers of chapters 5 and 6: recurrent cells, their unrolled time versions, and the
time-distributed Embedding, Affine, losses and Dropout, with the book's names and constructors.

Every sequence is **batch-major**: ``xs`` has shape (N, T, D) (or (N, T) for word ids and
labels), ``hs`` has shape (N, T, H). Parameters are the book's layouts: ``Wx`` (D, kH),
``Wh`` (H, kH), ``b`` (kH,), with k = 1 (RNN), 4 (LSTM, gate blocks f, g, i, o) or 3 (GRU,
blocks z, r, h̃).

The time layers (``TimeRNN``, ``TimeLSTM``, ``TimeGRU``) follow section 5.3.3: ``stateful``,
``h`` (the last hidden state after forward), ``dh`` (after backward: the gradient with respect
to the hidden state the call started from), ``set_state``, ``reset_state``. A stateful layer
starts each forward from the previous forward's final state, and backward stops at the start of
the call (truncated BPTT, section 5.2.4). They do not build one cell object per time step as the
book does: the input projection ``xs @ Wx`` of all N*T rows is one matrix product before the
time loop, and the weight gradients are one product each after it; inside the loop there are
only the ``h @ Wh`` products and element-wise work (section 7 of DESIGN.md).

Internally the time loop runs over time-major buffers (T, N, ·), so that each step reads and
writes contiguous (N, ·) blocks and the stacked states reshape to (T*N, ·) matrices without
copies; the inputs and results keep the book's batch-major layout.

What a layer keeps for backward is its own copy or something computed from the inputs; the
arrays it returns are fresh. Everything runs in the dtype of the parameters (float32 or
float64); inputs of another dtype are refused, not converted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray
from scratchnn.protocol import LayerBase

__all__ = ["RNN", "TimeRNN"]


# --- shared helpers --------------------------------------------------------------------------


def _sigmoid_in_place(a: FloatArray) -> None:
    """a <- sigmoid(a) = (1 + tanh(a / 2)) / 2, in place.

    The identity sigmoid(x) = (1 + tanh(x/2)) / 2 holds exactly; tanh saturates at ±1 and
    never overflows, so this is as safe as :func:`scratchnn.functions.sigmoid` for any finite
    x (no warning, results in [0, 1]) with one transcendental function and no temporary
    arrays, which matters inside the time loop (it runs T times per forward). The absolute
    error is a few ulps of 1; for very negative x the result is 0 where e^x is tiny, which is
    below the resolution of every quantity the gate multiplies.
    """
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _recurrent_weights(owner: str, Wx: object, Wh: object, b: object, gates: int) -> int:
    """Check Wx (D, gates*H), Wh (H, gates*H), b (gates*H,) of one dtype; return H."""
    k = "" if gates == 1 else str(gates)
    Wx = check.float_array_of_rank(owner, "Wx", Wx, 2, f"(D, {k}H)")
    Wh = check.float_array_of_rank(owner, "Wh", Wh, 2, f"(H, {k}H)")
    b = check.float_array_of_rank(owner, "b", b, 1, f"({k}H,)")
    H = int(Wh.shape[0])
    if H == 0 or Wh.shape[1] != gates * H:
        raise check.fail_value(owner, "Wh", f"of shape (H, {k}H) with H >= 1", f"shape {Wh.shape}")
    if Wx.shape[1] != gates * H:
        raise check.fail_value(
            owner, "Wx", f"of shape (D, {gates * H}) to match Wh of shape {Wh.shape}", f"shape {Wx.shape}"
        )
    if b.shape != (gates * H,):
        raise check.fail_value(
            owner, "b", f"of shape ({gates * H},) to match Wh of shape {Wh.shape}", f"shape {b.shape}"
        )
    check.same_dtype(owner, "Wh", Wh, "Wx", Wx.dtype)
    check.same_dtype(owner, "b", b, "Wx", Wx.dtype)
    return H


def _sequence(owner: str, name: str, xs: object, W: FloatArray) -> FloatArray:
    """A float sequence (N, T, D) with N, T >= 1, D = W.shape[0] and W's dtype."""
    array = check.float_array_of_rank(owner, name, xs, 3, "(N, T, D)")
    if array.shape[2] != W.shape[0]:
        raise check.fail_value(
            owner,
            name,
            f"of shape (N, T, {W.shape[0]}) to match Wx of shape {W.shape}",
            f"shape {array.shape}",
        )
    check.nonempty(owner, name, array, "(N, T, D) with N >= 1 and T >= 1")
    check.same_dtype(owner, name, array, "Wx", W.dtype)
    return array


def _gradient(
    owner: str, name: str, value: object, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> FloatArray:
    """An upstream gradient of exactly the forward output's shape and dtype."""
    array = check.float_array(owner, name, value)
    check.same_shape(owner, name, array, "the forward output", shape)
    check.same_dtype(owner, name, array, "the forward output", dtype)
    return array


def _state(
    owner: str, name: str, value: object, n: int, H: int, dtype: np.dtype[Any], what: str
) -> FloatArray:
    """A hidden or cell state (N, H) in the parameters' dtype; ``what`` says where it came from."""
    array = check.float_array(owner, name, value)
    if array.shape != (n, H):
        raise check.fail_value(owner, name, f"of shape (N, H) = ({n}, {H}) {what}", f"shape {array.shape}")
    check.same_dtype(owner, name, array, "the parameters", dtype)
    return array


def _step_state(owner: str, name: str, value: object, x: FloatArray, Wh: FloatArray) -> FloatArray:
    """h_prev or c_prev of a single-step cell: (N, H) for x of shape (N, D), Wh's dtype."""
    return _state(owner, name, value, x.shape[0], Wh.shape[0], Wh.dtype, f"for x of shape {x.shape}")


def _matmul_into(grad: FloatArray, a: FloatArray, b: FloatArray) -> None:
    """grad[...] = a @ b, written straight into grad when BLAS can (a C-contiguous grad)."""
    if grad.flags.c_contiguous:
        np.matmul(a, b, out=grad)
    else:  # e.g. the gradient of a tied, transposed weight: NumPy would not use BLAS for it
        grad[...] = a @ b


def _time_major(xs: FloatArray) -> FloatArray:
    """A C-contiguous (T, N, D) copy of xs (N, T, D): always a copy, never a view of xs."""
    return xs.transpose(1, 0, 2).copy()


def _batch_major(a: FloatArray) -> FloatArray:
    """A fresh C-contiguous (N, T, ·) array from a time-major (T, N, ·) one."""
    return a.transpose(1, 0, 2).copy()


class _TimeRecurrent(LayerBase):
    """State handling shared by TimeRNN, TimeLSTM and TimeGRU (section 5.3.3).

    ``h`` is None (start from zeros) or the state the next stateful forward starts from;
    after a forward it is a copy of the last hidden state. ``dh`` is None until backward.
    """

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray, gates: int, stateful: bool) -> None:
        self.H = _recurrent_weights(self._owner("__init__"), Wx, Wh, b, gates)
        super().__init__(Wx, Wh, b)
        self.stateful = bool(stateful)
        self.h: FloatArray | None = None
        self.dh: FloatArray | None = None

    @property
    def _dtype(self) -> np.dtype[Any]:
        return self.params[0].dtype

    def set_state(self, h: FloatArray | None) -> None:
        """The hidden state (N, H) the next stateful forward starts from (a copy is kept)."""
        self.h = self._checked_state("h", h)

    def reset_state(self) -> None:
        """The next forward starts from zeros."""
        self.h = None

    def _checked_state(self, name: str, value: FloatArray | None) -> FloatArray | None:
        if value is None:
            return None
        owner = self._owner("set_state")
        array = check.float_array_of_rank(owner, name, value, 2, "(N, H)")
        return _state(owner, name, array, array.shape[0], self.H, self._dtype, "").copy()

    def _start(self, owner: str, name: str, value: FloatArray | None, n: int) -> FloatArray:
        """The state a forward over a batch of n starts from: zeros unless stateful and set."""
        if not self.stateful or value is None:
            return np.zeros((n, self.H), dtype=self._dtype)
        what = "(the state set by set_state or carried over from the previous call; reset_state() clears it)"
        return _state(owner, name, value, n, self.H, self._dtype, what)


# --- RNN (section 5.3) -----------------------------------------------------------------------


class RNN(LayerBase):
    """One step of the simple RNN (section 5.3.1): h_next = tanh(h_prev @ Wh + x @ Wx + b).

    x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,). With dt = dh_next * (1 - h_next²):
    dx = dt @ Wx.T, dh_prev = dt @ Wh.T, dWx = x.T @ dt, dWh = h_prev.T @ dt, db = Σ_n dt.
    """

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray) -> None:
        _recurrent_weights(self._owner("__init__"), Wx, Wh, b, 1)
        super().__init__(Wx, Wh, b)
        self.cache: tuple[FloatArray, FloatArray, FloatArray] | None = None

    def forward(self, x: FloatArray, h_prev: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        Wx, Wh, b = self.params
        x = check.matrix_input(owner, x, Wx)
        h_prev = _step_state(owner, "h_prev", h_prev, x, Wh)
        h_next = np.tanh(h_prev @ Wh + x @ Wx + b)
        self.cache = (x.copy(), h_prev.copy(), h_next)
        return h_next.copy()

    def backward(self, dh_next: FloatArray) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("backward")
        x, h_prev, h_next = check.cached(owner, self.cache)
        Wx, Wh, _ = self.params
        dh_next = _gradient(owner, "dh_next", dh_next, h_next.shape, h_next.dtype)
        dt = dh_next * (1 - h_next * h_next)
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)
        return dt @ Wx.T, dt @ Wh.T


class TimeRNN(_TimeRecurrent):
    """T steps of :class:`RNN` over xs (N, T, D) → hs (N, T, H) (section 5.3.2).

    h_t = tanh(h_{t-1} @ Wh + x_t @ Wx + b), h_0 = zeros or the carried state (see the module
    docstring for ``stateful``, ``h``, ``dh``, ``set_state``, ``reset_state``).
    Backward through time: with dt_t = (dhs_t + dh_t) * (1 - h_t²) and dh_{t-1} = dt_t @ Wh.T,
    dWx = Σ_t x_t.T @ dt_t, dWh = Σ_t h_{t-1}.T @ dt_t, db = Σ dt, dxs_t = dt_t @ Wx.T.
    """

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray, stateful: bool = False) -> None:
        super().__init__(Wx, Wh, b, 1, stateful)
        self.cache: tuple[FloatArray, FloatArray] | None = None

    def forward(self, xs: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        Wx, Wh, b = self.params
        xs = _sequence(owner, "xs", xs, Wx)
        N, T, D = xs.shape
        H = self.H
        h0 = self._start(owner, "h", self.h, N)
        X = _time_major(xs).reshape(T * N, D)
        A = (X @ Wx).reshape(T, N, H)  # the x part of every step's pre-activation, one product
        A += b
        Hs = np.empty((T + 1, N, H), dtype=self._dtype)  # Hs[t] = h_t; Hs[0] = h_0
        Hs[0] = h0
        for t in range(T):
            h = Hs[t + 1]
            np.matmul(Hs[t], Wh, out=h)
            h += A[t]
            np.tanh(h, out=h)
        self.cache = (X, Hs)
        self.h = Hs[T].copy()
        return _batch_major(Hs[1:])

    def backward(self, dhs: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        X, Hs = check.cached(owner, self.cache)
        Wx, Wh, _ = self.params
        T, N, H = Hs.shape[0] - 1, Hs.shape[1], self.H
        dhs = _gradient(owner, "dhs", dhs, (N, T, H), self._dtype)
        dhs_by_time = dhs.transpose(1, 0, 2)
        dT = 1 - Hs[1:] * Hs[1:]  # tanh' at every step, then dt_t in place
        dh = np.zeros((N, H), dtype=self._dtype)
        total = np.empty_like(dh)
        for t in reversed(range(T)):
            np.add(dhs_by_time[t], dh, out=total)
            dT[t] *= total
            np.matmul(dT[t], Wh.T, out=dh)
        dT2 = dT.reshape(T * N, H)
        _matmul_into(self.grads[0], X.T, dT2)
        _matmul_into(self.grads[1], Hs[:-1].reshape(T * N, H).T, dT2)
        self.grads[2][...] = dT2.sum(axis=0)
        self.dh = dh
        return _batch_major((dT2 @ Wx.T).reshape(T, N, -1))
