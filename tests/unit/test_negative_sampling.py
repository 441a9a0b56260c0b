"""EmbeddingDot, UnigramSampler and NegativeSamplingLoss: by hand, against torch, sampling distribution."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from scratchnn.layers import SigmoidWithLoss
from scratchnn.negative_sampling import EmbeddingDot, NegativeSamplingLoss, UnigramSampler

FLOATS = (np.float32, np.float64)
TOLERANCE = {np.float32: 2e-6, np.float64: 1e-13}


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


# --- EmbeddingDot ---------------------------------------------------------------------------


def test_embedding_dot_by_hand():
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    layer = EmbeddingDot(W)
    h = np.array([[3.0, 4.0], [1.0, -1.0], [2.0, 5.0]])
    idx = np.array([1, 2, 1])
    # scores: [0*3 + 2*4, 1*1 + 1*(-1), 0*2 + 2*5]
    np.testing.assert_array_equal(layer.forward(h, idx), [8.0, 0.0, 10.0])
    dh = layer.backward(np.array([1.0, 2.0, -1.0]))
    np.testing.assert_array_equal(dh, [[0.0, 2.0], [2.0, 2.0], [0.0, -2.0]])  # dout[n] * W[idx[n]]
    # dW[1] = 1 * h[0] - 1 * h[2] = [1, -1]; dW[2] = 2 * h[1] = [2, -2]
    np.testing.assert_array_equal(layer.grads[0], [[0.0, 0.0], [1.0, -1.0], [2.0, -2.0]])


@pytest.mark.parametrize("dtype", FLOATS)
def test_embedding_dot_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 4)).astype(dtype)
    h = rng.standard_normal((9, 4)).astype(dtype)
    idx = rng.integers(0, 6, 9)
    dout = rng.standard_normal(9).astype(dtype)
    layer = EmbeddingDot(W)
    out = layer.forward(h, idx)
    dh = layer.backward(dout)

    tW, th = torch.tensor(W, requires_grad=True), torch.tensor(h, requires_grad=True)
    reference = (tW[torch.from_numpy(idx)] * th).sum(dim=1)
    reference.backward(torch.from_numpy(dout))
    tol = TOLERANCE[dtype]
    assert out.dtype == dh.dtype == dtype
    np.testing.assert_allclose(out, reference.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dh, th.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads[0], tW.grad.numpy(), rtol=tol, atol=tol)


def test_embedding_dot_refuses_mismatched_input():
    layer = EmbeddingDot(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"EmbeddingDot\.forward: h must be of shape \(N, 3\)"):
        layer.forward(np.ones((2, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"EmbeddingDot\.forward: idx must be of shape \(2,\)"):
        layer.forward(np.ones((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"EmbeddingDot\.forward: idx must be indices in \[0, 5\)"):
        layer.forward(np.ones((2, 3)), np.array([0, -1]))
    with pytest.raises(TypeError, match=r"EmbeddingDot\.forward: h must have the dtype of W"):
        layer.forward(np.ones((2, 3), dtype=np.float32), np.array([0, 1]))


# --- UnigramSampler -----------------------------------------------------------------------------


def test_word_p_is_counts_to_the_power_normalised():
    sampler = UnigramSampler(np.array([0, 0, 0, 1, 1, 2]), 0.75, 2, rng=0)
    weights = [3**0.75, 2**0.75, 1.0]
    assert sampler.vocab_size == 3
    np.testing.assert_allclose(sampler.word_p, [w / sum(weights) for w in weights], rtol=1e-15)


def test_a_word_that_never_occurs_has_probability_zero_and_is_never_drawn():
    sampler = UnigramSampler(np.array([0, 2, 2, 3]), 1.0, 4, rng=1)
    assert sampler.vocab_size == 4
    np.testing.assert_array_equal(sampler.word_p, [0.25, 0.0, 0.5, 0.25])
    sample = sampler.get_negative_sample(np.array([0, 1, 2, 3] * 500))
    assert sample.dtype == np.int64
    assert sample.shape == (2000, 4)
    assert not np.any(sample == 1)


def test_a_row_never_contains_its_own_target():
    rng = np.random.default_rng(4)
    corpus = rng.zipf(1.3, 3000) % 40
    sampler = UnigramSampler(corpus, 0.75, 5, rng=5)
    target = rng.integers(0, sampler.vocab_size, 4000)
    target = target[sampler.word_p[target] > 0]
    sample = sampler.get_negative_sample(target)
    assert not np.any(sample == target[:, None])
    assert sample.min() >= 0
    assert sample.max() < sampler.vocab_size


@pytest.mark.parametrize("target_word", [0, 2, 4])
def test_every_column_follows_p_without_the_target(target_word):
    """Each column is an independent draw from word_p with the target removed and renormalised."""
    corpus = np.repeat(np.arange(5), [50, 1, 20, 0, 9])  # word 3 never occurs
    sampler = UnigramSampler(corpus, 0.75, 3, rng=6)
    rows = 30000
    sample = sampler.get_negative_sample(np.full(rows, target_word))
    expected = sampler.word_p.copy()
    expected[target_word] = 0
    expected /= expected.sum()
    for column in range(3):
        frequency = np.bincount(sample[:, column], minlength=5) / rows
        # five binomial standard deviations (plus a little for expected == 0)
        bound = 5 * np.sqrt(expected * (1 - expected) / rows) + 1e-12
        assert np.all(np.abs(frequency - expected) <= bound), (column, frequency, expected)
    # columns are drawn independently: the pair (column 0, column 1) has the product distribution
    pair = np.bincount(sample[:, 0] * 5 + sample[:, 1], minlength=25) / rows
    product = np.outer(expected, expected).ravel()
    assert np.all(np.abs(pair - product) <= 5 * np.sqrt(product * (1 - product) / rows) + 1e-12)


def test_one_draw_of_the_generator_per_call():
    generator = np.random.default_rng(8)
    sampler = UnigramSampler(np.array([0, 1, 2, 2]), 0.75, 4, rng=generator)
    assert sampler.rng is generator
    twin = copy.deepcopy(generator)
    sampler.get_negative_sample(np.array([0, 1, 2]))
    twin.random((3, 4))
    assert generator.bit_generator.state == twin.bit_generator.state


class FixedDraws:
    """Stands in for the Generator: every draw is the same value."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self, shape):
        return np.full(shape, self.value)


