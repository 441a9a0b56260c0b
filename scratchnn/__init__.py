"""scratchnn: the layers of *Deep Learning from Scratch 2* in NumPy, with the book's protocol.

Every node and layer has ``params`` and ``grads`` (parallel lists of arrays),
``forward(*inputs)`` and ``backward(dout)``; gradients are written in place.
The classes are importable from here and from their modules
(``scratchnn.nodes``, ``scratchnn.layers``, ``scratchnn.models``).
"""

from scratchnn.layers import (
    Affine,
    MeanSquaredError,
    ReLU,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
)
from scratchnn.models import TwoLayerNet
from scratchnn.nodes import Add, Branch, MatMul, Mul, Repeat, Sum

__version__ = "0.1.0"

__all__ = [
    "Add",
    "Affine",
    "Branch",
    "MatMul",
    "MeanSquaredError",
    "Mul",
    "ReLU",
    "Repeat",
    "Sigmoid",
    "SigmoidWithLoss",
    "Softmax",
    "SoftmaxWithLoss",
    "Sum",
    "Tanh",
    "TwoLayerNet",
]
