"""Trainer, clip_grads and remove_duplicate."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from scratchnn.datasets import spiral
from scratchnn.models import TwoLayerNet
from scratchnn.optimizers import SGD
from scratchnn.trainer import Trainer, clip_grads, remove_duplicate

# --- clip_grads ---


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grads_scales_in_place_to_the_joint_norm(dtype):
    g1 = np.array([3.0, 0.0], dtype=dtype)
    g2 = np.array([[0.0], [4.0]], dtype=dtype)  # joint norm sqrt(9 + 16) = 5
    grads = [g1, g2]

    norm = clip_grads(grads, max_norm=1.0)

    assert norm == pytest.approx(5.0, rel=1e-15)
    assert grads[0] is g1
    assert grads[1] is g2
    assert g1.dtype == dtype
    np.testing.assert_allclose(g1, [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(g2, [[0.0], [0.8]], rtol=1e-6)
    assert math.sqrt(float(np.sum(g1**2) + np.sum(g2**2))) == pytest.approx(1.0, rel=1e-6)


def test_clip_grads_leaves_small_gradients_alone():
    g1, g2 = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    assert clip_grads([g1, g2], max_norm=10.0) == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_array_equal(g1, [3.0, 0.0])
    np.testing.assert_array_equal(g2, [[0.0], [4.0]])


@pytest.mark.parametrize("max_norm", [0.0, -1.0, float("inf"), float("nan")])
def test_clip_grads_refuses_a_bad_max_norm(max_norm):
    with pytest.raises(ValueError, match=r"clip_grads: max_norm must be a positive finite number"):
        clip_grads([np.ones(2)], max_norm)


# --- remove_duplicate ---


def test_remove_duplicate_merges_a_shared_array_and_sums_its_grads():
    W, b = np.ones((2, 2)), np.zeros(2)
    gW1, gb, gW2 = np.full((2, 2), 1.0), np.full(2, 5.0), np.full((2, 2), 2.0)
    params, grads = [W, b, W], [gW1, gb, gW2]
    before = [g.copy() for g in grads]

    unique_params, unique_grads = remove_duplicate(params, grads)

    assert len(unique_params) == 2
    assert unique_params[0] is W
    assert unique_params[1] is b
    np.testing.assert_array_equal(unique_grads[0], np.full((2, 2), 3.0))
    assert unique_grads[0] is not gW1
    assert unique_grads[0] is not gW2
    assert unique_grads[1] is gb
    # the model's own lists and arrays are untouched
    assert params == [W, b, W]
    assert grads[0] is gW1
    assert grads[2] is gW2
    for grad, copy in zip(grads, before, strict=True):
        np.testing.assert_array_equal(grad, copy)


def test_remove_duplicate_keeps_equal_valued_distinct_arrays():
    W1, W2 = np.ones((2, 2)), np.ones((2, 2))
    g1, g2 = np.full((2, 2), 1.0), np.full((2, 2), 2.0)
    unique_params, unique_grads = remove_duplicate([W1, W2], [g1, g2])
    assert len(unique_params) == 2
    assert unique_params[0] is W1
    assert unique_params[1] is W2
    assert unique_grads[0] is g1
    assert unique_grads[1] is g2


def test_remove_duplicate_refuses_lists_of_different_lengths():
    with pytest.raises(ValueError, match=r"remove_duplicate: grads must be a list parallel to params"):
        remove_duplicate([np.ones(2), np.ones(2)], [np.ones(2)])


# --- Trainer.fit ---


def spiral_run(seed: int, log: io.StringIO | None = None, rng=None, **fit_kwargs):
    x, t = spiral.load_data(seed=1)
    model = TwoLayerNet(2, 10, 3, rng=seed)
    trainer = Trainer(model, SGD(lr=1.0), rng=seed if rng is None else rng, log=log or io.StringIO())
    kwargs = {"max_epoch": 20, "batch_size": 30, "eval_interval": 10, **fit_kwargs}
    trainer.fit(x, t, **kwargs)
    return trainer, model, x, t


def test_fit_reduces_the_loss_on_spiral_data():
    trainer, model, x, t = spiral_run(seed=0)
    assert len(trainer.loss_list) == 20 * 10 // 10
    assert trainer.step == 200
    assert all(math.isfinite(loss) for loss in trainer.loss_list)
    assert trainer.loss_list[-1] < 0.9 * trainer.loss_list[0]
    assert float(model.forward(x, t)) < trainer.loss_list[0]


def test_fit_with_the_same_seed_is_reproducible_and_leaves_the_global_state_alone():
    before = np.random.get_state(legacy=False)  # noqa: NPY002 - the legacy global state is what we check
    first, _, _, _ = spiral_run(seed=7)
    second, _, _, _ = spiral_run(seed=7)
    other, _, _, _ = spiral_run(seed=7, rng=np.random.default_rng(8))
    after = np.random.get_state(legacy=False)  # noqa: NPY002

    assert first.loss_list == second.loss_list
    assert other.loss_list != first.loss_list  # only the shuffling differs
    assert after["state"]["pos"] == before["state"]["pos"]
    np.testing.assert_array_equal(after["state"]["key"], before["state"]["key"])
    assert after["has_gauss"] == before["has_gauss"]


def test_fit_draws_its_shuffles_from_the_injected_generator():
    rng = np.random.default_rng(3)
    untouched = np.random.default_rng(3).bit_generator.state
    trainer, _, _, _ = spiral_run(seed=0, rng=rng, max_epoch=2)
    assert trainer.rng is rng
    assert rng.bit_generator.state != untouched


def test_fit_prints_progress_lines_to_the_log_stream(capsys):
    log = io.StringIO()
    x, t = spiral.load_data(seed=1)
    model = TwoLayerNet(2, 10, 3, rng=0)
    trainer = Trainer(model, SGD(lr=1.0), rng=0, log=log)
    trainer.fit(x, t, max_epoch=2, batch_size=30, eval_interval=5, metrics={"acc": lambda: 0.25})

    lines = log.getvalue().splitlines()
    assert len(lines) == 4  # 2 epochs x 10 iterations, a line every 5
    assert lines[0].startswith("| epoch 1 | iter 5 / 10 |")
    assert lines[-1].startswith("| epoch 2 | iter 10 / 10 |")
    assert all("loss " in line and "acc 0.2500" in line for line in lines)
    assert capsys.readouterr().out == ""


def test_fit_history_has_steps_losses_and_metrics():
    x, t = spiral.load_data(seed=1)
    model = TwoLayerNet(2, 10, 3, rng=0)
    trainer = Trainer(model, SGD(lr=1.0), rng=0, log=io.StringIO())
    metrics = {"accuracy": lambda: model.accuracy(x, t)}
    trainer.fit(x, t, max_epoch=3, batch_size=30, eval_interval=10, metrics=metrics)
    trainer.fit(x, t, max_epoch=1, batch_size=30, eval_interval=10, metrics=metrics)  # continues

    assert [point["step"] for point in trainer.history] == [10, 20, 30, 40]
    assert [point["epoch"] for point in trainer.history] == [1, 2, 3, 1]
    assert [point["loss"] for point in trainer.history] == trainer.loss_list
    for point in trainer.history:
        assert 0.0 <= point["accuracy"] <= 1.0
    assert trainer.history[-1]["accuracy"] == model.accuracy(x, t)


@pytest.mark.parametrize(("max_grad", "bounded"), [(1e-3, True), (None, False)])
def test_fit_with_gradient_clipping_bounds_every_step(max_grad, bounded):
    """With SGD(lr=1) each clipped step moves the parameters by at most max_grad in joint norm."""
    x, t = spiral.load_data(seed=1)
    model = TwoLayerNet(2, 10, 3, rng=0, weight_scale=1.0)
    before = [p.copy() for p in model.params]
    trainer = Trainer(model, SGD(lr=1.0), rng=0, log=io.StringIO())
    trainer.fit(x, t, max_epoch=1, batch_size=30, eval_interval=None, max_grad=max_grad)
    moved = math.sqrt(sum(float(np.sum((p - q) ** 2)) for p, q in zip(model.params, before, strict=True)))
    assert trainer.step == 10
    assert (moved <= 10 * 1e-3 * (1 + 1e-9)) is bounded


def test_fit_with_a_shared_weight_updates_it_once_with_the_summed_gradient():
    class Tied:
        """loss = 0.5 * (w0^2 + w0^2): the same array listed twice, each copy with gradient w0."""

        def __init__(self):
            self.w = np.array([2.0])
            self.params = [self.w, self.w]
            self.grads = [np.zeros(1), np.zeros(1)]

        def forward(self, x, t):
            return 0.5 * float(self.w[0] ** 2) * 2

        def backward(self, dout=1):
            for g in self.grads:
                g[...] = self.w

    model = Tied()
    Trainer(model, SGD(lr=0.1), rng=0, log=io.StringIO()).fit(
        np.zeros((1, 1)), np.zeros(1), max_epoch=1, batch_size=1, eval_interval=None
    )
    assert model.w[0] == pytest.approx(2.0 - 0.1 * (2.0 + 2.0), rel=1e-15)


def test_save_plot_writes_a_png(tmp_path):
    trainer, _, _, _ = spiral_run(seed=0, max_epoch=2)
    path = trainer.save_plot(tmp_path / "loss.png", ylim=(0.0, 2.0))
    assert path == tmp_path / "loss.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_fit_refuses_a_batch_larger_than_the_data():
    trainer = Trainer(TwoLayerNet(2, 3, 3, rng=0), SGD(), rng=0, log=io.StringIO())
    x, t = spiral.load_data(n_per_class=2)
    with pytest.raises(
        ValueError, match=r"Trainer\.fit: batch_size must be at most the number of samples \(6\)"
    ):
        trainer.fit(x, t, batch_size=7)


def test_fit_refuses_x_and_t_of_different_lengths():
    trainer = Trainer(TwoLayerNet(2, 3, 3, rng=0), SGD(), rng=0, log=io.StringIO())
    x, t = spiral.load_data(n_per_class=4)
    with pytest.raises(ValueError, match=r"Trainer\.fit: t .*as many samples as x"):
        trainer.fit(x, t[:-1], batch_size=2)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_epoch": 0}, "max_epoch"),
        ({"batch_size": 0}, "batch_size"),
        ({"eval_interval": -1}, "eval_interval"),
    ],
)
def test_fit_refuses_non_positive_counts(kwargs, name):
    trainer = Trainer(TwoLayerNet(2, 3, 3, rng=0), SGD(), rng=0, log=io.StringIO())
    x, t = spiral.load_data(n_per_class=4)
    with pytest.raises(ValueError, match=rf"Trainer\.fit: {name} must be a positive integer"):
        trainer.fit(x, t, **kwargs)


def test_fit_refuses_non_arrays():
    trainer = Trainer(TwoLayerNet(2, 3, 3, rng=0), SGD(), rng=0, log=io.StringIO())
    with pytest.raises(TypeError, match=r"Trainer\.fit: x and t must be numpy arrays"):
        trainer.fit([[0.0, 1.0]], np.array([0]))