@pytest.mark.parametrize("value", [0.0, np.nextafter(1.0, 0.0)])
def test_the_ends_of_the_unit_interval_give_valid_words(value):
    corpus = np.repeat(np.arange(5), [3, 0, 5, 1, 2])  # id 1 never occurs
    sampler = UnigramSampler(corpus, 0.75, 2, rng=0)
    sampler.rng = FixedDraws(value)  # type: ignore[assignment]
    target = np.array([0, 1, 2, 3, 4])
    sample = sampler.get_negative_sample(target)
    assert not np.any(sample == target[:, None])
    assert np.all(sampler.word_p[sample] > 0)
    if value == 0.0:  # the first word of nonzero probability other than the target
        np.testing.assert_array_equal(sample[:, 0], [2, 0, 0, 0, 0])
    else:  # the last one
        np.testing.assert_array_equal(sample[:, 0], [4, 4, 4, 4, 3])


def test_a_target_with_no_other_word_to_draw_is_refused():
    sampler = UnigramSampler(np.array([1, 1, 1]), 0.75, 2, rng=0)  # id 0 never occurs
    np.testing.assert_array_equal(sampler.get_negative_sample(np.array([0])), [[1, 1]])
    with pytest.raises(ValueError, match="a word with some other word to sample"):
        sampler.get_negative_sample(np.array([0, 1]))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"power": 0.0}, ValueError, "power must be a positive finite number"),
        ({"power": -1}, ValueError, "power must be a positive finite number"),
        ({"power": float("inf")}, ValueError, "power must be a positive finite number"),
        ({"power": float("nan")}, ValueError, "power must be a positive finite number"),
        ({"sample_size": 0}, ValueError, "sample_size must be a positive integer"),
        ({"corpus": np.array([], dtype=np.int64)}, ValueError, "corpus must be a non-empty 1-D"),
        ({"corpus": np.array([0.0, 1.0])}, TypeError, "corpus must be an array of integer"),
        ({"corpus": np.array([0, -2])}, ValueError, "corpus must be non-negative word ids"),
    ],
)
def test_sampler_refuses_bad_arguments(kwargs, error, message):
    arguments = {"corpus": np.array([0, 1, 2]), "power": 0.75, "sample_size": 2, **kwargs}
    with pytest.raises(error, match=rf"UnigramSampler\.__init__: {message}"):
        UnigramSampler(arguments.pop("corpus"), **arguments)


def test_sampler_refuses_targets_out_of_range():
    sampler = UnigramSampler(np.array([0, 1, 2]), 0.75, 2, rng=0)
    owner = r"UnigramSampler\.get_negative_sample"
    with pytest.raises(ValueError, match=rf"{owner}: target must be indices in \[0, 3\)"):
        sampler.get_negative_sample(np.array([0, 3]))
    with pytest.raises(ValueError, match=rf"{owner}: target must be indices in \[0, 3\)"):
        sampler.get_negative_sample(np.array([-1]))
    with pytest.raises(TypeError, match=rf"{owner}: target must be an array of integer indices"):
        sampler.get_negative_sample(np.array([1.0]))
    with pytest.raises(ValueError, match=rf"{owner}: target must be a 1-D array"):
        sampler.get_negative_sample(np.array([[1]]))


