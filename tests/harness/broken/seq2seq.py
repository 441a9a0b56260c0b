"""Deliberately broken classes of the attention layers and sequence-to-sequence models (chapters 7 and 8).

Each subclasses the correct scratchnn class and changes one thing, the way the book's
chapters 7 and 8 go wrong when copied by hand: a softmax over the wrong axis, a sum
turned into a mean, one of the two paths into ``dhs`` dropped, the encoder's gradient not
summed over the decoder steps, the peeky or attention decoder forgetting that the
encoder's state reaches it by more than one way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnn
from scratchnn.functions import softmax
from tests.harness.broken.variant import Variant

# --- attention layers (section 8.1) ---------------------------------------------------------


class WeightSumMeanOverFeatures(scratchnn.WeightSum):
    def backward(self, dc: Any) -> Any:
        dhs, _ = super().backward(dc)
        hs, _ = self.cache
        da = np.mean(hs * dc[:, None, :], axis=2)  # should be the sum over H
        return dhs, da


class AttentionWeightSoftmaxOverBatch(scratchnn.AttentionWeight):
    def forward(self, hs: Any, h: Any) -> Any:
        super().forward(hs, h)
        s = np.sum(hs * h[:, None, :], axis=2)
        a = softmax(s.T).T  # over the batch axis instead of the time steps
        self.cache = (self.cache[0], self.cache[1], a)
        return a.copy()


class AttentionWeightSoftmaxBackwardWithoutSum(scratchnn.AttentionWeight):
    def backward(self, da: Any) -> Any:
        hs, h, a = self.cache
        ds = a * da  # forgets "- a * sum(a * da)": the Jacobian's off-diagonal part
        return ds[:, :, None] * h[:, None, :], np.sum(ds[:, :, None] * hs, axis=1)


class AttentionWeightMutatesDa(scratchnn.AttentionWeight):
    def backward(self, da: Any) -> Any:
        hs, h, a = self.cache
        da *= a  # reuses the caller's array as a buffer
        ds = da - a * np.sum(da, axis=1, keepdims=True)
        return ds[:, :, None] * h[:, None, :], np.sum(ds[:, :, None] * hs, axis=1)


class AttentionAveragesDh(scratchnn.Attention):
    def backward(self, dout: Any) -> Any:
        dhs0, da = self.weight_sum_layer.backward(dout)
        hs, h, a = self.attention_weight_layer.cache
        ds = a * (da - np.sum(a * da, axis=1, keepdims=True))
        dhs1 = ds[:, :, None] * h[:, None, :]
        dh = np.mean(ds[:, :, None] * hs, axis=1)  # should be the sum over the time steps
        return dhs0 + dhs1, dh


class AttentionDropsWeightPath(scratchnn.Attention):
    def backward(self, dout: Any) -> Any:
        dhs0, da = self.weight_sum_layer.backward(dout)
        _, dh = self.attention_weight_layer.backward(da)
        return dhs0, dh  # dhs1, the path through the attention weights, is forgotten


class AttentionDropsSumPath(scratchnn.Attention):
    def backward(self, dout: Any) -> Any:
        _, da = self.weight_sum_layer.backward(dout)
        dhs1, dh = self.attention_weight_layer.backward(da)
        return dhs1, dh  # dhs0, the path through the weighted sum, is forgotten


class _StepByStepTimeAttention(scratchnn.TimeAttention):
    """The book's TimeAttention: one Attention per decoder step, in a loop (the checks and the
    cached arrays come from scratchnn's own forward and backward)."""

    accumulates = True
    scale_scores = False

    def forward(self, hs_enc: Any, hs_dec: Any) -> Any:
        super().forward(hs_enc, hs_dec)
        hs_enc, hs_dec, _ = self.cache
        scale = 1 / np.sqrt(hs_enc.shape[2]) if self.scale_scores else 1.0
        self.layers = []
        out = np.empty_like(hs_dec)
        for t in range(hs_dec.shape[1]):
            layer = scratchnn.Attention()
            out[:, t] = layer.forward(hs_enc * scale, hs_dec[:, t]) / scale
            self.layers.append(layer)
        return out

    def backward(self, dout: Any) -> Any:
        super().backward(dout)  # refuses a malformed dout
        dhs_enc: Any = 0
        dhs_dec = np.empty_like(dout)
        for t, layer in enumerate(self.layers):
            dhs, dh = layer.backward(np.ascontiguousarray(dout[:, t]))
            dhs_enc = dhs_enc + dhs if self.accumulates else dhs
            dhs_dec[:, t] = dh
        return dhs_enc, dhs_dec


