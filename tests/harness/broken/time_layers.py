"""Deliberately broken classes of ``scratchnn.time_layers`` and of the language models of
``scratchnn.models`` (chapters 5 and 6): each subclasses the correct class and changes one thing."""

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


# --- LSTM ---------------------------------------------------------------------------------


class _PlainLSTM(scratchnn.LSTM):
    """The book's LSTM backward, written out, so that one line can break it."""

    def _ds(self, dh_next: Any, dc_next: Any, o: Any, tanh_c: Any) -> Any:
        return dc_next + dh_next * o * (1 - tanh_c**2)

    def _stacked(self, df: Any, dg: Any, di: Any, do: Any) -> Any:
        return np.hstack((df, dg, di, do))

    def backward(self, dh_next: Any, dc_next: Any) -> Any:
        x, h_prev, c_prev, gates, tanh_c = self.cache
        Wx, Wh, _ = self.params
        f, g, i, o = np.split(gates, 4, axis=1)
        ds = self._ds(dh_next, dc_next, o, tanh_c)
        dA = self._stacked(
            ds * c_prev * f * (1 - f),
            ds * i * (1 - g**2),
            ds * g * i * (1 - i),
            dh_next * tanh_c * o * (1 - o),
        )
        self.grads[0][...] = x.T @ dA
        self.grads[1][...] = h_prev.T @ dA
        self.grads[2][...] = dA.sum(axis=0)
        return dA @ Wx.T, dA @ Wh.T, ds * f


class LSTMGatesSwappedInBackward(_PlainLSTM):
    def _stacked(self, df: Any, dg: Any, di: Any, do: Any) -> Any:
        return np.hstack((di, dg, df, do))  # forward's blocks are (f, g, i, o)


class LSTMCellGradientMissesOutputPath(_PlainLSTM):
    def _ds(self, dh_next: Any, dc_next: Any, o: Any, tanh_c: Any) -> Any:
        return dc_next  # without dh_next * o * (1 - tanh(c_next)^2)


class _PlainTimeLSTM(scratchnn.TimeLSTM):
    """TimeLSTM's backward step by step from its cache, so that one line can break it."""

    carries_dc = True
    accumulates = True

    def backward(self, dhs: Any) -> Any:
        X, Hs, Cs, tanh_C, G = self.cache
        Wx, Wh, _ = self.params
        T, N, H = tanh_C.shape
        xs = X.reshape(T, N, -1)
        grads = [np.zeros_like(g) for g in self.grads]
        dxs = np.empty((N, T, Wx.shape[0]), dtype=dhs.dtype)
        dh = np.zeros((N, H), dtype=dhs.dtype)
        dc = np.zeros((N, H), dtype=dhs.dtype)
        for t in reversed(range(T)):
            f, g, i, o = np.split(G[t], 4, axis=1)
            dh_t = dhs[:, t] + dh
            ds = (dc if self.carries_dc else 0) + dh_t * o * (1 - tanh_C[t] ** 2)
            dA = np.hstack(
                (
                    ds * Cs[t] * f * (1 - f),
                    ds * i * (1 - g**2),
                    ds * g * i * (1 - i),
                    dh_t * tanh_C[t] * o * (1 - o),
                )
            )
            step = [xs[t].T @ dA, Hs[t].T @ dA, dA.sum(axis=0)]
            grads = [g + d for g, d in zip(grads, step, strict=True)] if self.accumulates else step
            dh, dc = dA @ Wh.T, ds * f
            dxs[:, t] = dA @ Wx.T
        for own, g in zip(self.grads, grads, strict=True):
            own[...] = g
        self.dh, self.dc = dh, dc
        return dxs


class TimeLSTMDropsCarriedCellGradient(_PlainTimeLSTM):
    carries_dc = False  # dc from step t+1 is not added at step t


class TimeLSTMOverwritesWeightGradients(_PlainTimeLSTM):
    accumulates = False  # grads[i] = ... where the book writes grads[i] += ...: the first step's


class TimeLSTMSetStateForgetsCell(scratchnn.TimeLSTM):
    def set_state(self, h: Any, c: Any = None) -> None:
        super().set_state(h, None)  # the cell state given is dropped: it starts from zeros


# --- GRU ------------------------------------------------------------------------------------


class GRUTorchUpdate(scratchnn.GRU):
    def forward(self, x: Any, h_prev: Any) -> Any:
        super().forward(x, h_prev)
        _, h_prev, gates, _ = self.cache
        z, _, h_hat = np.split(gates, 3, axis=1)
        return z * h_prev + (1 - z) * h_hat  # torch.nn.GRU's rule; the book's is (1 - z) h + z h~