# --- NegativeSamplingLoss ------------------------------------------------------------------------


def with_negatives(layer: NegativeSamplingLoss, negatives_of):
    """Replace the sampler's method on the instance, as the verification harness does; log the calls."""
    calls = []

    def get_negative_sample(target):
        calls.append(target.copy())
        return negatives_of(target)

    layer.sampler.get_negative_sample = get_negative_sample  # type: ignore[method-assign]
    return calls


def test_loss_by_hand_with_known_negatives():
    W = np.array([[0.5, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    corpus = np.array([0, 1, 2, 3])
    layer = NegativeSamplingLoss(W, corpus, sample_size=2, rng=0)
    negatives = np.array([[2, 3], [0, 0]])
    calls = with_negatives(layer, lambda target: negatives)
    h = np.array([[1.0, 2.0], [2.0, -1.0]])
    target = np.array([1, 2])

    loss = layer.forward(h, target)

    # row 0: target 1 scores 2, negatives 2 and 3 score 3 and -1
    # row 1: target 2 scores 1, negative 0 (twice) scores 1
    row0 = -log_sigmoid(2) - log_sigmoid(-3) - log_sigmoid(1)
    row1 = -log_sigmoid(1) - 2 * log_sigmoid(-1)
    assert loss == pytest.approx((row0 + row1) / 2, rel=1e-14)
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], target)


def book_style_loss(W, h, target, negatives, dout):
    """The book's structure: one EmbeddingDot and one SigmoidWithLoss per score, sharing W."""
    dots = [EmbeddingDot(W) for _ in range(negatives.shape[1] + 1)]
    losses = [SigmoidWithLoss() for _ in dots]
    n = h.shape[0]
    ids = [target] + [negatives[:, k] for k in range(negatives.shape[1])]
    labels = [np.ones(n, dtype=np.int32)] + [np.zeros(n, dtype=np.int32)] * negatives.shape[1]
    loss = sum(
        loss_layer.forward(dot.forward(h, i), t)
        for dot, loss_layer, i, t in zip(dots, losses, ids, labels, strict=True)
    )
    dh = sum(dot.backward(loss_layer.backward(dout)) for dot, loss_layer in zip(dots, losses, strict=True))
    dW = sum(dot.grads[0] for dot in dots)
    return loss, dh, dW


@pytest.mark.parametrize("dtype", FLOATS)
def test_loss_and_gradients_match_the_books_composition_and_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    V, D, N, S = 8, 5, 7, 4
    W = rng.standard_normal((V, D)).astype(dtype)
    h = rng.standard_normal((N, D)).astype(dtype)
    corpus = np.arange(V)
    target = rng.integers(0, V, N)
    negatives = rng.integers(0, V, (N, S))  # duplicates among and across rows
    layer = NegativeSamplingLoss(W, corpus, sample_size=S, rng=0)
    with_negatives(layer, lambda t: negatives)
    dout = 1.7

    loss = layer.forward(h, target)
    dh = layer.backward(dout)

    book_loss, book_dh, book_dW = book_style_loss(W, h, target, negatives, dout)
    tol = TOLERANCE[dtype]
    assert loss.dtype == dh.dtype == layer.grads[0].dtype == dtype
    assert loss == pytest.approx(book_loss, rel=tol)
    np.testing.assert_allclose(dh, book_dh, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads[0], book_dW, rtol=tol, atol=tol)

    tW, th = torch.tensor(W, requires_grad=True), torch.tensor(h, requires_grad=True)
    ids = torch.from_numpy(np.concatenate([target[:, None], negatives], axis=1))
    scores = torch.bmm(tW[ids], th[:, :, None])[:, :, 0]
    labels = torch.zeros_like(scores)
    labels[:, 0] = 1
    reference = torch.nn.functional.binary_cross_entropy_with_logits(scores, labels, reduction="sum") / N
    (dout * reference).backward()
    assert loss == pytest.approx(reference.item(), rel=tol)
    np.testing.assert_allclose(dh, th.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads[0], tW.grad.numpy(), rtol=tol, atol=tol)


def test_a_2d_target_sums_the_loss_of_each_column_with_one_sampler_call_per_column():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((6, 3))
    h = rng.standard_normal((4, 3))
    target = rng.integers(0, 6, (4, 3))
    layer = NegativeSamplingLoss(W, np.arange(6), sample_size=2, rng=0)

    def negatives_of(t):
        return np.stack([(t + 1) % 6, (t + 2) % 6], axis=1)

    calls = with_negatives(layer, negatives_of)
    loss = layer.forward(h, target)
    dh = layer.backward(0.5)
    dW = layer.grads[0].copy()
    assert len(calls) == 3
    for column, call in enumerate(calls):
        np.testing.assert_array_equal(call, target[:, column])

    single = NegativeSamplingLoss(W, np.arange(6), sample_size=2, rng=0)
    with_negatives(single, negatives_of)
    total, total_dh, total_dW = 0.0, np.zeros_like(h), np.zeros_like(W)
    for column in range(3):
        total += single.forward(h, target[:, column])
        total_dh += single.backward(0.5)
        total_dW += single.grads[0]
    assert loss == pytest.approx(total, rel=1e-14)
    np.testing.assert_allclose(dh, total_dh, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dW, total_dW, rtol=1e-13, atol=1e-15)


def test_the_real_sampler_is_called_and_backward_overwrites():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((10, 4))
    grads = None
    layer = NegativeSamplingLoss(W, rng.integers(0, 10, 100), rng=1)
    grads = layer.grads[0]
    h = rng.standard_normal((3, 4))
    layer.forward(h, np.array([1, 2, 3]))
    first = layer.backward().copy()
    second = layer.backward()
    np.testing.assert_array_equal(first, second)
    assert layer.grads[0] is grads
    assert len(layer.params) == 1
    assert layer.params[0] is W


def test_large_scores_give_a_finite_loss_without_warnings():
    W = np.array([[1e3, 0.0], [-1e3, 0.0]], dtype=np.float32)
    layer = NegativeSamplingLoss(W, np.array([0, 1]), sample_size=1, rng=0)
    with_negatives(layer, lambda t: 1 - t[:, None])
    h = np.array([[10.0, 0.0]], dtype=np.float32)  # target 0 scores 1e4, negative 1 scores -1e4
    assert layer.forward(h, np.array([0])) == 0.0
    assert layer.forward(h, np.array([1])) == pytest.approx(2e4, rel=1e-6)  # both wrong by 1e4
    assert np.all(np.isfinite(layer.backward()))


def test_loss_refuses_bad_input():
    W = np.ones((4, 3))
    owner = r"NegativeSamplingLoss\.forward"
    init = r"NegativeSamplingLoss\.__init__"
    with pytest.raises(ValueError, match=rf"{init}: W must be a row for every word id"):
        NegativeSamplingLoss(W, np.array([0, 4]))
    # the sampler's arguments are checked in the layer's name
    with pytest.raises(TypeError, match=rf"{init}: corpus must be an array of integer word ids"):
        NegativeSamplingLoss(W, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=rf"{init}: power must be a positive finite number"):
        NegativeSamplingLoss(W, np.array([0, 1]), power=-0.75)
    with pytest.raises(ValueError, match=rf"{init}: corpus must be a non-empty 1-D array"):
        NegativeSamplingLoss(W, np.array([[0, 1]]))
    layer = NegativeSamplingLoss(W, np.array([0, 1, 2, 3]), sample_size=2, rng=0)
    with pytest.raises(ValueError, match=rf"{owner}: h must be of shape \(N, 3\)"):
        layer.forward(np.ones((2, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match=rf"{owner}: target must be word ids of shape \(2,\) or \(2, C\)"):
        layer.forward(np.ones((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=rf"{owner}: h must be a non-empty array"):
        layer.forward(np.ones((0, 3)), np.array([], dtype=np.int64))
    with pytest.raises(RuntimeError, match=r"NegativeSamplingLoss\.backward: call forward before backward"):
        layer.backward()
    with_negatives(layer, lambda t: np.zeros((t.size, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=rf"{owner}: negative samples must be an array of shape \(2, 2\)"):
        layer.forward(np.ones((2, 3)), np.array([0, 1]))


@pytest.mark.parametrize("vocab", [1, 2, 7, 300])
def test_the_guide_table_search_finds_what_searchsorted_finds(vocab):
    rng = np.random.default_rng(vocab)
    counts = np.minimum(rng.zipf(1.2, vocab), 1000) * (rng.random(vocab) < 0.8)  # skewed, some never occur
    counts[rng.integers(0, vocab)] += 1
    sampler = UnigramSampler(np.repeat(np.arange(vocab), counts), 0.75, 3, rng=0)
    cdf = np.cumsum(sampler.word_p)
    edges = np.concatenate([cdf, np.nextafter(cdf, 0), np.nextafter(cdf, 2), [0.0, cdf[-1], 1.5]])
    keys = np.concatenate([rng.random(5000) * cdf[-1], edges])
    np.testing.assert_array_equal(sampler._first_above(keys), np.searchsorted(cdf, keys, side="right"))
    grid = keys[:4000].reshape(1000, 4)  # any shape
    np.testing.assert_array_equal(sampler._first_above(grid), np.searchsorted(cdf, grid, side="right"))