class TimeAttentionOverwritesDhsEnc(_StepByStepTimeAttention):
    accumulates = False  # dhs_enc = dhs: only the last decoder step's gradient survives


class TimeAttentionScaledScores(_StepByStepTimeAttention):
    scale_scores = True  # PyTorch's default 1/sqrt(H): not the book's attention


class TimeAttentionStepByStep(_StepByStepTimeAttention):
    """A correct alternative: the book's loop, summing each step's dhs into dhs_enc."""


# --- Seq2seq (chapter 7) ----------------------------------------------------------------------


class EncoderGradientToEveryStep(scratchnn.Encoder):
    def backward(self, dh: Any) -> None:
        N, T, H = self.hs_shape
        dhs = np.broadcast_to(dh[:, None, :], (N, T, H)).copy()  # dh belongs to the last step only
        self.embed.backward(self.lstm.backward(dhs))


class DecoderForgetsState(scratchnn.Decoder):
    def forward(self, xs: Any, h: Any) -> Any:
        xs, h = self._inputs(self._owner("forward"), xs, h)
        self.lstm.reset_state()  # should be self.lstm.set_state(h)
        self.forwarded = True
        self.score_shape = (xs.shape[0], xs.shape[1], self.vocab_size)
        return self._step(xs)


class Seq2seqSkipsEncoderBackward(scratchnn.Seq2seq):
    def backward(self, dout: float = 1) -> None:
        self.decoder.backward(self.softmax.backward(dout))  # the returned dh never reaches the encoder


class PeekyDecoderWithoutPeekGradient(scratchnn.PeekyDecoder):
    def backward(self, dscore: Any) -> Any:
        dscore = self._upstream(dscore)
        H = self.hidden_size
        dout = self.affine.backward(dscore)
        dx = self.lstm.backward(np.ascontiguousarray(dout[:, :, H:]))
        self.embed.backward(np.ascontiguousarray(dx[:, :, H:]))
        return self.lstm.dh.copy()  # forgets the h concatenated to every LSTM and Affine input


class PeekySeq2seqWithoutPeekGradient(scratchnn.PeekySeq2seq):
    decoder_type = PeekyDecoderWithoutPeekGradient


# --- attention seq2seq (chapter 8) --------------------------------------------------------------


class AttentionEncoderLastStepOnly(scratchnn.AttentionEncoder):
    def backward(self, dhs: Any) -> None:
        only_last = np.zeros_like(dhs)
        only_last[:, -1] = dhs[:, -1]  # as Encoder does: but every state went to the attention
        self.embed.backward(self.lstm.backward(only_last))


class AttentionDecoderSwapsHalves(scratchnn.AttentionDecoder):
    def backward(self, dscore: Any) -> Any:
        dscore = self._upstream(dscore)
        H = self.hidden_size
        dout = self.affine.backward(dscore)
        ddec_hs0, dc = dout[:, :, :H], dout[:, :, H:]  # forward concatenated (c, dec_hs), in that order
        denc_hs, ddec_hs1 = self.attention.backward(np.ascontiguousarray(dc))
        self.embed.backward(self.lstm.backward(ddec_hs0 + ddec_hs1))
        denc_hs[:, -1] += self.lstm.dh
        return denc_hs


class AttentionDecoderDropsStateGradient(scratchnn.AttentionDecoder):
    def backward(self, dscore: Any) -> Any:
        dscore = self._upstream(dscore)
        H = self.hidden_size
        dout = self.affine.backward(dscore)
        denc_hs, ddec_hs1 = self.attention.backward(np.ascontiguousarray(dout[:, :, :H]))
        self.embed.backward(self.lstm.backward(dout[:, :, H:] + ddec_hs1))
        return denc_hs  # without lstm.dh added to the last step: enc_hs[:, -1] also started the LSTM