class GRUResetAfterProduct(scratchnn.GRU):
    def forward(self, x: Any, h_prev: Any) -> Any:
        Wx, Wh, b = self.params
        H = Wh.shape[0]
        a = x @ Wx + b
        z = 1 / (1 + np.exp(-(a[:, :H] + h_prev @ Wh[:, :H])))
        r = 1 / (1 + np.exp(-(a[:, H : 2 * H] + h_prev @ Wh[:, H : 2 * H])))
        h_hat = np.tanh(a[:, 2 * H :] + r * (h_prev @ Wh[:, 2 * H :]))  # torch's place for r
        super().forward(x, h_prev)
        return (1 - z) * h_prev + z * h_hat


class TimeGRUDropsCarriedGradient(scratchnn.TimeGRU):
    def backward(self, dhs: Any) -> Any:
        X, Hs, RH, G = self.cache
        Wx, Wh, _ = self.params
        T, N, H = RH.shape
        xs = X.reshape(T, N, -1)
        grads = [np.zeros_like(g) for g in self.grads]
        dxs = np.empty((N, T, Wx.shape[0]), dtype=dhs.dtype)
        dh = np.zeros((N, H), dtype=dhs.dtype)
        for t in reversed(range(T)):
            z, r, h_hat = np.split(G[t], 3, axis=1)
            h_prev, dh_t = Hs[t], dhs[:, t]  # should be dhs[:, t] + dh
            dt_h = dh_t * z * (1 - h_hat**2)
            dhr = dt_h @ Wh[:, 2 * H :].T
            dA = np.hstack((dh_t * (h_hat - h_prev) * z * (1 - z), dhr * h_prev * r * (1 - r), dt_h))
            dh = dh_t * (1 - z) + r * dhr + dA[:, : 2 * H] @ Wh[:, : 2 * H].T
            dWh = np.hstack((h_prev.T @ dA[:, : 2 * H], RH[t].T @ dt_h))
            grads = [grads[0] + xs[t].T @ dA, grads[1] + dWh, grads[2] + dA.sum(axis=0)]
            dxs[:, t] = dA @ Wx.T
        for own, g in zip(self.grads, grads, strict=True):
            own[...] = g
        self.dh = dh
        return dxs


# --- time-distributed layers and losses -----------------------------------------------------


class TimeEmbeddingTimeMajorBackward(scratchnn.TimeEmbedding):
    def backward(self, dout: Any) -> None:
        (W,) = self.params
        dW = self.grads[0]
        dW[...] = 0
        # rows of dout taken time-major (t, n) against ids taken batch-major (n, t)
        np.add.at(dW, self.idx.reshape(-1), dout.transpose(1, 0, 2).reshape(-1, W.shape[1]))


class TimeEmbeddingAssignsRows(scratchnn.TimeEmbedding):
    def backward(self, dout: Any) -> None:
        (W,) = self.params
        dW = self.grads[0]
        dW[...] = 0
        dW[self.idx.reshape(-1)] = dout.reshape(-1, W.shape[1])  # a repeated id keeps one row


class TimeAffineTimeMajorInputGradient(scratchnn.TimeAffine):
    def backward(self, dout: Any) -> Any:
        dx = super().backward(dout)
        N, T = self.shape
        return dx.reshape(T, N, -1).transpose(1, 0, 2)  # batch-major rows read back time-major


class TimeAffineBiasLastStep(scratchnn.TimeAffine):
    def backward(self, dout: Any) -> Any:
        dx = super().backward(dout)
        self.grads[1][...] = dout[:, -1].sum(axis=0)  # the last step's bias gradient only
        return dx


class TimeSoftmaxWithLossGradientAtIgnored(scratchnn.TimeSoftmaxWithLoss):
    def backward(self, dout: Any = 1) -> Any:
        ys, rows, labels, (N, T) = self.cache
        scale = dout / rows.size
        dx = ys * scale  # ignored positions are not zeroed
        dx[rows, labels] -= scale
        return dx.reshape(N, T, -1)


class TimeSoftmaxWithLossMeanOverAllPositions(scratchnn.TimeSoftmaxWithLoss):
    def forward(self, xs: Any, ts: Any) -> Any:
        loss = super().forward(xs, ts)
        kept = self.cache[1].size
        return loss * kept / (xs.shape[0] * xs.shape[1])  # divides by N*T, ignored ones included


class TimeSigmoidWithLossForgetsT(scratchnn.TimeSigmoidWithLoss):
    def backward(self, dout: Any = 1) -> Any:
        y, t = self.cache
        return (y - t) * dout / y.shape[0]  # 1/N only; the loss averages over N*T


class TimeDropoutRedrawsInBackward(scratchnn.TimeDropout):
    def backward(self, dout: Any) -> Any:
        if not self.train_flg:
            return dout.copy()
        keep = self.rng.random(dout.shape) > self.dropout_ratio  # a new mask
        return dout * keep / (1 - self.dropout_ratio)


