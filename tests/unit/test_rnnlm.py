"""SimpleRnnlm, Rnnlm and BetterRnnlm: against PyTorch (nn.RNN / nn.LSTM, autograd), the tied
weight against a finite difference, state handling, saving, generation, bad input; and the
chapter-6 example end to end with tiny settings."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

from scratchnn.examples import rnnlm as example
from scratchnn.functions import softmax
from scratchnn.models import BetterRnnlm, Rnnlm, SimpleRnnlm
from scratchnn.trainer import remove_duplicate

V, D, H, N, T = 11, 4, 5, 3, 6


def ids(seed: int, shape: tuple[int, int] = (N, T), vocab: int = V) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, shape)


def randomize(model, seed: int = 0, scale: float = 0.5) -> None:
    """Weights of order one (the book's 1/100 embedding makes the LSTM's gradients tiny),
    written in place so that tied views follow."""
    rng = np.random.default_rng(seed)
    for p in remove_duplicate(model.params, model.grads)[0]:
        p[...] = scale * rng.standard_normal(p.shape)


# --- PyTorch references (float64) ---


def gate_order(hidden: int) -> np.ndarray:
    """The book's LSTM gate blocks (f, g, i, o) in PyTorch's order (i, f, g, o)."""
    f, g, i, o = (np.arange(k * hidden, (k + 1) * hidden) for k in range(4))
    return np.concatenate([i, f, g, o])


def torch_recurrent(kind: str, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> torch.nn.Module:
    """nn.RNN (tanh) or nn.LSTM with the book's weights; b_hh is zero and frozen, so b_ih is b."""
    hidden = Wh.shape[0]
    if kind == "lstm":
        module = torch.nn.LSTM(Wx.shape[0], hidden, batch_first=True, dtype=torch.float64)
        order = gate_order(hidden)
    else:
        module = torch.nn.RNN(Wx.shape[0], hidden, batch_first=True, dtype=torch.float64)
        order = np.arange(hidden)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(Wx[:, order].T.copy()))
        module.weight_hh_l0.copy_(torch.from_numpy(Wh[:, order].T.copy()))
        module.bias_ih_l0.copy_(torch.from_numpy(b[order].copy()))
        module.bias_hh_l0.zero_()
    module.bias_hh_l0.requires_grad_(False)
    return module


def book_grads(kind: str, module: torch.nn.Module) -> list[np.ndarray]:
    """dWx, dWh, db of a torch_recurrent module in the book's layouts."""
    hidden = module.hidden_size
    back = np.argsort(gate_order(hidden)) if kind == "lstm" else np.arange(hidden)
    return [
        module.weight_ih_l0.grad.numpy().T[:, back],
        module.weight_hh_l0.grad.numpy().T[:, back],
        module.bias_ih_l0.grad.numpy()[back],
    ]


def torch_model_losses(model, calls, kind: str, tied: bool = False):
    """Losses of the calls in order, the state carried and detached between them (truncated
    BPTT), and the gradients of the LAST call's loss, in the order of model.params with a tied
    weight's gradient given once (the embedding's)."""
    weights = remove_duplicate(model.params, model.grads)[0]
    embed = torch.tensor(weights[0], requires_grad=True)
    n_layers = 2 if tied else 1
    recurrents = [
        torch_recurrent(kind, *(w for w in weights[1 + 3 * k : 4 + 3 * k])) for k in range(n_layers)
    ]
    if tied:
        affine_W = None
        affine_b = torch.tensor(weights[-1], requires_grad=True)
    else:
        affine_W = torch.tensor(weights[-2], requires_grad=True)
        affine_b = torch.tensor(weights[-1], requires_grad=True)
    states = [None] * n_layers
    losses = []
    for xs, ts in calls:
        for p in [embed, affine_b, *([affine_W] if affine_W is not None else [])]:
            p.grad = None
        for module in recurrents:
            module.zero_grad()
        hs = F.embedding(torch.from_numpy(xs), embed)
        for k, module in enumerate(recurrents):
            hs, state = module(hs, states[k])
            states[k] = tuple(s.detach() for s in state) if kind == "lstm" else state.detach()
        W_out = embed.T if tied else affine_W
        scores = hs @ W_out + affine_b
        loss = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), torch.from_numpy(ts).reshape(-1))
        loss.backward()
        losses.append(float(loss.detach()))
    grads = [embed.grad.numpy()]
    for module in recurrents:
        grads += book_grads(kind, module)
    if not tied:
        grads.append(affine_W.grad.numpy())
    grads.append(affine_b.grad.numpy())
    return losses, grads


