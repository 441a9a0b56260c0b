"""The spiral dataset and the section-1.4 example that trains TwoLayerNet on it."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.datasets import spiral
from scratchnn.examples import spiral as example


def test_load_data_shapes_and_one_hot_labels():
    x, t = spiral.load_data()
    assert x.shape == (300, 2)
    assert t.shape == (300, 3)
    assert x.dtype == np.float64
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.sum(axis=1), np.ones(300))
    assert set(np.unique(t).tolist()) == {0.0, 1.0}
    # rows are ordered by class, 100 per class
    np.testing.assert_array_equal(t.argmax(axis=1), np.repeat([0, 1, 2], 100))


def test_points_lie_on_arms_of_radius_below_one():
    x, _ = spiral.load_data()
    radius = np.hypot(x[:, 0], x[:, 1])
    # point i of each class sits at radius i / 100
    np.testing.assert_allclose(radius, np.tile(np.arange(100) / 100, 3), atol=1e-12)


def test_load_data_is_deterministic_per_seed():
    x1, t1 = spiral.load_data(seed=3)
    x2, t2 = spiral.load_data(seed=3)
    x3, _ = spiral.load_data(seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(t1, t2)
    assert not np.array_equal(x1, x3)


def test_load_data_leaves_the_global_random_state_alone():
    before = np.random.get_state(legacy=False)  # noqa: NPY002 - the legacy global state is what we check
    spiral.load_data(seed=9)
    spiral.load_data(seed=None)
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    assert after["state"]["pos"] == before["state"]["pos"]
    np.testing.assert_array_equal(after["state"]["key"], before["state"]["key"])
    assert after["has_gauss"] == before["has_gauss"]


def test_load_data_options():
    x, t = spiral.load_data(n_per_class=5, n_classes=4, dtype=np.float32)
    assert x.shape == (20, 2)
    assert t.shape == (20, 4)
    assert x.dtype == np.float32
    assert t.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"n_per_class": 0}, "n_per_class"), ({"n_classes": -1}, "n_classes")]
)
def test_load_data_refuses_non_positive_sizes(kwargs, name):
    with pytest.raises(ValueError, match=rf"spiral\.load_data: {name} must be a positive integer"):
        spiral.load_data(**kwargs)


def test_example_train_reaches_the_books_accuracy(capsys):
    result = example.train()
    assert result.accuracy >= 0.9
    assert result.final_loss < 0.3
    assert result.plot is None
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 30  # 300 epochs x 10 iterations, a line every 100
    assert "accuracy" in lines[-1]


def test_example_main_without_plot_exits_zero(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert example.main(["--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "final: training accuracy" in out
    assert "loss curve saved" not in out
    assert list(tmp_path.iterdir()) == []


def test_example_main_fails_below_the_minimum_accuracy(capsys):
    assert example.main(["--no-plot", "--epochs", "1", "--min-accuracy", "0.99"]) == 1
    assert "accuracy below 0.99" in capsys.readouterr().err


def test_example_main_ends_with_its_final_line_after_saving_the_plot(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert example.main(["--plot", "curve.png"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "loss curve saved to curve.png"
    assert lines[-1].startswith("final: training accuracy ")