class TimeDropoutNotInverted(scratchnn.TimeDropout):
    def forward(self, xs: Any) -> Any:
        out = super().forward(xs)
        if self.train_flg:
            self.mask = (self.mask != 0).astype(xs.dtype)  # kept units are not scaled up
            return xs * self.mask
        return out


class TimeBiLSTMBackwardNotReversed(scratchnn.TimeBiLSTM):
    def backward(self, dhs: Any) -> Any:
        H = self.H
        dxs = self.forward_lstm.backward(dhs[:, :, :H])
        return dxs + self.backward_lstm.backward(dhs[:, :, H:].copy())[:, ::-1]  # dhs half not reversed


# --- language models ------------------------------------------------------------------------


class SimpleRnnlmResetDoesNothing(scratchnn.SimpleRnnlm):
    def reset_state(self) -> None:
        pass  # the next call starts from the last call's hidden state


class RnnlmSkipsEmbeddingBackward(scratchnn.Rnnlm):
    def backward(self, dout: Any = 1) -> None:
        grad = self.loss_layer.backward(dout)
        for layer in reversed(self.layers[1:]):  # the embedding's gradient is never written
            grad = layer.backward(grad)


class BetterRnnlmDropoutAtTest(scratchnn.BetterRnnlm):
    def forward(self, xs: Any, ts: Any, train_flg: bool = True) -> Any:
        return super().forward(xs, ts, train_flg=True)  # train_flg=False is ignored


