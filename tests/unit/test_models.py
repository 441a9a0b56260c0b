"""TwoLayerNet: parameter lists, prediction, accuracy, gradients, float32 training, saving and loading."""

from __future__ import annotations

import io

import numpy as np
import pytest

from scratchnn.datasets import spiral
from scratchnn.layers import Affine
from scratchnn.models import TwoLayerNet
from scratchnn.optimizers import SGD
from scratchnn.serialization import save_params
from scratchnn.trainer import Trainer


def small_batch(dtype=np.float64):
    rng = np.random.default_rng(5)
    return rng.standard_normal((4, 2)).astype(dtype), np.array([0, 2, 1, 2])


def test_params_and_grads_are_collected_once_and_filled_in_place():
    model = TwoLayerNet(2, 5, 3, rng=0)
    params, grads = list(model.params), list(model.grads)
    layer_params = [p for layer in model.layers for p in layer.params]
    layer_grads = [g for layer in model.layers for g in layer.grads]
    assert [p.shape for p in params] == [(2, 5), (5,), (5, 3), (3,)]
    assert all(a is b for a, b in zip(params, layer_params, strict=True))
    assert all(a is b for a, b in zip(grads, layer_grads, strict=True))
    assert all(not np.any(g) for g in grads)

    x, t = small_batch()
    model.forward(x, t)
    model.backward()

    assert all(a is b for a, b in zip(model.grads, grads, strict=True))
    assert all(np.any(g) for g in model.grads)


def test_backward_matches_central_differences():
    model = TwoLayerNet(2, 4, 3, rng=1, weight_scale=1.0)
    x, t = small_batch()
    model.forward(x, t)
    dx = model.backward()
    h = 1e-6
    for param, grad in zip(model.params, model.grads, strict=True):
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + h
            up = float(model.forward(x, t))
            param[index] = saved - h
            down = float(model.forward(x, t))
            param[index] = saved
            numeric[index] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)
    numeric_dx = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[index] += h
        up = float(model.forward(shifted, t))
        shifted[index] -= 2 * h
        numeric_dx[index] = (up - float(model.forward(shifted, t))) / (2 * h)
    np.testing.assert_allclose(dx, numeric_dx, rtol=1e-5, atol=1e-9)


def test_predict_returns_one_score_per_class():
    model = TwoLayerNet(2, 5, 3, rng=0)
    scores = model.predict(np.zeros((7, 2)))
    assert scores.shape == (7, 3)
    assert scores.dtype == np.float64


def test_accuracy_with_index_and_one_hot_labels():
    model = TwoLayerNet(2, 5, 3, rng=0, weight_scale=1.0)
    x = np.random.default_rng(2).standard_normal((8, 2))
    predicted = model.predict(x).argmax(axis=1)
    labels = predicted.copy()
    labels[:3] = (labels[:3] + 1) % 3  # three of eight wrong
    assert model.accuracy(x, labels) == 5 / 8
    assert model.accuracy(x, np.eye(3)[labels]) == 5 / 8
    assert model.accuracy(x, predicted) == 1.0


def test_weights_come_from_the_seed_and_biases_start_at_zero():
    a, b = TwoLayerNet(2, 5, 3, rng=4), TwoLayerNet(2, 5, 3, rng=np.random.default_rng(4))
    for p, q in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.any(a.params[1])
    assert not np.any(a.params[3])
    assert not np.array_equal(TwoLayerNet(2, 5, 3, rng=5).params[0], a.params[0])


def test_float32_model_trains_in_float32():
    x, t = spiral.load_data(seed=1, dtype=np.float32)
    model = TwoLayerNet(2, 10, 3, rng=0, dtype=np.float32)
    trainer = Trainer(model, SGD(lr=1.0), rng=0, log=io.StringIO())
    trainer.fit(x, t, max_epoch=10, batch_size=30, eval_interval=10)

    assert x.dtype == np.float32
    assert t.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.params)
    assert all(g.dtype == np.float32 for g in model.grads)
    assert model.predict(x).dtype == np.float32
    assert model.forward(x, t).dtype == np.float32
    assert model.backward().dtype == np.float32
    assert trainer.loss_list[-1] < trainer.loss_list[0]


def test_save_and_load_round_trip(tmp_path):
    trained = TwoLayerNet(2, 5, 3, rng=0, weight_scale=1.0)
    trained.params[1][...] = [0.5, -0.5, 1.0, 2.0, 3.0]
    path = trained.save_params(tmp_path / "model.npz")
    other = TwoLayerNet(2, 5, 3, rng=1)
    arrays = list(other.params)

    other.load_params(path)

    assert all(a is b for a, b in zip(other.params, arrays, strict=True))  # loaded in place
    for p, q in zip(other.params, trained.params, strict=True):
        np.testing.assert_array_equal(p, q)
    x = np.random.default_rng(0).standard_normal((3, 2))
    np.testing.assert_array_equal(other.predict(x), trained.predict(x))
    # the optimizer and the layers still see the loaded values
    assert other.layers[0].params[0] is other.params[0]


def test_saved_file_is_a_plain_npz_without_pickles(tmp_path):
    model = TwoLayerNet(2, 5, 3, rng=0, dtype=np.float32)
    path = model.save_params(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["param_0", "param_1", "param_2", "param_3"]
        for i, param in enumerate(model.params):
            assert data[f"param_{i}"].dtype == np.float32
            np.testing.assert_array_equal(data[f"param_{i}"], param)


def test_load_refuses_parameters_of_another_shape(tmp_path):
    path = TwoLayerNet(2, 5, 3, rng=0).save_params(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"load_params: param_0 must be float64 of shape \(2, 4\)"):
        TwoLayerNet(2, 4, 3, rng=0).load_params(path)


def test_load_refuses_parameters_of_another_dtype(tmp_path):
    path = TwoLayerNet(2, 5, 3, rng=0, dtype=np.float32).save_params(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"load_params: param_0 must be float64"):
        TwoLayerNet(2, 5, 3, rng=0).load_params(path)


def test_load_refuses_a_file_with_another_number_of_parameters(tmp_path):
    layer = Affine(np.ones((2, 5)), np.zeros(5))
    path = save_params(layer.params, tmp_path / "affine.npz")
    with pytest.raises(ValueError, match=r"load_params: path must be a file with 4 parameters; got 2 arrays"):
        TwoLayerNet(2, 5, 3, rng=0).load_params(path)
