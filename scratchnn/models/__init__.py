"""Models built from scratchnn layers."""

from scratchnn.models.two_layer_net import TwoLayerNet

__all__ = ["TwoLayerNet"]
