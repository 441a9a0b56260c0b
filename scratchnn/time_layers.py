"""The time layers of chapters 5 and 6: recurrent cells, their unrolled time versions, and the
time-distributed Embedding, Affine, losses and Dropout, with the book's names and constructors.

Every sequence is **batch-major**: ``xs`` has shape (N, T, D) (or (N, T) for word ids and
labels), ``hs`` has shape (N, T, H). Parameters are the book's layouts: ``Wx`` (D, kH),
``Wh`` (H, kH), ``b`` (kH,), with k = 1 (RNN), 4 (LSTM, gate blocks f, g, i, o) or 3 (GRU,
blocks z, r, h̃).

The time layers (``TimeRNN``, ``TimeLSTM``, ``TimeGRU``) follow section 5.3: ``stateful``,
``h`` (the last hidden state after forward), ``dh`` (after backward: the gradient with respect
to the hidden state the call started from), ``set_state``, ``reset_state``. A stateful layer
starts each forward from the previous forward's final state, and backward stops at the start of
the call (truncated BPTT, section 5.2). A layer that is not stateful starts every forward
from zeros, whatever ``set_state`` said, as in the book.

They do not build one cell object per time step as the book does: the input projection
``xs @ Wx`` of all N*T rows is one matrix product before the time loop, and the weight
gradients are one product each after it; inside the loop there are only the ``h @ Wh``
products and element-wise work (section 7 of DESIGN.md).

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
from scratchnn._validation import FloatArray, IntArray
from scratchnn.functions import sigmoid
from scratchnn.layers import _checked_indices, _fraction, _scatter_add_rows
from scratchnn.protocol import LayerBase

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "TimeAffine",
    "TimeBiLSTM",
    "TimeDropout",
    "TimeEmbedding",
    "TimeGRU",
    "TimeLSTM",
    "TimeRNN",
    "TimeSigmoidWithLoss",
    "TimeSoftmaxWithLoss",
]


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


def _recurrent_weights(owner: str, Wx: object, Wh: object, b: object, gates: int, suffix: str = "") -> int:
    """Check Wx (D, gates*H), Wh (H, gates*H), b (gates*H,) of one dtype; return H. ``suffix``
    completes the argument names in messages (TimeBiLSTM's Wx1 ... b2)."""
    k = "" if gates == 1 else str(gates)
    wx, wh, bn = f"Wx{suffix}", f"Wh{suffix}", f"b{suffix}"
    Wx = check.float_array_of_rank(owner, wx, Wx, 2, f"(D, {k}H)")
    Wh = check.float_array_of_rank(owner, wh, Wh, 2, f"(H, {k}H)")
    b = check.float_array_of_rank(owner, bn, b, 1, f"({k}H,)")
    H = int(Wh.shape[0])
    if H == 0 or Wh.shape[1] != gates * H:
        raise check.fail_value(owner, wh, f"of shape (H, {k}H) with H >= 1", f"shape {Wh.shape}")
    if Wx.shape[1] != gates * H:
        raise check.fail_value(
            owner, wx, f"of shape (D, {gates * H}) to match {wh} of shape {Wh.shape}", f"shape {Wx.shape}"
        )
    if b.shape != (gates * H,):
        raise check.fail_value(
            owner, bn, f"of shape ({gates * H},) to match {wh} of shape {Wh.shape}", f"shape {b.shape}"
        )
    check.same_dtype(owner, wh, Wh, wx, Wx.dtype)
    check.same_dtype(owner, bn, b, wx, Wx.dtype)
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
        expected = f"of shape (N, H) = ({n}, {H}) {what}".rstrip()
        raise check.fail_value(owner, name, expected, f"shape {array.shape}")
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


def _backward_product(Wh: FloatArray, dA: FloatArray, out_T: FloatArray) -> None:
    """out_T <- (dA @ Wh.T).T = Wh @ dA.T: the gradient flowing to the previous hidden state,
    (N, H), computed transposed as (H, N).

    The same numbers, but OpenBLAS computes the product with the small (N, kH) operand
    transposed about twice as fast as with the large weight transposed (measured: 0.53 ms
    against 1.0-1.7 ms for N = 20, H = 650, float32), and this product runs once per time step.
    """
    np.matmul(Wh, dA.T, out=out_T)


def _time_major(xs: FloatArray) -> FloatArray:
    """A C-contiguous (T, N, D) copy of xs (N, T, D): always a copy, never a view of xs."""
    return xs.transpose(1, 0, 2).copy()


def _batch_major(a: FloatArray) -> FloatArray:
    """A fresh C-contiguous (N, T, ·) array from a time-major (T, N, ·) one."""
    return a.transpose(1, 0, 2).copy()


class _TimeRecurrent(LayerBase):
    """State handling shared by TimeRNN, TimeLSTM and TimeGRU (section 5.3).

    ``h`` is None (start from zeros) or the state the next stateful forward starts from;
    after a forward it is a copy of the last hidden state. ``dh`` is None until backward.
    """

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray, gates: int, stateful: bool) -> None:
        self.H = _recurrent_weights(self._owner("__init__"), Wx, Wh, b, gates)
        super().__init__(Wx, Wh, b)
        self.stateful = bool(stateful)
        self.h: FloatArray | None = None
        self.dh: FloatArray | None = None
        self._first = 0  # 1 when the last forward started from a zero h_0

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

    def _from_zero(self, value: FloatArray | None) -> bool:
        """Whether a forward starts from a zero state (``_start`` makes it), not a given one."""
        return not self.stateful or value is None

    def _start(self, owner: str, name: str, value: FloatArray | None, n: int) -> FloatArray:
        """The state a forward over a batch of n starts from: zeros unless stateful and set."""
        if not self.stateful or value is None:
            return np.zeros((n, self.H), dtype=self._dtype)
        what = "(the state set by set_state or carried over from the previous call; reset_state() clears it)"
        return _state(owner, name, value, n, self.H, self._dtype, what)


