"""scratchnn: the layers of *Deep Learning from Scratch 2* in NumPy, with the book's protocol.

Every node and layer has ``params`` and ``grads`` (parallel lists of arrays),
``forward(*inputs)`` and ``backward(dout)``; gradients are written in place.
The classes are importable from here and from their modules:
``scratchnn.nodes`` and ``scratchnn.layers`` (chapter 1, plus Embedding and
Dropout), ``scratchnn.negative_sampling`` (chapter 4), ``scratchnn.time_layers``
(chapters 5-6), ``scratchnn.attention`` (chapter 8) and ``scratchnn.models``.
"""

from scratchnn.attention import Attention, AttentionWeight, TimeAttention, WeightSum
from scratchnn.layers import (
    Affine,
    Dropout,
    Embedding,
    MeanSquaredError,
    ReLU,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
)
from scratchnn.models import (
    CBOW,
    AttentionDecoder,
    AttentionEncoder,
    AttentionSeq2seq,
    BetterRnnlm,
    Decoder,
    Encoder,
    PeekyDecoder,
    PeekySeq2seq,
    Rnnlm,
    Seq2seq,
    SimpleCBOW,
    SimpleRnnlm,
    SimpleSkipGram,
    SkipGram,
    TwoLayerNet,
)
from scratchnn.negative_sampling import EmbeddingDot, NegativeSamplingLoss, UnigramSampler
from scratchnn.nodes import Add, Branch, MatMul, Mul, Repeat, Sum
from scratchnn.time_layers import (
    GRU,
    LSTM,
    RNN,
    TimeAffine,
    TimeBiLSTM,
    TimeDropout,
    TimeEmbedding,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
)

__version__ = "0.2.0"

__all__ = [
    "CBOW",
    "GRU",
    "LSTM",
    "RNN",
    "Add",
    "Affine",
    "Attention",
    "AttentionDecoder",
    "AttentionEncoder",
    "AttentionSeq2seq",
    "AttentionWeight",
    "BetterRnnlm",
    "Branch",
    "Decoder",
    "Dropout",
    "Embedding",
    "EmbeddingDot",
    "Encoder",
    "MatMul",
    "MeanSquaredError",
    "Mul",
    "NegativeSamplingLoss",
    "PeekyDecoder",
    "PeekySeq2seq",
    "ReLU",
    "Repeat",
    "Rnnlm",
    "Seq2seq",
    "Sigmoid",
    "SigmoidWithLoss",
    "SimpleCBOW",
    "SimpleRnnlm",
    "SimpleSkipGram",
    "SkipGram",
    "Softmax",
    "SoftmaxWithLoss",
    "Sum",
    "Tanh",
    "TimeAffine",
    "TimeAttention",
    "TimeBiLSTM",
    "TimeDropout",
    "TimeEmbedding",
    "TimeGRU",
    "TimeLSTM",
    "TimeRNN",
    "TimeSigmoidWithLoss",
    "TimeSoftmaxWithLoss",
    "TwoLayerNet",
    "UnigramSampler",
    "WeightSum",
]
