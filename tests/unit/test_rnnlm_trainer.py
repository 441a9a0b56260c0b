"""remove_duplicate with tied (transposed) weights, RnnlmTrainer and eval_perplexity.

The language models here are small stand-ins written in the test (a bigram table,
recorders), so that the training loop is tested apart from the time layers.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from scratchnn.datasets import markov
from scratchnn.functions import log_softmax
from scratchnn.optimizers import SGD, Adam
from scratchnn.trainer import RnnlmTrainer, Trainer, eval_perplexity, remove_duplicate

# --- remove_duplicate: shared memory, transposed views ---


def test_a_transposed_view_is_merged_with_its_gradient_transposed():
    W, b = np.arange(6.0).reshape(2, 3), np.zeros(3)
    gW = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    gb = np.ones(3)
    gWT = np.array([[10.0, 40.0], [20.0, 50.0], [30.0, 60.0]])  # gradient of W.T, shape (3, 2)
    before = [gW.copy(), gb.copy(), gWT.copy()]

    params, grads = remove_duplicate([W, b, W.T], [gW, gb, gWT])

    assert len(params) == 2
    assert params[0] is W
    assert params[1] is b
    # grads[i] + grads[j].T, worked by hand
    np.testing.assert_array_equal(grads[0], [[11.0, 22.0, 33.0], [44.0, 55.0, 66.0]])
    assert grads[1] is gb
    for grad, copy in zip([gW, gb, gWT], before, strict=True):
        np.testing.assert_array_equal(grad, copy)


def test_a_buffer_first_met_as_a_transposed_view_keeps_that_orientation():
    W = np.zeros((2, 3))
    WT = W.T
    g_first, g_second = np.ones((3, 2)), np.arange(6.0).reshape(2, 3)
    params, grads = remove_duplicate([WT, W], [g_first, g_second])
    assert len(params) == 1
    assert params[0] is WT
    np.testing.assert_array_equal(grads[0], 1.0 + np.arange(6.0).reshape(2, 3).T)


def test_another_view_in_the_same_layout_is_the_same_parameter():
    W = np.zeros((2, 2))
    view = W[...]
    assert view is not W
    params, grads = remove_duplicate(
        [W, view, W.T], [np.eye(2), 2 * np.eye(2), np.array([[0.0, 1.0], [0.0, 0.0]])]
    )
    assert params == [W]
    np.testing.assert_array_equal(grads[0], [[3.0, 0.0], [1.0, 3.0]])


def test_equal_values_are_not_shared_memory_even_transposed():
    W = np.arange(4.0).reshape(2, 2)
    copy_T = W.T.copy()
    same_values = W.copy()
    grads = [np.ones((2, 2)), 2 * np.ones((2, 2)), 3 * np.ones((2, 2))]
    params, merged = remove_duplicate([W, copy_T, same_values], grads)
    assert len(params) == 3
    assert all(m is g for m, g in zip(merged, grads, strict=True))


def test_a_gradient_array_listed_twice_counts_once():
    W, g = np.zeros(2), np.ones(2)
    params, grads = remove_duplicate([W, W], [g, g])
    assert params == [W]
    assert grads[0] is g


def test_partially_overlapping_parameters_are_refused():
    W = np.zeros((3, 2))
    with pytest.raises(
        ValueError, match=r"remove_duplicate: params\[1\] must be the same elements as another"
    ):
        remove_duplicate([W, W[1:]], [np.zeros((3, 2)), np.zeros((2, 2))])


class TiedLinear:
    """L = <C1, W> + <C2, W.T>: one weight used twice, as W and as its transposed view.

    params = [W, W.T] like BetterRnnlm's embedding and output weight; the gradient of the
    first occurrence is C1, of the second C2 (in W.T's shape), so dL/dW = C1 + C2.T.
    """

    def __init__(self, W: np.ndarray, C1: np.ndarray, C2: np.ndarray) -> None:
        self.W = W
        self.C1, self.C2 = C1, C2
        self.params = [W, W.T]
        self.grads = [np.zeros_like(W), np.zeros_like(W.T)]

    def forward(self, x, t):
        return float(np.sum(self.C1 * self.W) + np.sum(self.C2 * self.W.T))

    def backward(self, dout=1):
        self.grads[0][...] = self.C1
        self.grads[1][...] = self.C2


def test_trainer_updates_a_tied_transposed_weight_once_with_the_summed_gradient():
    rng = np.random.default_rng(0)
    W0, C1, C2 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    model = TiedLinear(W0.copy(), C1, C2)
    Trainer(model, SGD(lr=0.1), rng=0, log=io.StringIO()).fit(
        np.zeros((1, 1)), np.zeros(1), max_epoch=1, batch_size=1, eval_interval=None
    )
    np.testing.assert_allclose(model.W, W0 - 0.1 * (C1 + C2.T), rtol=1e-15)
    assert np.shares_memory(model.params[0], model.params[1])


def test_adam_on_a_tied_weight_takes_the_steps_of_one_untied_weight_with_the_summed_gradient():
    """An optimizer with state must see the buffer once per step, with dL/dW in full."""
    rng = np.random.default_rng(1)
    W0, C1, C2 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    tied = TiedLinear(W0.copy(), C1, C2)
    RnnlmTrainer(tied, Adam(lr=0.01), log=io.StringIO()).fit(
        np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64), max_epoch=3, batch_size=1, time_size=1
    )
    # the same 12 Adam steps by hand, on one array with gradient C1 + C2.T
    W, m, v, g = W0.copy(), np.zeros((2, 3)), np.zeros((2, 3)), C1 + C2.T
    for t in range(1, 13):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        W -= 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-7)
    np.testing.assert_allclose(tied.W, W, rtol=1e-12)


# --- RnnlmTrainer: the book's batches ---


def book_get_batch(x, t, batch_size, time_size, time_idx):
    """The book's RnnlmTrainer.get_batch (common/trainer.py), loops and all."""
    batch_x = np.empty((batch_size, time_size), dtype="i")
    batch_t = np.empty((batch_size, time_size), dtype="i")
    data_size = len(x)
    jump = data_size // batch_size
    offsets = [i * jump for i in range(batch_size)]
    for time in range(time_size):
        for i, offset in enumerate(offsets):
            batch_x[i, time] = x[(offset + time_idx) % data_size]
            batch_t[i, time] = t[(offset + time_idx) % data_size]
        time_idx += 1
    return batch_x, batch_t, time_idx


class Recorder:
    """A language model that records what it is fed and returns a fixed loss."""

    def __init__(self, loss: float = math.log(7.0)) -> None:
        self.params = [np.zeros(2)]
        self.grads = [np.zeros(2)]
        self.loss = loss
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []
        self.flags: list[bool] = []
        self.resets = 0

    def forward(self, xs, ts):
        self.batches.append((xs.copy(), ts.copy()))
        return np.float64(self.loss)

    def backward(self, dout=1):
        self.grads[0][...] = 1.0

    def reset_state(self):
        self.resets += 1


def test_batches_are_the_books_across_iterations_epochs_and_wrap_around():
    corpus = np.arange(103) * 10  # distinct values: every position is identifiable
    xs, ts = corpus[:-1], corpus[1:]
    model = Recorder()
    trainer = RnnlmTrainer(model, SGD(lr=0.1), log=io.StringIO())
    trainer.fit(xs, ts, max_epoch=3, batch_size=4, time_size=7, eval_interval=None)

    max_iters = 102 // (4 * 7)
    assert len(model.batches) == 3 * max_iters
    time_idx = 0
    for batch_x, batch_t in model.batches:
        expected_x, expected_t, time_idx = book_get_batch(xs, ts, 4, 7, time_idx)
        np.testing.assert_array_equal(batch_x, expected_x)
        np.testing.assert_array_equal(batch_t, expected_t)
    assert trainer.time_idx == time_idx == 3 * max_iters * 7
    assert trainer.current_epoch == 3
    assert model.resets == 1


def test_a_second_fit_continues_the_streams_and_resets_the_model_state():
    corpus = np.arange(80)
    model = Recorder()
    trainer = RnnlmTrainer(model, SGD(lr=0.1), log=io.StringIO())
    trainer.fit(corpus[:-1], corpus[1:], max_epoch=1, batch_size=2, time_size=5, eval_interval=None)
    trainer.fit(corpus[:-1], corpus[1:], max_epoch=1, batch_size=2, time_size=5, eval_interval=None)
    time_idx = 0
    for batch_x, _ in model.batches:
        expected_x, _, time_idx = book_get_batch(corpus[:-1], corpus[1:], 2, 5, time_idx)
        np.testing.assert_array_equal(batch_x, expected_x)
    assert model.resets == 2
    assert trainer.current_epoch == 2


def test_progress_lines_ppl_list_and_history():
    corpus = np.arange(200) % 13
    log = io.StringIO()
    trainer = RnnlmTrainer(Recorder(loss=math.log(7.0)), SGD(lr=0.1), log=log)
    ppl = trainer.fit(corpus[:-1], corpus[1:], max_epoch=2, batch_size=3, time_size=5, eval_interval=4)

    max_iters = 199 // 15  # 13
    assert trainer.step == 2 * max_iters
    assert ppl is trainer.ppl_list
    assert len(ppl) == 2 * max_iters // 4
    assert ppl == pytest.approx([7.0] * len(ppl), rel=1e-12)  # exp(log 7)
    assert trainer.epoch_perplexities == pytest.approx([7.0, 7.0], rel=1e-12)
    assert [p["step"] for p in trainer.history] == [4, 8, 12, 16, 20, 24]
    lines = log.getvalue().splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("| epoch 1 | iter 4 / 13 | time ")
    assert lines[0].endswith("| perplexity 7.00")
    assert lines[-1].startswith("| epoch 2 | iter 11 / 13 |")


def test_gradient_clipping_bounds_each_step():
    model = Recorder()  # gradient of all ones, norm sqrt(2)
    RnnlmTrainer(model, SGD(lr=1.0), log=io.StringIO()).fit(
        np.zeros(10, dtype=np.int64),
        np.zeros(10, dtype=np.int64),
        max_epoch=1,
        batch_size=1,
        time_size=5,
        max_grad=0.5,
    )
    # 2 iterations, each moving the parameters by exactly 0.5 in L2 norm along (-1, -1)
    np.testing.assert_allclose(model.params[0], [-2 * 0.5 / math.sqrt(2)] * 2, rtol=1e-12)


class BigramModel:
    """A language model that is a table of logits: score(x_t) = W[x_t]; the stand-in for an
    RNNLM on an order-1 Markov source, whose best possible model it can represent exactly."""

    def __init__(self, vocab_size: int) -> None:
        self.W = np.zeros((vocab_size, vocab_size))
        self.params, self.grads = [self.W], [np.zeros_like(self.W)]

    def forward(self, xs, ts):
        self.xs, self.ts = xs.reshape(-1), ts.reshape(-1)
        self.log_p = log_softmax(self.W[self.xs])
        return -np.mean(self.log_p[np.arange(self.xs.size), self.ts])

    def backward(self, dout=1):
        d = np.exp(self.log_p)
        d[np.arange(self.xs.size), self.ts] -= 1
        d *= dout / self.xs.size
        self.grads[0][...] = 0
        np.add.at(self.grads[0], self.xs, d)


def test_training_a_bigram_model_on_markov_text_approaches_the_true_perplexity():
    data = markov.load_data(vocab_size=20, n_train=40_000, n_valid=5_000, n_test=10, seed=0, branching=4)
    model = BigramModel(20)
    trainer = RnnlmTrainer(model, Adam(lr=0.05), log=io.StringIO())
    untrained = eval_perplexity(model, data.valid)
    assert untrained == pytest.approx(20.0, rel=1e-12)  # uniform predictions
    trainer.fit(data.train[:-1], data.train[1:], max_epoch=4, batch_size=10, time_size=20, eval_interval=50)
    true = data.source.perplexity(data.valid)
    valid = eval_perplexity(model, data.valid)
    assert trainer.ppl_list[-1] < 0.5 * trainer.ppl_list[0]
    assert true <= valid < 1.05 * true


# --- eval_perplexity ---


def book_eval_batches(corpus, batch_size, time_size):
    """The book's eval_perplexity batches (common/util.py), loops and all."""
    corpus_size = len(corpus)
    max_iters = (corpus_size - 1) // (batch_size * time_size)
    jump = (corpus_size - 1) // batch_size
    for iters in range(max_iters):
        xs = np.zeros((batch_size, time_size), dtype=np.int32)
        ts = np.zeros((batch_size, time_size), dtype=np.int32)
        time_offset = iters * time_size
        offsets = [time_offset + (i * jump) for i in range(batch_size)]
        for t in range(time_size):
            for i, offset in enumerate(offsets):
                xs[i, t] = corpus[(offset + t) % corpus_size]
                ts[i, t] = corpus[(offset + t + 1) % corpus_size]
        yield xs, ts


def test_eval_perplexity_feeds_the_books_batches_and_returns_exp_of_the_mean_loss():
    corpus = np.arange(95)
    model = Recorder(loss=math.log(3.0))
    progress = io.StringIO()
    ppl = eval_perplexity(model, corpus, batch_size=3, time_size=6, progress=progress)
    expected = list(book_eval_batches(corpus, 3, 6))
    assert len(model.batches) == len(expected) == 94 // 18
    for (xs, ts), (bx, bt) in zip(model.batches, expected, strict=True):
        np.testing.assert_array_equal(xs, bx)
        np.testing.assert_array_equal(ts, bt)
    assert ppl == pytest.approx(3.0, rel=1e-12)
    assert model.resets == 1
    assert "evaluating perplexity" in progress.getvalue()
    assert progress.getvalue().rstrip().endswith("5 / 5")


def test_eval_perplexity_runs_models_with_dropout_in_test_mode():
    class WithFlag(Recorder):
        def forward(self, xs, ts, train_flg=True):
            self.flags.append(train_flg)
            return super().forward(xs, ts)

    model = WithFlag()
    eval_perplexity(model, np.arange(50), batch_size=2, time_size=5)
    assert model.flags == [False] * 4


def test_eval_perplexity_is_silent_by_default(capsys):
    eval_perplexity(Recorder(), np.arange(50), batch_size=2, time_size=5)
    assert capsys.readouterr().out == ""


# --- bad input and plots ---


def test_fit_refuses_float_ids_mismatched_lengths_and_short_corpora():
    trainer = RnnlmTrainer(Recorder(), SGD(), log=io.StringIO())
    with pytest.raises(
        TypeError, match=r"RnnlmTrainer\.fit: xs must be a 1-D numpy array of integer word ids"
    ):
        trainer.fit(np.zeros(100), np.zeros(100, dtype=np.int64))
    with pytest.raises(ValueError, match=r"RnnlmTrainer\.fit: ts must be as long as xs \(100\)"):
        trainer.fit(np.zeros(100, dtype=np.int64), np.zeros(99, dtype=np.int64))
    with pytest.raises(ValueError, match=r"RnnlmTrainer\.fit: batch_size \* time_size must be at most"):
        trainer.fit(np.zeros(100, dtype=np.int64), np.zeros(100, dtype=np.int64), batch_size=20, time_size=35)
    with pytest.raises(ValueError, match=r"RnnlmTrainer\.fit: xs must be non-negative word ids"):
        trainer.fit(-np.ones(100, dtype=np.int64), np.zeros(100, dtype=np.int64), batch_size=2, time_size=5)


def test_eval_perplexity_refuses_a_corpus_shorter_than_one_batch():
    with pytest.raises(
        ValueError, match=r"eval_perplexity: corpus must be longer than batch_size \* time_size"
    ):
        eval_perplexity(Recorder(), np.arange(350), batch_size=10, time_size=35)


def test_plot_writes_a_png_with_validation_points_and_a_reference_line(tmp_path):
    corpus = np.arange(200) % 13
    trainer = RnnlmTrainer(Recorder(), SGD(lr=0.1), log=io.StringIO())
    trainer.fit(corpus[:-1], corpus[1:], max_epoch=2, batch_size=3, time_size=5, eval_interval=2)
    path = trainer.plot(
        tmp_path / "ppl.png", ylim=(0, 10), series={"validation": [(13, 7.5), (26, 7.2)]}, lines={"true": 7.0}
    )
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