@pytest.mark.parametrize(("cls", "kind"), [(SimpleRnnlm, "rnn"), (Rnnlm, "lstm")])
def test_loss_and_gradients_match_torch_over_two_stateful_calls(cls, kind):
    model = cls(V, D, H, rng=0)
    randomize(model, seed=1)
    calls = [(ids(2), ids(3)), (ids(4), ids(5))]
    expected_losses, expected_grads = torch_model_losses(model, calls, kind)
    for (xs, ts), expected in zip(calls, expected_losses, strict=True):
        assert float(model.forward(xs, ts)) == pytest.approx(expected, rel=1e-12)
        model.backward()
    for grad, reference in zip(model.grads, expected_grads, strict=True):
        np.testing.assert_allclose(grad, reference, rtol=1e-10, atol=1e-13)


def test_better_rnnlm_without_dropout_matches_torch_with_the_tied_gradient_summed():
    model = BetterRnnlm(V, H, H, dropout_ratio=0.3, rng=0)
    randomize(model, seed=1)
    calls = [(ids(2), ids(3)), (ids(4), ids(5))]
    expected_losses, expected_grads = torch_model_losses(model, calls, "lstm", tied=True)
    for (xs, ts), expected in zip(calls, expected_losses, strict=True):
        assert float(model.forward(xs, ts, train_flg=False)) == pytest.approx(expected, rel=1e-12)
        model.backward()
    _, merged = remove_duplicate(model.params, model.grads)
    assert len(merged) == len(model.params) - 1
    for grad, reference in zip(merged, expected_grads, strict=True):
        np.testing.assert_allclose(grad, reference, rtol=1e-10, atol=1e-13)


def test_tied_gradient_matches_a_central_difference_along_a_random_direction():
    """d/dh L(embed_W + h U) at h = 0 = <grads[0] + grads[-2].T, U>; the central difference's
    error is O(h^2 |L'''|) ~ 1e-10 at h = 1e-5, plus rounding ~ 1e-16 / 1e-5."""
    model = BetterRnnlm(V, H, H, rng=0)
    randomize(model, seed=2)
    xs, ts = ids(6), ids(7)
    model.reset_state()
    model.forward(xs, ts, train_flg=False)
    model.backward()
    tied = model.grads[0] + model.grads[-2].T
    U = np.random.default_rng(8).standard_normal((V, H))
    embed_W = model.params[0]
    start = embed_W.copy()
    h = 1e-5

    def loss_at(step: float) -> float:
        embed_W[...] = start + step * U  # moves the output weight too: it is a view
        model.reset_state()
        return float(model.forward(xs, ts, train_flg=False))

    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    assert numeric == pytest.approx(float(np.sum(tied * U)), rel=1e-6, abs=1e-9)


# --- construction ---


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rnnlm_params_layout_dtype_and_the_books_initial_scales(dtype):
    model = Rnnlm(200, 64, 32, rng=0, dtype=dtype)
    shapes = [(200, 64), (64, 128), (32, 128), (128,), (32, 200), (200,)]
    assert [p.shape for p in model.params] == shapes
    assert [g.shape for g in model.grads] == shapes
    assert all(p.dtype == dtype for p in model.params + model.grads)
    embed_W, Wx, Wh, b, affine_W, affine_b = model.params
    # standard deviations of N(0, s^2) samples: within 5 standard errors s / sqrt(2 n)
    for W, scale in [
        (embed_W, 1 / 100),
        (Wx, 1 / math.sqrt(64)),
        (Wh, 1 / math.sqrt(32)),
        (affine_W, 1 / math.sqrt(32)),
    ]:
        assert float(W.std()) == pytest.approx(scale, rel=5 / math.sqrt(2 * W.size))
    assert not b.any()
    assert not affine_b.any()


def test_simple_rnnlm_layout():
    model = SimpleRnnlm(20, 6, 7, rng=0)
    assert [p.shape for p in model.params] == [(20, 6), (6, 7), (7, 7), (7,), (7, 20), (20,)]
    assert model.rnn_layer.stateful


def test_better_rnnlm_ties_the_output_weight_as_a_transposed_view():
    model = BetterRnnlm(V, H, H, rng=0)
    embed_W, affine_W = model.params[0], model.params[-2]
    assert affine_W.shape == (H, V)
    assert np.shares_memory(embed_W, affine_W)
    np.testing.assert_array_equal(affine_W, embed_W.T)
    assert model.grads[0] is not model.grads[-2]
    assert len(model.params) == 9
    assert all(layer.stateful for layer in model.lstm_layers)


