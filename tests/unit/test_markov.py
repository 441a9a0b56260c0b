"""The Markov-chain text source: exact entropy rate, empirical perplexity, sampling, load_data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnn.datasets import markov
from scratchnn.datasets.markov import EOS, MarkovSource

# --- a chain small enough to work by hand ---

# P = [[0.9, 0.1], [0.5, 0.5]]: pi P = pi gives 0.1 pi_0 = 0.5 pi_1, so pi = (5/6, 1/6);
# H = 5/6 * h(0.9) + 1/6 * log 2 with h(p) = -p log p - (1 - p) log(1 - p).
TWO_STATE = [[0.9, 0.1], [0.5, 0.5]]
TWO_STATE_PI = [5 / 6, 1 / 6]
TWO_STATE_H = 5 / 6 * (-0.9 * math.log(0.9) - 0.1 * math.log(0.1)) + 1 / 6 * math.log(2)


def test_two_state_chain_stationary_distribution_and_entropy_rate_by_hand():
    source = MarkovSource.from_transitions(TWO_STATE)
    np.testing.assert_allclose(source.stationary_distribution(), TWO_STATE_PI, rtol=1e-12)
    assert source.entropy_rate() == pytest.approx(TWO_STATE_H, rel=1e-12)
    assert source.entropy_rate_perplexity() == pytest.approx(math.exp(TWO_STATE_H), rel=1e-12)
    assert source.words == ["w0", "w1"]


def test_two_state_chain_perplexity_of_a_sequence_by_hand():
    source = MarkovSource.from_transitions(TWO_STATE)
    # transitions 0->0, 0->1, 1->1, 1->0 with probabilities 0.9, 0.1, 0.5, 0.5
    sequence = np.array([0, 0, 1, 1, 0])
    expected = math.exp(-(math.log(0.9) + math.log(0.1) + 2 * math.log(0.5)) / 4)
    assert source.perplexity(sequence) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(source.log_probabilities(sequence), np.log([0.9, 0.1, 0.5, 0.5]), rtol=1e-12)


def test_an_impossible_sequence_has_infinite_perplexity():
    source = MarkovSource.from_transitions([[0.0, 1.0], [1.0, 0.0]])
    assert source.perplexity(np.array([0, 1, 0, 1])) == pytest.approx(1.0)
    assert source.perplexity(np.array([0, 1, 1])) == math.inf


# --- random sources against independent computations ---


def test_random_source_rows_are_distributions_over_distinct_successors():
    source = MarkovSource(60, seed=3, branching=6, concentration=0.7)
    assert source.successors.shape == (60, 6)
    assert source.probabilities.shape == (60, 6)
    assert np.all(source.probabilities > 0)
    np.testing.assert_allclose(source.probabilities.sum(axis=1), 1.0, rtol=1e-12)
    ordered = np.sort(source.successors, axis=1)
    assert np.all(ordered[:, 1:] != ordered[:, :-1])
    P = source.transition_matrix()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all((P > 0).sum(axis=1) == 6)


def test_many_successors_per_word_are_distinct_too():
    source = MarkovSource(20, seed=1, branching=15)
    ordered = np.sort(source.successors, axis=1)
    assert np.all(ordered[:, 1:] != ordered[:, :-1])
    assert np.all((source.transition_matrix() > 0).sum(axis=1) == 15)


def test_entropy_rate_agrees_with_an_eigenvector_computation():
    source = MarkovSource(80, seed=5, branching=5, eos_probability=0.1)
    P = source.transition_matrix()
    # independent: the left eigenvector of P for eigenvalue 1, normalised
    values, vectors = np.linalg.eig(P.T)
    pi = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    pi /= pi.sum()
    np.testing.assert_allclose(source.stationary_distribution(), pi, atol=1e-10)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(P > 0, P * np.log(P), 0.0)
    assert source.entropy_rate() == pytest.approx(-float(pi @ plogp.sum(axis=1)), rel=1e-9)


def batch_means_standard_error(values: np.ndarray, n_batches: int = 25) -> float:
    """Standard error of the mean of a correlated stationary series, from the spread of the
    means of n_batches consecutive blocks (the batch-means method; the blocks are long
    against the chain's correlation time, so their means are nearly independent)."""
    means = values[: values.size // n_batches * n_batches].reshape(n_batches, -1).mean(axis=1)
    return float(means.std(ddof=1) / math.sqrt(n_batches))


@pytest.mark.parametrize(
    "options",
    [
        {"vocab_size": 100, "order": 1, "seed": 11},
        {"vocab_size": 100, "order": 1, "seed": 12, "eos_probability": 0.1},
        {"vocab_size": 30, "order": 2, "seed": 13, "branching": 4},
    ],
    ids=["order1", "order1-eos", "order2"],
)
def test_entropy_rate_and_empirical_perplexity_agree_on_a_long_sample(options):
    """Law of large numbers: mean -log P(x_t | context) -> H at the rate of its standard error."""
    source = MarkovSource(**options)
    sample = source.sample(100_000, seed=1)
    nll = -source.log_probabilities(sample)
    error = batch_means_standard_error(nll)
    assert 0 < error < 0.02  # the check below is not vacuous
    assert abs(float(nll.mean()) - source.entropy_rate()) <= 5 * error
    assert math.log(source.perplexity(sample)) == pytest.approx(float(nll.mean()), rel=1e-12)


def test_sampled_successor_frequencies_match_the_transition_probabilities():
    source = MarkovSource(50, seed=2, branching=5)
    sample = source.sample(60_000, seed=4)
    P = source.transition_matrix()
    counts = np.zeros_like(P)
    np.add.at(counts, (sample[:-1], sample[1:]), 1)
    visits = counts.sum(axis=1, keepdims=True)
    assert np.median(visits) > 500  # most rows are well sampled (a few words are rare)
    # each count is binomial(visits, P): within 5 standard deviations (plus one for rounding)
    sd = np.sqrt(visits * P * (1 - P))
    assert np.all(np.abs(counts - visits * P) <= 5 * sd + 1)
    assert np.all(counts[P == 0] == 0)


def test_order_two_contexts_index_the_last_two_words():
    V = 12
    source = MarkovSource(V, order=2, seed=0, branching=3)
    assert source.successors.shape == (V * V, 3)
    sample = source.sample(2_000, seed=0)
    for t in range(2, 50):
        context = sample[t - 2] * V + sample[t - 1]
        assert sample[t] in source.successors[context]


# --- determinism, shapes, vocabulary ---


def test_same_seed_same_source_and_sample_other_seed_differs():
    a, b, c = MarkovSource(40, seed=7), MarkovSource(40, seed=7), MarkovSource(40, seed=8)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    np.testing.assert_array_equal(a.successors, b.successors)
    assert a.words == b.words
    assert not np.array_equal(a.probabilities, c.probabilities)
    np.testing.assert_array_equal(a.sample(500, seed=1), b.sample(500, seed=1))
    assert not np.array_equal(a.sample(500, seed=1), a.sample(500, seed=2))


def test_sampling_leaves_the_global_random_state_alone_and_uses_an_injected_generator():
    before = np.random.get_state(legacy=False)  # noqa: NPY002 - the legacy global state is what we check
    source = MarkovSource(40, seed=1)
    rng = np.random.default_rng(5)
    untouched = np.random.default_rng(5).bit_generator.state
    source.sample(100, rng)
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    assert rng.bit_generator.state != untouched
    np.testing.assert_array_equal(after["state"]["key"], before["state"]["key"])
    assert after["state"]["pos"] == before["state"]["pos"]


def test_words_are_distinct_pronounceable_strings_with_eos_first():
    source = MarkovSource(300, seed=0, eos_probability=0.05)
    assert len(source.words) == 300
    assert len(set(source.words)) == 300
    assert source.words[0] == EOS
    assert all(w.isalpha() and w.islower() and len(w) == 4 for w in source.words[1:])
    # <eos> never follows itself and follows every other word with the given probability
    P = source.transition_matrix()
    assert P[0, 0] == 0
    np.testing.assert_allclose(P[1:, 0], 0.05, rtol=1e-12)
    assert source.decode([0, 1]) == [EOS, source.words[1]]


def test_short_samples():
    source = MarkovSource(10, order=2, seed=0, branching=3)
    assert source.sample(1, seed=0).shape == (1,)
    assert source.sample(3, seed=0).dtype == np.int64


def test_load_data_splits_and_vocabulary():
    data = markov.load_data(vocab_size=60, n_train=3_000, n_valid=500, n_test=400, seed=3)
    assert data.train.shape == (3_000,)
    assert data.valid.shape == (500,)
    assert data.test.shape == (400,)
    for split in (data.train, data.valid, data.test):
        assert split.dtype == np.int64
        assert split.min() >= 0
        assert split.max() < 60
        assert math.isfinite(data.source.perplexity(split))
    assert not np.array_equal(data.train[:400], data.test)
    assert len(data.word_to_id) == 60
    assert all(data.word_to_id[word] == i for i, word in data.id_to_word.items())
    again = markov.load_data(vocab_size=60, n_train=3_000, n_valid=500, n_test=400, seed=3)
    np.testing.assert_array_equal(again.valid, data.valid)


# --- bad input ---


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocab_size": 1}, r"vocab_size must be in \[2, 4900\]"),
        ({"vocab_size": 200, "order": 3}, r"order must be such that vocab_size \*\* order"),
        ({"vocab_size": 5, "branching": 6}, r"branching must be at most the number of ordinary words \(5\)"),
        (
            {"vocab_size": 5, "branching": 5, "eos_probability": 0.1},
            r"branching must be .*ordinary words \(4\)",
        ),
        ({"concentration": 0.0}, r"concentration must be a finite number >= 0.05"),
        ({"eos_probability": 1.0}, r"eos_probability must be a number in \[0, 1\)"),
    ],
)
def test_constructor_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=r"MarkovSource\.__init__: " + message):
        MarkovSource(**kwargs)


def test_perplexity_refuses_bad_sequences():
    source = MarkovSource(10, seed=0, branching=3)
    with pytest.raises(ValueError, match=r"sequence must be word ids in \[0, 10\)"):
        source.perplexity(np.array([0, 10]))
    with pytest.raises(TypeError, match=r"sequence must be a 1-D sequence of integer word ids"):
        source.perplexity(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"sequence must be longer than the order \(1\)"):
        source.perplexity(np.array([3]))


def test_from_transitions_refuses_non_stochastic_matrices():
    with pytest.raises(ValueError, match=r"rows that sum to 1"):
        MarkovSource.from_transitions([[0.5, 0.4], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"a square \(V, V\) matrix"):
        MarkovSource.from_transitions([[1.0, 0.0]])
