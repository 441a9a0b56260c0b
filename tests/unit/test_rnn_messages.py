"""Errors of the chapter 5-6 models and of TimeBiLSTM name what the caller passed.

- A language model's ``backward(dout=1)`` hands dout to its TimeSoftmaxWithLoss; a dout that
  is not a scalar used to be refused by that inner layer (``TimeSoftmaxWithLoss.backward:
  dout must be a scalar``), naming a class the caller never built.
- TimeBiLSTM(Wx1, Wh1, b1, Wx2, Wh2, b2) checked each triple with the messages of TimeLSTM,
  so a bad Wh2 was reported as ``Wh``: which of the two LSTMs was meant did not show.
"""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.models import BetterRnnlm, Rnnlm, SimpleRnnlm
from scratchnn.time_layers import TimeBiLSTM

XS = np.array([[0, 1, 2], [3, 2, 1]])
TS = np.array([[1, 2, 3], [2, 1, -1]])


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm, BetterRnnlm])
def test_a_dout_that_is_not_a_scalar_is_refused_in_the_models_name(cls: type) -> None:
    model = cls(4, 3, 3, rng=0)
    name = cls.__name__
    model.forward(XS, TS)
    with pytest.raises(ValueError, match=rf"^{name}\.backward: dout must be a scalar"):
        model.backward(np.ones(2))
    with pytest.raises(TypeError, match=rf"^{name}\.backward: dout must be a real scalar"):
        model.backward("1")
    model.backward(np.float64(2.0))  # a NumPy scalar is fine


def _bilstm_weights(D: int, H: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = [(D, 4 * H), (H, 4 * H), (4 * H,)] * 2
    return [rng.standard_normal(shape) for shape in shapes]


@pytest.mark.parametrize(
    ("index", "name"), [(0, "Wx1"), (1, "Wh1"), (2, "b1"), (3, "Wx2"), (4, "Wh2"), (5, "b2")]
)
def test_time_bilstm_names_the_weight_of_the_wrong_shape(index: int, name: str) -> None:
    weights = _bilstm_weights(3, 2)
    weights[index] = weights[index][np.newaxis]
    with pytest.raises(ValueError, match=rf"^TimeBiLSTM\.__init__: {name} must be"):
        TimeBiLSTM(*weights)


@pytest.mark.parametrize(("index", "name"), [(2, "b1"), (5, "b2")])
def test_time_bilstm_names_the_bias_that_does_not_match(index: int, name: str) -> None:
    weights = _bilstm_weights(3, 2)
    weights[index] = np.zeros(9)
    with pytest.raises(ValueError, match=rf"^TimeBiLSTM\.__init__: {name} must be of shape \(8,\)"):
        TimeBiLSTM(*weights)