def test_better_rnnlm_requires_wordvec_size_equal_to_hidden_size():
    with pytest.raises(
        ValueError, match=r"BetterRnnlm\.__init__: wordvec_size must be equal to hidden_size \(8\)"
    ):
        BetterRnnlm(10, 6, 8)


def test_same_seed_same_weights_and_an_injected_generator_is_kept():
    a, b, c = Rnnlm(V, D, H, rng=3), Rnnlm(V, D, H, rng=3), Rnnlm(V, D, H, rng=4)
    for p, q in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a.params[0], c.params[0])
    rng = np.random.default_rng(0)
    model = BetterRnnlm(V, H, H, rng=rng)
    assert model.rng is rng
    assert all(layer.rng is rng for layer in model.drop_layers)


def test_default_sizes_are_the_books():
    model = Rnnlm.__init__.__defaults__
    assert model == (10000, 100, 100)
    assert BetterRnnlm.__init__.__defaults__ == (10000, 650, 650, 0.5)


# --- forward, state, dropout ---


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm, BetterRnnlm])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_shape_dtype_and_loss_of_uniform_scores(cls, dtype):
    model = cls(V, H, H, rng=0, dtype=dtype)
    scores = model.predict(ids(0))
    assert scores.shape == (N, T, V)
    assert scores.dtype == dtype
    model.reset_state()
    loss = model.forward(ids(0), ids(1))
    assert loss.dtype == dtype
    # with the book's initialisation the scores are nearly equal: loss close to log V
    assert float(loss) == pytest.approx(math.log(V), rel=1e-2)
    assert model.backward() is None
    assert all(g.dtype == dtype for g in model.grads)


def test_the_state_carries_over_until_reset():
    model = Rnnlm(V, D, H, rng=0)
    randomize(model)
    xs = ids(0)
    first = model.predict(xs)
    second = model.predict(xs)
    assert not np.allclose(first, second)
    model.reset_state()
    np.testing.assert_array_equal(model.predict(xs), first)


def test_better_rnnlm_dropout_only_when_training():
    model = BetterRnnlm(V, H, H, dropout_ratio=0.5, rng=0)
    randomize(model)
    xs, ts = ids(0), ids(1)
    model.reset_state()
    test_loss = model.forward(xs, ts, train_flg=False)
    assert all(not layer.train_flg for layer in model.drop_layers)
    model.reset_state()
    train_loss = model.forward(xs, ts)  # train_flg=True by default, as the book's
    assert all(layer.train_flg for layer in model.drop_layers)
    assert float(train_loss) != float(test_loss)
    model.reset_state()
    model.predict(xs)  # predict defaults to train_flg=False
    assert all(not layer.train_flg for layer in model.drop_layers)
    model.reset_state()
    assert model.forward(xs, ts, train_flg=False) == test_loss


def test_targets_equal_to_ignore_label_are_not_scored():
    model = Rnnlm(V, D, H, rng=0)
    randomize(model)
    xs, ts = ids(0), ids(1)
    masked = ts.copy()
    masked[:, -2:] = -1
    model.reset_state()
    scores = model.predict(xs)
    log_p = scores - scores.max(axis=-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, ts[..., None], axis=-1)[..., 0]
    model.reset_state()
    assert float(model.forward(xs, masked)) == pytest.approx(-picked[:, :-2].mean(), rel=1e-12)


# --- saving and loading ---


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm, BetterRnnlm])
def test_save_and_load_round_trip(cls, tmp_path):
    model = cls(V, H, H, rng=0, dtype=np.float32)
    randomize(model, seed=5)
    path = model.save_params(tmp_path / "model.npz")
    other = cls(V, H, H, rng=9, dtype=np.float32)
    other.load_params(path)
    for p, q in zip(model.params, other.params, strict=True):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(other.predict(ids(0)), model.predict(ids(0)))


def test_a_loaded_better_rnnlm_keeps_its_tie_and_the_file_holds_the_weight_once(tmp_path):
    model = BetterRnnlm(V, H, H, rng=0)
    randomize(model, seed=5)
    path = model.save_params(tmp_path / "better.npz")
    with np.load(path) as data:
        assert len(data.files) == len(model.params) - 1
    other = BetterRnnlm(V, H, H, rng=1)
    other.load_params(path)
    assert np.shares_memory(other.params[0], other.params[-2])
    np.testing.assert_array_equal(other.params[-2], model.params[0].T)