# --- RNN (section 5.3) -----------------------------------------------------------------------


class RNN(LayerBase):
    """One step of the simple RNN (section 5.3): h_next = tanh(h_prev @ Wh + x @ Wx + b).

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
    """T steps of :class:`RNN` over xs (N, T, D) → hs (N, T, H) (section 5.3).

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
        dh_T = np.zeros((H, N), dtype=self._dtype)  # from step t+1 to step t, transposed
        total = np.empty((N, H), dtype=self._dtype)
        for t in reversed(range(T)):
            np.add(dhs_by_time[t], dh_T.T, out=total)
            dT[t] *= total
            _backward_product(Wh, dT[t], dh_T)
        dT2 = dT.reshape(T * N, H)
        _matmul_into(self.grads[0], X.T, dT2)
        _matmul_into(self.grads[1], Hs[:-1].reshape(T * N, H).T, dT2)
        self.grads[2][...] = dT2.sum(axis=0)
        self.dh = dh_T.T.copy()
        return _batch_major((dT2 @ Wx.T).reshape(T, N, -1))


# --- LSTM (section 6.3) ----------------------------------------------------------------------


class LSTM(LayerBase):
    """One LSTM step (section 6.3), gate blocks in the book's order (f, g, i, o).

    A = x @ Wx + h_prev @ Wh + b, with Wx (D, 4H), Wh (H, 4H), b (4H,), split in four
    column blocks of width H: f = σ(A_f), g = tanh(A_g), i = σ(A_i), o = σ(A_o);
    c_next = f * c_prev + g * i, h_next = o * tanh(c_next).
    Backward (sections 6.2-6.3): ds = dc_next + dh_next * o * (1 - tanh(c_next)²),
    dc_prev = ds * f, and dA = (ds * c_prev * f(1-f), ds * i * (1-g²), ds * g * i(1-i),
    dh_next * tanh(c_next) * o(1-o)); dx = dA @ Wx.T, dh_prev = dA @ Wh.T.
    """

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray) -> None:
        self.H = _recurrent_weights(self._owner("__init__"), Wx, Wh, b, 4)
        super().__init__(Wx, Wh, b)
        self.cache: tuple[FloatArray, ...] | None = None

    def forward(self, x: FloatArray, h_prev: FloatArray, c_prev: FloatArray) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("forward")
        Wx, Wh, b = self.params
        x = check.matrix_input(owner, x, Wx)
        h_prev = _step_state(owner, "h_prev", h_prev, x, Wh)
        c_prev = _step_state(owner, "c_prev", c_prev, x, Wh)
        H = self.H
        gates = x @ Wx + h_prev @ Wh + b
        _sigmoid_in_place(gates[:, :H])
        np.tanh(gates[:, H : 2 * H], out=gates[:, H : 2 * H])
        _sigmoid_in_place(gates[:, 2 * H :])
        f, g, i, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
        c_next = f * c_prev + g * i
        tanh_c = np.tanh(c_next)
        h_next = o * tanh_c
        self.cache = (x.copy(), h_prev.copy(), c_prev.copy(), gates, tanh_c)
        return h_next, c_next

    def backward(self, dh_next: FloatArray, dc_next: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        owner = self._owner("backward")
        x, h_prev, c_prev, gates, tanh_c = check.cached(owner, self.cache)
        Wx, Wh, _ = self.params
        dh_next = _gradient(owner, "dh_next", dh_next, tanh_c.shape, tanh_c.dtype)
        dc_next = _gradient(owner, "dc_next", dc_next, tanh_c.shape, tanh_c.dtype)
        H = self.H
        f, g, i, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
        ds = dc_next + dh_next * o * (1 - tanh_c * tanh_c)
        dA = np.hstack(
            (
                ds * c_prev * f * (1 - f),
                ds * i * (1 - g * g),
                ds * g * i * (1 - i),
                dh_next * tanh_c * o * (1 - o),
            )
        )
        self.grads[0][...] = x.T @ dA
        self.grads[1][...] = h_prev.T @ dA
        self.grads[2][...] = dA.sum(axis=0)
        return dA @ Wx.T, dA @ Wh.T, ds * f


class TimeLSTM(_TimeRecurrent):
    """T steps of :class:`LSTM` over xs (N, T, D) → hs (N, T, H) (section 6.3).

    State as in the module docstring, with the cell state alongside: ``h`` and ``c`` (the last
    states after forward), ``set_state(h, c=None)`` (c None: zeros), ``reset_state()``, ``dh``
    and — not in the book — ``dc``: after backward, the gradient with respect to the cell state
    the call started from (the book's seq2seq needs only dh; dc completes the gradient of the
    starting state, e.g. for a caller that passes both h and c between layers).

    Performance: xs @ Wx + b for all N*T rows is one matrix product before the loop; after the
    backward loop dWx = X.T @ dA, dWh = H_prev.T @ dA (the T starting states stacked), db and
    dxs = dA @ Wx.T are one product or sum each. The loop holds only h @ Wh (forward),
    dA_t @ Wh.T (backward) and element-wise work on preallocated buffers; the gate derivatives
    that do not depend on the recurrence are computed for all steps at once before it.
    """

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray, stateful: bool = False) -> None:
        super().__init__(Wx, Wh, b, 4, stateful)
        self.c: FloatArray | None = None
        self.dc: FloatArray | None = None
        self.cache: tuple[FloatArray, ...] | None = None

    def set_state(self, h: FloatArray | None, c: FloatArray | None = None) -> None:
        """The states (N, H) the next stateful forward starts from (copies are kept); c None: zeros."""
        self.h = self._checked_state("h", h)
        self.c = self._checked_state("c", c)

    def reset_state(self) -> None:
        """The next forward starts from zero h and c."""
        self.h, self.c = None, None

    def forward(self, xs: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        Wx, Wh, b = self.params
        xs = _sequence(owner, "xs", xs, Wx)
        N, T, D = xs.shape
        H = self.H
        h0 = self._start(owner, "h", self.h, N)
        c0 = self._start(owner, "c", self.c, N)
        dtype = self._dtype
        X = _time_major(xs).reshape(T * N, D)
        G = (X @ Wx).reshape(T, N, 4 * H)  # x part of every step's gates; becomes the activations
        G += b
        Hs = np.empty((T + 1, N, H), dtype=dtype)  # Hs[t] = h_t, Hs[0] = h_0
        Cs = np.empty((T + 1, N, H), dtype=dtype)  # Cs[t] = c_t, Cs[0] = c_0
        tanh_C = np.empty((T, N, H), dtype=dtype)  # tanh(c_{t+1})
        Hs[0], Cs[0] = h0, c0
        recurrent = np.empty((N, 4 * H), dtype=dtype)
        gi = np.empty((N, H), dtype=dtype)
        # Starting from h_0 = 0 (not stateful, or no state yet), step 0 has no h_0 @ Wh term.
        first = 1 if self._from_zero(self.h) else 0
        for t in range(T):
            gates = G[t]
            if t >= first:
                np.matmul(Hs[t], Wh, out=recurrent)
                gates += recurrent
            _sigmoid_in_place(gates[:, :H])  # f
            np.tanh(gates[:, H : 2 * H], out=gates[:, H : 2 * H])  # g
            _sigmoid_in_place(gates[:, 2 * H :])  # i and o, adjacent
            c = Cs[t + 1]
            np.multiply(gates[:, :H], Cs[t], out=c)
            np.multiply(gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], out=gi)
            c += gi
            np.tanh(c, out=tanh_C[t])
            np.multiply(gates[:, 3 * H :], tanh_C[t], out=Hs[t + 1])
        self.cache = (X, Hs, Cs, tanh_C, G)
        self._first = first
        self.h, self.c = Hs[T].copy(), Cs[T].copy()
        return _batch_major(Hs[1:])

    def backward(self, dhs: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        X, Hs, Cs, tanh_C, G = check.cached(owner, self.cache)
        Wx, Wh, _ = self.params
        T, N, H = tanh_C.shape
        dtype = self._dtype
        dhs = _gradient(owner, "dhs", dhs, (N, T, H), dtype)
        f, g, i, o = G[..., :H], G[..., H : 2 * H], G[..., 2 * H : 3 * H], G[..., 3 * H :]
        # Everything in dA that does not depend on the recurrence, for all steps at once
        # (sections 6.2-6.3): dA_t = (ds_t * K_f, ds_t * K_g, ds_t * K_i, dh_t * K_o) with
        # ds_t = dc_{t+1} + dh_t * P_t; then dA is built in place in K.
        # Written in place (out=): a product like c * f * (1 - f) would allocate three temporaries
        # of the size of the whole sequence.
        K = np.empty((T, N, 4 * H), dtype=dtype)
        K_f, K_g, K_i, K_o = K[..., :H], K[..., H : 2 * H], K[..., 2 * H : 3 * H], K[..., 3 * H :]
        np.subtract(1, f, out=K_f)
        K_f *= f
        K_f *= Cs[:-1]  # c_{t-1} f (1 - f)
        np.multiply(g, g, out=K_g)
        np.subtract(1, K_g, out=K_g)
        K_g *= i  # i (1 - g²)
        np.subtract(1, i, out=K_i)
        K_i *= i
        K_i *= g  # g i (1 - i)
        np.subtract(1, o, out=K_o)
        K_o *= o
        K_o *= tanh_C  # tanh(c_t) o (1 - o)
        P = np.multiply(tanh_C, tanh_C)
        np.subtract(1, P, out=P)
        P *= o  # o (1 - tanh(c_t)²)
        K4 = K.reshape(T, N, 4, H)
        dhs_by_time = dhs.transpose(1, 0, 2)
        dh_T = np.zeros((H, N), dtype=dtype)  # from step t+1 to step t through h, transposed
        dc = np.zeros((N, H), dtype=dtype)  # ... and through c
        total = np.empty((N, H), dtype=dtype)
        ds = np.empty_like(total)
        for t in reversed(range(T)):
            np.add(dhs_by_time[t], dh_T.T, out=total)
            np.multiply(total, P[t], out=ds)
            ds += dc
            K4[t, :, :3] *= ds[:, None, :]  # f, g, i blocks
            K4[t, :, 3] *= total  # o block
            np.multiply(ds, f[t], out=dc)
            _backward_product(Wh, K[t], dh_T)
        dA = K.reshape(T * N, 4 * H)
        _matmul_into(self.grads[0], X.T, dA)
        first = self._first  # a zero h_0 adds nothing to dWh
        _matmul_into(self.grads[1], Hs[first:-1].reshape((T - first) * N, H).T, dA[first * N :])
        self.grads[2][...] = dA.sum(axis=0)
        self.dh, self.dc = dh_T.T.copy(), dc
        return _batch_major((dA @ Wx.T).reshape(T, N, -1))


# --- GRU (the book's appendix on GRU, and its common/time_layers.py) ---------------------------

_GRU_VERSUS_TORCH = """
    This is the book's GRU, not ``torch.nn.GRU``'s. Differences, for anyone mapping weights
    between the two:

    - gate blocks: the book's columns are (z, r, h̃); torch's rows are (r, z, n);
    - the update: here h_next = (1 - z) * h_prev + z * h̃, so z weights the NEW candidate;
      torch (like Cho et al. 2014) computes h' = (1 - z) * n + z * h, where z weights the OLD
      state: torch's z is the book's 1 - z (negating the z weights and bias would map this
      part, since σ(-a) = 1 - σ(a));
    - the reset gate: here it multiplies h_prev before the hidden product,
      h̃ = tanh(x Wxh + (r * h_prev) Whh + bh); torch applies it after the product and has
      two biases, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). No mapping of weights turns
      one into the other: the two are different functions.
"""


class GRU(LayerBase):
    """One GRU step, the book's formulation: Wx (D, 3H), Wh (H, 3H), b (3H,), blocks (z, r, h̃).

    z = σ(x Wxz + h_prev Whz + bz), r = σ(x Wxr + h_prev Whr + br),
    h̃ = tanh(x Wxh + (r * h_prev) Whh + bh), h_next = (1 - z) * h_prev + z * h̃.
    ``forward(x, h_prev) -> h_next``, ``backward(dh_next) -> (dx, dh_prev)``.
    """

    __doc__ = (__doc__ or "") + _GRU_VERSUS_TORCH

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray) -> None:
        self.H = _recurrent_weights(self._owner("__init__"), Wx, Wh, b, 3)
        super().__init__(Wx, Wh, b)
        self.cache: tuple[FloatArray, ...] | None = None

    def forward(self, x: FloatArray, h_prev: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        Wx, Wh, b = self.params
        x = check.matrix_input(owner, x, Wx)
        h_prev = _step_state(owner, "h_prev", h_prev, x, Wh)
        H = self.H
        gates = x @ Wx + b
        gates[:, : 2 * H] += h_prev @ Wh[:, : 2 * H]
        _sigmoid_in_place(gates[:, : 2 * H])
        z, r = gates[:, :H], gates[:, H : 2 * H]
        rh = r * h_prev
        gates[:, 2 * H :] += rh @ Wh[:, 2 * H :]
        np.tanh(gates[:, 2 * H :], out=gates[:, 2 * H :])
        h_next = (1 - z) * h_prev + z * gates[:, 2 * H :]
        self.cache = (x.copy(), h_prev.copy(), gates, rh)
        return h_next

    def backward(self, dh_next: FloatArray) -> tuple[FloatArray, FloatArray]:
        owner = self._owner("backward")
        x, h_prev, gates, rh = check.cached(owner, self.cache)
        Wx, Wh, _ = self.params
        dh_next = _gradient(owner, "dh_next", dh_next, h_prev.shape, h_prev.dtype)
        H = self.H
        z, r, h_hat = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
        dt_h = dh_next * z * (1 - h_hat * h_hat)
        dhr = dt_h @ Wh[:, 2 * H :].T
        dt_z = dh_next * (h_hat - h_prev) * z * (1 - z)
        dt_r = dhr * h_prev * r * (1 - r)
        dA = np.hstack((dt_z, dt_r, dt_h))
        dh_prev = dh_next * (1 - z) + r * dhr + dA[:, : 2 * H] @ Wh[:, : 2 * H].T
        self.grads[0][...] = x.T @ dA
        self.grads[1][:, : 2 * H] = h_prev.T @ dA[:, : 2 * H]
        self.grads[1][:, 2 * H :] = rh.T @ dt_h
        self.grads[2][...] = dA.sum(axis=0)
        return dA @ Wx.T, dh_prev


class TimeGRU(_TimeRecurrent):
    """T steps of :class:`GRU` over xs (N, T, D) → hs (N, T, H), the book's formulation.

    State as in the module docstring: ``h``, ``dh``, ``set_state(h)``, ``reset_state()``,
    ``stateful`` with truncated BPTT. As in TimeLSTM, xs @ Wx + b is one product before the
    loop and dWx, dWh, db, dxs one product or sum each after it; per step there are two
    products forward (h Wh[:, z r] and (r h) Whh, the second needs r) and two backward.
    """

    __doc__ = (__doc__ or "") + _GRU_VERSUS_TORCH

    def __init__(self, Wx: FloatArray, Wh: FloatArray, b: FloatArray, stateful: bool = False) -> None:
        super().__init__(Wx, Wh, b, 3, stateful)
        self.cache: tuple[FloatArray, ...] | None = None

    def forward(self, xs: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        Wx, Wh, b = self.params
        xs = _sequence(owner, "xs", xs, Wx)
        N, T, D = xs.shape
        H = self.H
        dtype = self._dtype
        h0 = self._start(owner, "h", self.h, N)
        X = _time_major(xs).reshape(T * N, D)
        G = (X @ Wx).reshape(T, N, 3 * H)  # x part of every step; becomes (z, r, h̃)
        G += b
        Hs = np.empty((T + 1, N, H), dtype=dtype)  # Hs[t] = h_t, Hs[0] = h_0
        RH = np.empty((T, N, H), dtype=dtype)  # r_t * h_{t-1}: the input of Whh
        Hs[0] = h0
        Wh_zr, Wh_h = Wh[:, : 2 * H], Wh[:, 2 * H :]
        zr = np.empty((N, 2 * H), dtype=dtype)
        candidate = np.empty((N, H), dtype=dtype)
        for t in range(T):
            gates, h_prev, h = G[t], Hs[t], Hs[t + 1]
            np.matmul(h_prev, Wh_zr, out=zr)
            gates[:, : 2 * H] += zr
            _sigmoid_in_place(gates[:, : 2 * H])
            np.multiply(gates[:, H : 2 * H], h_prev, out=RH[t])
            np.matmul(RH[t], Wh_h, out=candidate)
            h_hat = gates[:, 2 * H :]
            h_hat += candidate
            np.tanh(h_hat, out=h_hat)
            # h = (1 - z) h_prev + z h̃ written as h_prev + z (h̃ - h_prev): one temporary fewer
            np.subtract(h_hat, h_prev, out=h)
            h *= gates[:, :H]
            h += h_prev
        self.cache = (X, Hs, RH, G)
        self.h = Hs[T].copy()
        return _batch_major(Hs[1:])

    def backward(self, dhs: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        X, Hs, RH, G = check.cached(owner, self.cache)
        Wx, Wh, _ = self.params
        T, N, H = RH.shape
        dtype = self._dtype
        dhs = _gradient(owner, "dhs", dhs, (N, T, H), dtype)
        z, r, h_hat, h_prev = G[..., :H], G[..., H : 2 * H], G[..., 2 * H :], Hs[:-1]
        # The factors that do not depend on the recurrence, for all steps at once; dA is then
        # built in place in K: dA_t = (dh_t * K_z, dhr_t * K_r, dh_t * K_h), dhr_t = dA_h @ Whh.T.
        K = np.empty((T, N, 3 * H), dtype=dtype)
        K[..., :H] = (h_hat - h_prev) * z * (1 - z)
        K[..., H : 2 * H] = h_prev * r * (1 - r)
        K[..., 2 * H :] = z * (1 - h_hat * h_hat)
        one_minus_z = 1 - z
        Wh_zr, Wh_h = Wh[:, : 2 * H], Wh[:, 2 * H :]
        dhs_by_time = dhs.transpose(1, 0, 2)
        dh_T = np.zeros((H, N), dtype=dtype)  # from step t+1 to step t, transposed
        total = np.empty((N, H), dtype=dtype)
        dhr_T = np.empty((H, N), dtype=dtype)
        direct = np.empty((N, H), dtype=dtype)
        for t in reversed(range(T)):
            dA = K[t]
            np.add(dhs_by_time[t], dh_T.T, out=total)
            dA[:, :H] *= total
            dA[:, 2 * H :] *= total
            _backward_product(Wh_h, dA[:, 2 * H :], dhr_T)
            dA[:, H : 2 * H] *= dhr_T.T
            np.multiply(total, one_minus_z[t], out=direct)
            _backward_product(Wh_zr, dA[:, : 2 * H], dh_T)
            dh_T += direct.T
            np.multiply(r[t].T, dhr_T, out=dhr_T)
            dh_T += dhr_T
        dA2 = K.reshape(T * N, 3 * H)
        _matmul_into(self.grads[0], X.T, dA2)
        self.grads[1][:, : 2 * H] = h_prev.reshape(T * N, H).T @ dA2[:, : 2 * H]
        self.grads[1][:, 2 * H :] = RH.reshape(T * N, H).T @ dA2[:, 2 * H :]
        self.grads[2][...] = dA2.sum(axis=0)
        self.dh = dh_T.T.copy()
        return _batch_major((dA2 @ Wx.T).reshape(T, N, -1))


# --- bidirectional LSTM (chapter 8) -------------------------------------------------------------


class TimeBiLSTM(LayerBase):
    """Two TimeLSTMs over xs (N, T, D): one forward in time, one over the time-reversed xs.

    out = concat([hs_fwd, reverse_t(hs_bwd)], axis=2) → (N, T, 2H), where hs_bwd is the
    second LSTM's output over xs[:, ::-1], so out[:, t, H:] has read x_T..x_t.
    backward(dhs) splits dhs into its halves, runs each LSTM's backward (the second one
    time-reversed) and returns the sum of the two dxs. ``params``/``grads`` are the first
    LSTM's (Wx1, Wh1, b1) followed by the second's; both have the same H and dtype.
    ``forward_lstm`` and ``backward_lstm`` are the two TimeLSTMs (with their own h, c, dh, dc);
    ``reset_state()`` resets both (an addition to the book's class).
    """

    def __init__(
        self,
        Wx1: FloatArray,
        Wh1: FloatArray,
        b1: FloatArray,
        Wx2: FloatArray,
        Wh2: FloatArray,
        b2: FloatArray,
        stateful: bool = False,
    ) -> None:
        owner = self._owner("__init__")
        H1 = _recurrent_weights(owner, Wx1, Wh1, b1, 4, "1")
        H2 = _recurrent_weights(owner, Wx2, Wh2, b2, 4, "2")
        if Wx2.shape[0] != Wx1.shape[0] or H2 != H1:
            raise check.fail_value(
                owner, "Wx2", f"of shape {Wx1.shape} like Wx1 (same D and H)", f"shape {Wx2.shape}"
            )
        check.same_dtype(owner, "Wx2", Wx2, "Wx1", Wx1.dtype)
        self.forward_lstm = TimeLSTM(Wx1, Wh1, b1, stateful)
        self.backward_lstm = TimeLSTM(Wx2, Wh2, b2, stateful)
        super().__init__()
        self.params = self.forward_lstm.params + self.backward_lstm.params
        self.grads = self.forward_lstm.grads + self.backward_lstm.grads
        self.H = H1

    def forward(self, xs: FloatArray) -> FloatArray:
        xs = _sequence(self._owner("forward"), "xs", xs, self.params[0])
        o1 = self.forward_lstm.forward(xs)
        o2 = self.backward_lstm.forward(xs[:, ::-1])
        return np.concatenate((o1, o2[:, ::-1]), axis=2)

    def backward(self, dhs: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        tanh_C = check.cached(owner, self.forward_lstm.cache)[3]  # (T, N, H)
        T, N = tanh_C.shape[:2]
        dhs = _gradient(owner, "dhs", dhs, (N, T, 2 * self.H), self.params[0].dtype)
        dxs = self.forward_lstm.backward(dhs[:, :, : self.H])
        dxs += self.backward_lstm.backward(dhs[:, ::-1, self.H :])[:, ::-1]
        return dxs

    def reset_state(self) -> None:
        """Both LSTMs start the next forward from zeros."""
        self.forward_lstm.reset_state()
        self.backward_lstm.reset_state()


# --- time-distributed layers and losses (sections 5.4, 6.5) -----------------------------------


class TimeEmbedding(LayerBase):
    """Word vectors for a batch of id sequences (section 5.4): out[n, t] = W[xs[n, t]].

    W (V, D), xs (N, T) integer ids in [0, V) → out (N, T, D) in W's dtype. backward(dout)
    sets dW to zero and adds dout[n, t] to row xs[n, t] for every (n, t) — ids that repeat
    accumulate — and returns None (ids have no gradient), as in the book. The scatter-add is
    the same as :class:`scratchnn.layers.Embedding`'s, several times faster than ``np.add.at``.
    """

    def __init__(self, W: FloatArray) -> None:
        self._param("W", W, 2, "(V, D)")
        super().__init__(W)
        self.idx: IntArray | None = None

    def forward(self, xs: IntArray) -> FloatArray:
        owner = self._owner("forward")
        (W,) = self.params
        if isinstance(xs, np.ndarray) and xs.ndim != 2:
            raise check.fail_value(owner, "xs", "a 2-D array of word ids (N, T)", f"shape {xs.shape}")
        xs = _checked_indices(owner, "xs", xs, W.shape[0])
        if xs.size == 0:
            raise check.fail_value(owner, "xs", "a non-empty array (N, T)", f"shape {xs.shape}")
        self.idx = xs.copy()
        return np.take(W, self.idx, axis=0)  # take copies: the output never aliases W

    def backward(self, dout: FloatArray) -> None:
        owner = self._owner("backward")
        idx = check.cached(owner, self.idx)
        (W,) = self.params
        dout = _gradient(owner, "dout", dout, (*idx.shape, W.shape[1]), W.dtype)
        dW = self.grads[0]
        dW.fill(0)
        _scatter_add_rows(dW, idx.reshape(-1), dout.reshape(-1, W.shape[1]))


class TimeAffine(LayerBase):
    """out[n, t] = xs[n, t] @ W + b for xs (N, T, D), W (D, H), b (H,) (section 5.4).

    One matrix product over all N*T rows each way: dxs = dout @ W.T, dW = Σ_{n,t}
    xs[n, t].T dout[n, t] (one (D, N*T) @ (N*T, H) product), db = Σ_{n,t} dout[n, t].
    W may be a transposed view (the book ties it to an embedding matrix as ``embed_W.T``).
    """

    def __init__(self, W: FloatArray, b: FloatArray) -> None:
        owner = self._owner("__init__")
        self._param("W", W, 2, "(D, H)")
        self._param("b", b, 1, "(H,)")
        if b.shape[0] != W.shape[1]:
            raise check.fail_value(
                owner, "b", f"of shape ({W.shape[1]},) to match W of shape {W.shape}", f"shape {b.shape}"
            )
        check.same_dtype(owner, "b", b, "W", W.dtype)
        super().__init__(W, b)
        self.x: FloatArray | None = None
        self.shape: tuple[int, int] = (0, 0)

    def forward(self, xs: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        W, b = self.params
        xs = check.float_array_of_rank(owner, "xs", xs, 3, "(N, T, D)")
        if xs.shape[2] != W.shape[0]:
            raise check.fail_value(
                owner,
                "xs",
                f"of shape (N, T, {W.shape[0]}) to match W of shape {W.shape}",
                f"shape {xs.shape}",
            )
        check.same_dtype(owner, "xs", xs, "W", W.dtype)
        N, T, D = xs.shape
        self.x, self.shape = xs.reshape(N * T, D).copy(), (N, T)
        out = self.x @ W
        out += b
        return out.reshape(N, T, -1)

    def backward(self, dout: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        x = check.cached(owner, self.x)
        W, _ = self.params
        N, T = self.shape
        dout = _gradient(owner, "dout", dout, (N, T, W.shape[1]), W.dtype)
        d = dout.reshape(N * T, -1)
        _matmul_into(self.grads[0], x.T, d)
        self.grads[1][...] = d.sum(axis=0)
        return (d @ W.T).reshape(N, T, -1)


class TimeSoftmaxWithLoss(LayerBase):
    """Softmax cross-entropy over every position of xs (N, T, V) against labels ts (section 5.4).

    ``ts`` holds class ids (N, T) — or one-hot vectors (N, T, V), turned into ids with argmax
    as the book does (they must be exact one-hot rows). Positions whose label equals
    ``ignore_label`` (an attribute, -1 by default; it can be changed before forward, e.g. to a
    padding id) count neither in the loss nor in the gradient:

        loss = -(1 / M) Σ_{(n,t) not ignored} log softmax(xs[n, t])[ts[n, t]],

    M the number of positions not ignored (all of them ignored is an error: the mean of nothing
    is undefined). The log-softmax is taken as (x_k - m) - log Σ_j exp(x_j - m), m = max_j x_j,
    exact for any logits. backward(dout=1) → dxs = dout / M * (softmax(xs) - onehot(ts)),
    zero at ignored positions.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ignore_label = -1
        self.cache: tuple[FloatArray, IntArray, IntArray, tuple[int, int]] | None = None

    def forward(self, xs: FloatArray, ts: IntArray | FloatArray) -> np.floating[Any]:
        owner = self._owner("forward")
        xs = check.float_array_of_rank(owner, "xs", xs, 3, "(N, T, V)")
        check.nonempty(owner, "xs", xs, "(N, T, V) with N, T, V >= 1")
        N, T, V = xs.shape
        labels = self._labels(owner, ts, N, T, V)
        rows = np.flatnonzero(labels != self.ignore_label)
        if rows.size == 0:
            raise check.fail_value(
                owner,
                "ts",
                f"at least one label other than ignore_label ({self.ignore_label})",
                f"all {labels.size} positions ignored",
            )
        picked_labels = labels[rows]
        scores = xs.reshape(N * T, V)
        shifted = scores - scores.max(axis=1, keepdims=True)
        picked = shifted[rows, picked_labels]
        exp = np.exp(shifted, out=shifted)  # every exponent <= 0: no overflow; the sum is >= 1
        total = exp.sum(axis=1, keepdims=True)
        loss = (np.log(total[rows, 0]) - picked).sum() / rows.size
        exp /= total  # now the softmax, kept for backward
        self.cache = (exp, rows, picked_labels, (N, T))
        return loss  # type: ignore[no-any-return]

    def _labels(self, owner: str, ts: object, N: int, T: int, V: int) -> IntArray:
        """The labels as ids of shape (N*T,), ignored positions included, all checked."""
        if not isinstance(ts, np.ndarray):
            raise check.fail_type(owner, "ts", "a numpy.ndarray of labels", ts)
        ignore = self.ignore_label
        if isinstance(ignore, bool) or not isinstance(ignore, (int, np.integer)):
            raise check.fail_type(owner, "ignore_label", "an int", ignore)
        if ts.shape == (N, T, V):
            return _one_hot_ids(owner, ts).reshape(-1)
        if ts.shape != (N, T):
            raise check.fail_value(
                owner,
                "ts",
                f"labels of shape ({N}, {T}) or one-hot of shape ({N}, {T}, {V})",
                f"shape {ts.shape}",
            )
        if not np.issubdtype(ts.dtype, np.integer):
            raise check.fail_type(
                owner, "ts", f"integer class ids (or one-hot labels of shape ({N}, {T}, {V}))", ts
            )
        labels = ts.reshape(-1)
        if int(labels.min()) < 0 or int(labels.max()) >= V:
            bad = ((labels < 0) | (labels >= V)) & (labels != ignore)
            if bad.any():
                value = int(labels[np.argmax(bad)])
                raise check.fail_value(
                    owner, "ts", f"class ids in [0, {V}) or ignore_label ({ignore})", f"label {value}"
                )
        return labels

    def backward(self, dout: float = 1) -> FloatArray:
        owner = self._owner("backward")
        ys, rows, labels, (N, T) = check.cached(owner, self.cache)
        scale = check.upstream_scalar(owner, dout, ys.dtype) / rows.size
        dx = ys * scale
        if rows.size < N * T:  # zero the ignored positions
            ignored = np.ones(N * T, dtype=bool)
            ignored[rows] = False
            dx[ignored] = 0
        dx[rows, labels] -= scale
        return dx.reshape(N, T, -1)


def _one_hot_ids(owner: str, ts: np.ndarray[Any, Any]) -> IntArray:
    """The ids of one-hot label vectors (…, V), as the book's argmax, after checking that every
    vector is exactly one-hot (values >= 0 summing to 1 with a 1 at the argmax)."""
    if not (np.issubdtype(ts.dtype, np.number) or ts.dtype == np.bool_):
        raise check.fail_type(owner, "ts", "numeric one-hot labels", ts)
    ids: IntArray = ts.argmax(axis=-1)
    top = np.take_along_axis(ts, ids[..., None], axis=-1)
    if ts.min() < 0 or np.any(top != 1) or np.any(ts.sum(axis=-1, dtype=np.float64) != 1):
        raise check.fail_value(owner, "ts", "one-hot vectors (one 1, zeros elsewhere)", "other values")
    return ids


class TimeSigmoidWithLoss(LayerBase):
    """Sigmoid binary cross-entropy over scores xs (N, T) and 0/1 labels ts (N, T).

    loss = mean over all N*T positions of -[t log σ(x) + (1 - t) log(1 - σ(x))], computed from
    the logits as max(x, 0) - x t + log(1 + exp(-|x|)), which never overflows (the book averages
    SigmoidWithLoss over N at each step, then over T: the same mean). backward(dout=1) →
    dxs = dout * (σ(xs) - ts) / (N*T).
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[FloatArray, FloatArray] | None = None

    def forward(self, xs: FloatArray, ts: IntArray | FloatArray) -> np.floating[Any]:
        owner = self._owner("forward")
        xs = check.float_array_of_rank(owner, "xs", xs, 2, "(N, T)")
        check.nonempty(owner, "xs", xs, "(N, T)")
        t = check.binary_targets(owner, "ts", ts, xs.shape, xs.dtype).copy()
        per_position = np.maximum(xs, 0) - xs * t + np.log1p(np.exp(-np.abs(xs)))
        self.cache = (sigmoid(xs), t)
        return per_position.sum() / xs.size  # type: ignore[no-any-return]

    def backward(self, dout: float = 1) -> FloatArray:
        owner = self._owner("backward")
        y, t = check.cached(owner, self.cache)
        scale = check.upstream_scalar(owner, dout, y.dtype) / y.size
        return (y - t) * scale


class TimeDropout(LayerBase):
    """Inverted dropout over a sequence (section 6.5), as the book's TimeDropout.

    ``train_flg`` (attribute, True by default; the model sets it) selects the mode at each
    forward. Training: keep = rng.random(xs.shape) > dropout_ratio, ``mask`` = keep / (1 -
    dropout_ratio) in xs's dtype, out = xs * mask, and backward gives dout * mask: the kept
    units are scaled up so that the expectation of out is xs. Test: out = xs (a copy), and
    backward gives dout. Each training forward draws exactly once, ``rng.random(xs.shape)``;
    test mode and backward draw nothing. ``rng`` is a ``numpy.random.Generator`` (kept and drawn
    from) or a seed.
    """

    def __init__(self, dropout_ratio: float = 0.5, *, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.dropout_ratio = _fraction(self._owner("__init__"), "dropout_ratio", dropout_ratio)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.train_flg = True
        self.mask: FloatArray | None = None
        self._seen: tuple[tuple[int, ...], np.dtype[Any], bool] | None = None  # shape, dtype, training?

    def forward(self, xs: FloatArray) -> FloatArray:
        xs = check.float_array(self._owner("forward"), "xs", xs)
        training = bool(self.train_flg)
        self._seen = (xs.shape, xs.dtype, training)
        if not training:
            self.mask = None  # a later backward must not reuse an earlier training mask
            return xs.copy()
        keep = self.rng.random(xs.shape) > self.dropout_ratio
        self.mask = keep * xs.dtype.type(1 / (1 - self.dropout_ratio))
        return xs * self.mask

    def backward(self, dout: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        shape, dtype, training = check.cached(owner, self._seen)
        dout = _gradient(owner, "dout", dout, shape, dtype)
        if training and self.mask is not None:
            return dout * self.mask
        return dout.copy()
