"""Models built from scratchnn layers."""

from scratchnn.models.rnnlm import BetterRnnlm, Rnnlm, SimpleRnnlm
from scratchnn.models.seq2seq import (
    AttentionDecoder,
    AttentionEncoder,
    AttentionSeq2seq,
    Decoder,
    Encoder,
    PeekyDecoder,
    PeekySeq2seq,
    Seq2seq,
)
from scratchnn.models.two_layer_net import TwoLayerNet
from scratchnn.models.word2vec import CBOW, SimpleCBOW, SimpleSkipGram, SkipGram

__all__ = [
    "CBOW",
    "AttentionDecoder",
    "AttentionEncoder",
    "AttentionSeq2seq",
    "BetterRnnlm",
    "Decoder",
    "Encoder",
    "PeekyDecoder",
    "PeekySeq2seq",
    "Rnnlm",
    "Seq2seq",
    "SimpleCBOW",
    "SimpleRnnlm",
    "SimpleSkipGram",
    "SkipGram",
    "TwoLayerNet",
]