class BetterRnnlmCopiesTiedWeight(scratchnn.BetterRnnlm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        embed_W, affine_b = self.params[0], self.params[-1]
        self.layers[-1] = scratchnn.TimeAffine(embed_W.T.copy(), affine_b)  # untied: a copy
        self._collect()


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
        diagnosis=("only_last_step", "one_step_only"),
        family=True,
    ),
    Variant(
        "timernn-overwrites-weight-gradients",
        "TimeRNN",
        TimeRNNOverwritesWeightGradients,
        ("gradient",),
        "dWx, dWh and db are overwritten at each step instead of summed over time",
        family=True,
        diagnosis="weights_of_one_step",
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
    Variant(
        "lstm-gates-swapped-in-backward",
        "LSTM",
        LSTMGatesSwappedInBackward,
        ("gradient", "taylor"),
        "backward stacks the gate gradients as (i, g, f, o) where forward has (f, g, i, o)",
    ),
    Variant(
        "lstm-dc-misses-output-path",
        "LSTM",
        LSTMCellGradientMissesOutputPath,
        ("gradient", "finite_difference"),
        "ds = dc_next, without the dh_next * o * (1 - tanh(c_next)^2) term",
    ),
    Variant(
        "timelstm-drops-carried-dc",
        "TimeLSTM",
        TimeLSTMDropsCarriedCellGradient,
        ("gradient", "finite_difference"),
        "dc is not carried back through time",
        breaks=("N>1 · zero state · moderate · T>1", "N>1 · set_state · moderate · T>1"),
        holds=("N>1 · zero state · moderate · T=1", "N>1 · set_state · moderate · T=1"),
        diagnosis="only_last_step",
        family=True,
    ),
    Variant(
        "timelstm-overwrites-weight-gradients",
        "TimeLSTM",
        TimeLSTMOverwritesWeightGradients,
        ("gradient", "finite_difference"),
        "dWx, dWh and db are overwritten at each step instead of summed over time",
        breaks=("N>1 · zero state · moderate · T>1", "N>1 · set_state · moderate · T>1"),
        holds=("N>1 · zero state · moderate · T=1", "N>1 · set_state · moderate · T=1"),
        diagnosis="weights_of_one_step",
        family=True,
    ),
    Variant(
        "timelstm-set-state-forgets-cell",
        "TimeLSTM",
        TimeLSTMSetStateForgetsCell,
        ("forward",),
        "set_state(h, c) keeps h and drops c",
        breaks=("N>1 · set_state · moderate · T>1", "N>1 · carried state · moderate · T>1"),
        holds=("N>1 · zero state · moderate · T>1", "N=1 · zero state · moderate · T=1"),
    ),
    Variant(
        "gru-torch-update-rule",
        "GRU",
        GRUTorchUpdate,
        ("forward",),
        "h_next = z h_prev + (1 - z) h~ (torch.nn.GRU's rule) instead of (1 - z) h_prev + z h~",
    ),
    Variant(
        "gru-reset-after-product",
        "GRU",
        GRUResetAfterProduct,
        ("forward",),
        "the reset gate multiplies h_prev Whh (torch's place) instead of h_prev",
    ),
    Variant(
        "timegru-drops-carried-gradient",
        "TimeGRU",
        TimeGRUDropsCarriedGradient,
        ("gradient", "finite_difference"),
        "dh is not carried back through time",
        diagnosis=("only_last_step", "one_step_only"),
        family=True,
    ),
    Variant(
        "timeembedding-time-major-backward",
        "TimeEmbedding",
        TimeEmbeddingTimeMajorBackward,
        ("gradient", "finite_difference"),
        "dout's rows taken time-major against batch-major ids",
        breaks=("N>1",),
        holds=("N=1",),
        diagnosis="batch_time_mixed",
        family=True,
    ),
    Variant(
        "timeembedding-assigns-rows",
        "TimeEmbedding",
        TimeEmbeddingAssignsRows,
        ("gradient",),
        "dW[ids] = dout keeps one gradient of a repeated id",
        diagnosis="except_duplicates",
        family=True,
    ),
    Variant(
        "timeaffine-time-major-dx",
        "TimeAffine",
        TimeAffineTimeMajorInputGradient,
        ("gradient", "taylor"),
        "dxs computed batch-major and reshaped time-major",
        breaks=("N>1 · moderate",),
        holds=("N=1 · moderate",),
        diagnosis="batch_time_mixed",
        family=True,
    ),
    Variant(
        "timeaffine-bias-last-step",
        "TimeAffine",
        TimeAffineBiasLastStep,
        ("gradient",),
        "db sums the last step over the batch, not every step",
        diagnosis="one_step_only",
        family=True,
    ),
    Variant(
        "timesoftmaxloss-gradient-at-ignored",
        "TimeSoftmaxWithLoss",
        TimeSoftmaxWithLossGradientAtIgnored,
        ("gradient", "finite_difference"),
        "backward does not zero the positions labelled ignore_label",
        breaks=("N>1 · V>1 · indices · moderate",),
        holds=("N>1 · V>1 · one-hot · moderate", "N=1 · V>1 · one-hot · moderate"),
        diagnosis="except_masked",
        family=True,
    ),
    Variant(
        "timesoftmaxloss-mean-over-all-positions",
        "TimeSoftmaxWithLoss",
        TimeSoftmaxWithLossMeanOverAllPositions,
        ("forward",),
        "the loss divides by N*T, ignored positions included",
        breaks=("N>1 · V>1 · indices · moderate",),
        holds=("N>1 · V>1 · one-hot · moderate",),
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "timesigmoidloss-forgets-t",
        "TimeSigmoidWithLoss",
        TimeSigmoidWithLossForgetsT,
        ("gradient", "taylor"),
        "dxs divided by N only; the loss averages over N*T",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "timedropout-redraws-in-backward",
        "TimeDropout",
        TimeDropoutRedrawsInBackward,
        ("gradient", "contract"),
        "backward draws a new mask",
        breaks=("N>1 · train · moderate",),
        holds=("N>1 · test · moderate",),
        diagnosis="mask_redrawn",
        family=True,
    ),
    Variant(
        "timedropout-not-inverted",
        "TimeDropout",
        TimeDropoutNotInverted,
        ("forward",),
        "training keeps xs unscaled instead of xs / (1 - ratio)",
        breaks=("N>1 · train · moderate",),
        holds=("N>1 · test · moderate",),
        diagnosis="scaled",
    ),
    Variant(
        "timebilstm-backward-not-reversed",
        "TimeBiLSTM",
        TimeBiLSTMBackwardNotReversed,
        ("gradient", "finite_difference"),
        "the second LSTM's upstream gradient is not reversed in time",
        breaks=("N>1 · moderate · T>1",),
        holds=("N>1 · moderate · T=1", "N=1 · moderate · T=1"),
    ),
    Variant(
        "simplernnlm-reset-does-nothing",
        "SimpleRnnlm",
        SimpleRnnlmResetDoesNothing,
        ("contract", "finite_difference"),
        "reset_state() keeps the hidden state: each call starts where the last ended",
    ),
    Variant(
        "rnnlm-skips-embedding-backward",
        "Rnnlm",
        RnnlmSkipsEmbeddingBackward,
        ("gradient", "finite_difference"),
        "backward stops before the embedding: its gradient stays zero",
        diagnosis="zero",
    ),
    Variant(
        "betterrnnlm-dropout-at-test",
        "BetterRnnlm",
        BetterRnnlmDropoutAtTest,
        ("forward",),
        "forward(xs, ts, train_flg=False) still drops units",
    ),
    Variant(
        "betterrnnlm-copies-tied-weight",
        "BetterRnnlm",
        BetterRnnlmCopiesTiedWeight,
        ("contract", "gradient"),
        "the output layer gets a copy of embed_W.T, not the view: the weights are not tied",
    ),
)

CORRECT_ALTERNATIVES: tuple[Variant, ...] = ()