class AttentionSeq2seqDropsStateGradient(scratchnn.AttentionSeq2seq):
    decoder_type = AttentionDecoderDropsStateGradient


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "weightsum-da-mean-over-features",
        "WeightSum",
        WeightSumMeanOverFeatures,
        ("gradient", "finite_difference"),
        "da = mean over H of hs * dc instead of the sum",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "attentionweight-softmax-over-batch",
        "AttentionWeight",
        AttentionWeightSoftmaxOverBatch,
        ("forward",),
        "the attention weights are a softmax over the batch axis instead of the time steps",
        diagnosis="normalised_over_wrong_axis",
        family=True,
    ),
    Variant(
        "attentionweight-softmax-backward-without-sum",
        "AttentionWeight",
        AttentionWeightSoftmaxBackwardWithoutSum,
        ("gradient", "taylor"),
        "softmax backward as ds = a * da, without subtracting a * sum(a * da)",
    ),
    Variant(
        "attentionweight-mutates-da",
        "AttentionWeight",
        AttentionWeightMutatesDa,
        ("contract",),
        "backward multiplies the caller's da in place",
    ),
    Variant(
        "attention-dh-averaged",
        "Attention",
        AttentionAveragesDh,
        ("gradient", "finite_difference"),
        "dh averaged over the time steps where it should be summed",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "attention-drops-weight-path",
        "Attention",
        AttentionDropsWeightPath,
        ("gradient", "taylor"),
        "dhs holds the WeightSum path only; the AttentionWeight path into hs is forgotten",
        family=True,
    ),
    Variant(
        "attention-drops-sum-path",
        "Attention",
        AttentionDropsSumPath,
        ("gradient",),
        "dhs holds the AttentionWeight path only; the WeightSum path into hs is forgotten",
        family=True,
    ),
    Variant(
        "timeattention-dhs-enc-not-accumulated",
        "TimeAttention",
        TimeAttentionOverwritesDhsEnc,
        ("gradient", "finite_difference"),
        "dhs_enc = dhs at each decoder step instead of += : only the last step's gradient is kept",
        diagnosis="one_step_only",
        family=True,
    ),
    Variant(
        "timeattention-scaled-scores",
        "TimeAttention",
        TimeAttentionScaledScores,
        ("forward",),
        "scores scaled by 1/sqrt(H) as PyTorch's scaled_dot_product_attention does by default",
    ),
    Variant(
        "encoder-gradient-to-every-step",
        "Encoder",
        EncoderGradientToEveryStep,
        ("gradient", "finite_difference"),
        "backward sends dh into every step's output instead of the last step's",
    ),
    Variant(
        "decoder-forgets-state",
        "Decoder",
        DecoderForgetsState,
        ("forward", "gradient"),
        "the LSTM starts from zeros: set_state(h) is never called",
    ),
    Variant(
        "seq2seq-skips-encoder-backward",
        "Seq2seq",
        Seq2seqSkipsEncoderBackward,
        ("gradient", "taylor"),
        "the decoder's dh never reaches the encoder: its gradients stay zero",
        diagnosis="zero",
    ),
    Variant(
        "peekydecoder-without-peek-gradient",
        "PeekyDecoder",
        PeekyDecoderWithoutPeekGradient,
        ("gradient", "finite_difference"),
        "dh = lstm.dh only: the h concatenated to every step's LSTM and Affine input is forgotten",
        family=True,
    ),
    Variant(
        "peekyseq2seq-without-peek-gradient",
        "PeekySeq2seq",
        PeekySeq2seqWithoutPeekGradient,
        ("gradient",),
        "its decoder's dh leaves out the peeky contributions: the encoder's gradients are wrong",
        family=True,
    ),
    Variant(
        "attentionencoder-last-step-only",
        "AttentionEncoder",
        AttentionEncoderLastStepOnly,
        ("gradient",),
        "backward keeps the gradient of the last hidden state only, as Encoder's would",
        diagnosis="one_step_only",
        family=True,
    ),
    Variant(
        "attentiondecoder-swaps-halves",
        "AttentionDecoder",
        AttentionDecoderSwapsHalves,
        ("gradient", "taylor"),
        "backward splits the Affine's input gradient as (dec_hs, c) where forward concatenated (c, dec_hs)",
        family=True,
    ),
    Variant(
        "attentiondecoder-drops-state-gradient",
        "AttentionDecoder",
        AttentionDecoderDropsStateGradient,
        ("gradient",),
        "lstm.dh is not added to denc_hs[:, -1], the state that started the decoder's LSTM",
        family=True,
    ),
    Variant(
        "attentionseq2seq-drops-state-gradient",
        "AttentionSeq2seq",
        AttentionSeq2seqDropsStateGradient,
        ("gradient",),
        "its decoder drops the gradient of the starting state: the encoder's last step misses it",
        family=True,
    ),
)

CORRECT_ALTERNATIVES: tuple[Variant, ...] = (
    Variant(
        "timeattention-step-by-step",
        "TimeAttention",
        TimeAttentionStepByStep,
        (),
        "the book's loop of Attention layers (a different order of the same sums)",
    ),
)