def test_loading_a_file_of_another_size_is_refused(tmp_path):
    path = Rnnlm(V, D, H, rng=0).save_params(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"load_params: param_0 must be float64 of shape \(12, 4\)"):
        Rnnlm(V + 1, D, H).load_params(path)


# --- generation ---


def constant_scores_model(log_p: np.ndarray) -> Rnnlm:
    """An Rnnlm whose scores are log_p whatever the input: its words are i.i.d. draws from p."""
    model = Rnnlm(log_p.size, D, H, rng=0)
    model.params[-2][...] = 0
    model.params[-1][...] = log_p
    return model


def test_generate_draws_from_softmax_of_the_scores():
    p = np.array([0.5, 0.2, 0.2, 0.1])
    model = constant_scores_model(np.log(p))
    words = model.generate(0, sample_size=2001, rng=1)
    assert len(words) == 2001
    assert words[0] == 0
    counts = np.bincount(words[1:], minlength=4)
    # binomial counts within 5 standard deviations
    np.testing.assert_array_less(np.abs(counts - 2000 * p), 5 * np.sqrt(2000 * p * (1 - p)))


def test_generate_never_emits_skipped_ids_and_renormalises_the_rest():
    p = np.array([0.5, 0.2, 0.2, 0.1])
    model = constant_scores_model(np.log(p))
    words = model.generate(0, skip_ids=[0, 2], sample_size=3001, rng=2)
    counts = np.bincount(words[1:], minlength=4)
    assert counts[0] == 0
    assert counts[2] == 0
    q = 0.2 / 0.3  # P(1 | not 0 and not 2)
    assert abs(counts[1] - 3000 * q) < 5 * math.sqrt(3000 * q * (1 - q))


def test_generate_is_reproducible_per_seed_and_feeds_a_batch_of_one():
    model = Rnnlm(V, D, H, rng=0)
    randomize(model)
    model.predict(ids(0))  # a training-sized state: generate starts over
    first = model.generate(3, sample_size=30, rng=5)
    model.reset_state()
    assert model.generate(3, sample_size=30, rng=5) == first
    model.reset_state()
    assert model.generate(3, sample_size=30, rng=6) != first
    assert model.lstm_layer.h.shape == (1, H)
    assert all(isinstance(w, int) and 0 <= w < V for w in first)


def test_generate_continues_from_a_primed_state():
    """The book's generate_better_text.py primes the model with a few words, then generates."""
    model = Rnnlm(V, D, H, rng=0)
    randomize(model, scale=1.0)
    model.reset_state()
    model.predict(np.array([[1, 2, 3]]))
    h, c = model.lstm_layer.h.copy(), model.lstm_layer.c.copy()
    words = model.generate(4, sample_size=2, rng=0)
    # the first sampled word by hand, from the primed state
    model.lstm_layer.set_state(h, c)
    primed = softmax(model.predict(np.array([[4]])).reshape(V))
    assert words[1] == int(np.random.default_rng(0).choice(V, p=primed / primed.sum()))
    model.reset_state()
    fresh = softmax(model.predict(np.array([[4]])).reshape(V))
    assert np.abs(primed - fresh).max() > 0.01  # priming matters here


def test_generate_uses_the_models_generator_by_default():
    rng = np.random.default_rng(0)
    model = Rnnlm(V, D, H, rng=rng)
    before = rng.bit_generator.state
    model.generate(0, sample_size=5)
    assert rng.bit_generator.state != before


def test_generate_refuses_bad_ids():
    model = Rnnlm(V, D, H, rng=0)
    with pytest.raises(ValueError, match=r"Rnnlm\.generate: start_id must be word ids in \[0, 11\)"):
        model.generate(V)
    with pytest.raises(ValueError, match=r"Rnnlm\.generate: skip_ids must be word ids in \[0, 11\)"):
        model.generate(0, skip_ids=[-1])
    with pytest.raises(ValueError, match=r"Rnnlm\.generate: skip_ids must be ids that leave some word"):
        model.generate(0, skip_ids=range(V), sample_size=2)
    with pytest.raises(TypeError, match=r"Rnnlm\.generate: start_id must be integer word ids"):
        model.generate(1.0)


