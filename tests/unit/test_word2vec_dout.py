"""The word2vec models check the upstream gradient of backward in their own name.

A model's ``backward(dout=1)`` hands dout to its loss layer; a dout that is not a scalar
used to be refused by that inner layer (``SoftmaxWithLoss.backward: dout must be a
scalar``), an error that names a class the caller never built.
"""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.models import CBOW, SimpleCBOW, SimpleSkipGram, SkipGram

CORPUS = np.array([0, 1, 2, 3, 1, 2, 0, 3, 2])


def one_hot_models() -> list[tuple[object, np.ndarray, np.ndarray]]:
    eye = np.eye(4)
    contexts_ids = np.array([[0, 2], [1, 3]])
    target_ids = np.array([1, 2])
    return [
        (SimpleCBOW(4, 3, rng=0), eye[contexts_ids], target_ids),
        (SimpleSkipGram(4, 3, rng=0), contexts_ids, eye[target_ids]),
    ]


def sampling_models() -> list[tuple[object, np.ndarray, np.ndarray]]:
    contexts, target = np.array([[0, 2], [1, 3]]), np.array([1, 2])
    return [
        (CBOW(4, 3, 1, CORPUS, rng=0), contexts, target),
        (SkipGram(4, 3, 1, CORPUS, rng=0), contexts, target),
    ]


@pytest.mark.parametrize("index", range(4))
def test_a_dout_that_is_not_a_scalar_is_refused_in_the_models_name(index: int) -> None:
    model, contexts, target = (*one_hot_models(), *sampling_models())[index]
    name = type(model).__name__
    model.forward(contexts, target)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=rf"^{name}\.backward: dout must be a scalar"):
        model.backward(np.ones(2))  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=rf"^{name}\.backward: dout must be a real scalar"):
        model.backward("1")  # type: ignore[attr-defined]
    model.backward(np.float64(2.0))  # type: ignore[attr-defined]  # a NumPy scalar is fine
