"""Models built from scratchnn layers."""

from scratchnn.models.two_layer_net import TwoLayerNet
from scratchnn.models.word2vec import CBOW, SimpleCBOW, SimpleSkipGram, SkipGram

__all__ = ["CBOW", "SimpleCBOW", "SimpleSkipGram", "SkipGram", "TwoLayerNet"]