# --- bad input ---


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm, BetterRnnlm])
def test_bad_ids_are_refused_with_the_models_name(cls):
    model = cls(V, H, H, rng=0)
    name = cls.__name__
    with pytest.raises(TypeError, match=rf"{name}\.forward: xs must be a numpy.ndarray of integer word ids"):
        model.forward(ids(0).astype(np.float64), ids(1))
    with pytest.raises(
        ValueError, match=rf"{name}\.forward: xs must be word ids in \[0, 11\); got values from"
    ):
        model.forward(ids(0, vocab=V + 3) + 3, ids(1))
    with pytest.raises(ValueError, match=rf"{name}\.forward: ts must be of shape \(3, 6\) like xs"):
        model.forward(ids(0), ids(1)[:, :-1])
    with pytest.raises(
        ValueError, match=rf"{name}\.forward: ts must be word ids in \[0, 11\) or ignore_label"
    ):
        model.forward(ids(0), ids(1) - 2)
    with pytest.raises(ValueError, match=rf"{name}\.predict: xs must be a non-empty 2-D array \(N, T\)"):
        model.predict(np.arange(4))
    with pytest.raises(TypeError, match=rf"{name}\.__init__: dtype must be float32 or float64"):
        cls(V, H, H, dtype=np.float16)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match=r"call forward before backward"):
        Rnnlm(V, D, H).backward()


def test_arguments_are_not_modified_or_kept():
    model = Rnnlm(V, D, H, rng=0)
    xs, ts = ids(0), ids(1)
    xs_copy, ts_copy = xs.copy(), ts.copy()
    model.forward(xs, ts)
    xs[...] = 0
    ts[...] = 0
    model.backward()
    reference = Rnnlm(V, D, H, rng=0)
    reference.forward(xs_copy, ts_copy)
    reference.backward()
    for g, r in zip(model.grads, reference.grads, strict=True):
        np.testing.assert_array_equal(g, r)


# --- the example ---

FINAL = re.compile(r"^final: validation perplexity \d+\.\d\d, true \d+\.\d\d \(\d+\.\d\dx\), \d+\.\d s$")
TINY = [
    "--epochs", "1", "--train-words", "3000", "--vocab-size", "30", "--branching", "3",
    "--hidden-size", "8", "--wordvec-size", "8", "--batch-size", "5", "--time-size", "10",
    "--eval-blocks", "1", "--eval-interval", "20", "--sentences", "1", "--no-plot",
]  # fmt: skip


@pytest.mark.parametrize("extra", [[], ["--better"]], ids=["Rnnlm", "BetterRnnlm"])
def test_example_main_runs_and_ends_with_the_final_line(capsys, extra):
    status = example.main([*TINY, "--max-ratio", "1000", *extra])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert FINAL.match(lines[-1]), lines[-1]
    assert any(line.startswith("epoch 1: train perplexity") for line in lines)
    assert any(line.startswith("| epoch 1 | iter 20 / 59 |") for line in lines)
    assert "generated:" in lines


def test_example_exits_1_when_the_goal_is_missed(capsys):
    assert example.main([*TINY, "--max-ratio", "1.0001", "--sentences", "0"]) == 1
    assert FINAL.match(capsys.readouterr().out.splitlines()[-1])


def test_example_saves_the_plot(capsys, tmp_path):
    path = tmp_path / "ppl.png"
    assert example.main([*TINY, "--max-ratio", "1000", "--plot", str(path)]) == 0
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"perplexity plot saved to {path}" in capsys.readouterr().out


def test_example_trains_on_ptb_files_without_a_true_perplexity(capsys, tmp_path):
    rng = np.random.default_rng(0)
    vocabulary = ["the", "cat", "sat", "on", "mat", "N", "<unk>", "$", "a", "dog"]
    for name, lines in (("ptb.train.txt", 300), ("ptb.valid.txt", 80), ("ptb.test.txt", 10)):
        text = "\n".join(" ".join(rng.choice(vocabulary, size=5)) for _ in range(lines)) + "\n"
        (tmp_path / name).write_text(text)
    status = example.main([*TINY, "--ptb", str(tmp_path), "--sentences", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert re.match(r"^final: validation perplexity \d+\.\d\d, \d+\.\d s$", lines[-1]), lines[-1]
    assert any(line.startswith("Rnnlm V=11 ") for line in lines)  # 10 words and <eos>
    generated = lines[lines.index("generated:") + 1 :]
    assert not any(word in ("N", "<unk>", "$") for line in generated for word in line.split())
