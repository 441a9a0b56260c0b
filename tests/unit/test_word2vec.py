"""The word2vec models against PyTorch autograd, with shared negatives; parameter lists; training."""

from __future__ import annotations

import io

import numpy as np
import pytest

from scratchnn.models import CBOW, SimpleCBOW, SimpleSkipGram, SkipGram
from scratchnn.optimizers import Adam
from scratchnn.text import convert_one_hot, create_contexts_target, preprocess
from scratchnn.trainer import Trainer

torch = pytest.importorskip("torch")
F = torch.nn.functional

FLOATS = (np.float32, np.float64)
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def book_data():
    corpus, word_to_id, _ = preprocess("You say goodbye and I say hello.")
    contexts, target = create_contexts_target(corpus, window_size=1)
    return corpus, len(word_to_id), contexts, target


def close(ours, theirs, dtype):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    scale = max(1.0, float(np.max(np.abs(theirs))))
    np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale)


def torch_params(model):
    return [torch.tensor(p, requires_grad=True) for p in model.params]


def scaled_weights(model, seed):
    """Weights of a visible size (0.01 N(0, 1) makes every gradient tiny)."""
    rng = np.random.default_rng(seed)
    for p in model.params:
        p[...] = rng.standard_normal(p.shape)


# --- chapter 3 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("labels", ["one-hot", "ids"])
def test_simple_cbow_matches_torch(dtype, labels):
    _, V, contexts, target = book_data()
    model = SimpleCBOW(V, 3, rng=0, dtype=dtype)
    scaled_weights(model, 1)
    c = convert_one_hot(contexts, V)
    t = convert_one_hot(target, V) if labels == "one-hot" else target
    loss = model.forward(c, t)
    assert model.backward(2.0) is None

    W_in, W_out = torch_params(model)
    tc = torch.from_numpy(c.astype(dtype))
    h = (tc[:, 0] @ W_in + tc[:, 1] @ W_in) / 2
    reference = F.cross_entropy(h @ W_out, torch.from_numpy(target))
    (2.0 * reference).backward()
    assert loss.dtype == dtype
    close(loss, reference, dtype)
    close(model.grads[0], W_in.grad, dtype)
    close(model.grads[1], W_out.grad, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("labels", ["one-hot", "ids"])
def test_simple_skip_gram_matches_torch(dtype, labels):
    _, V, contexts, target = book_data()
    model = SimpleSkipGram(V, 4, rng=0, dtype=dtype)
    scaled_weights(model, 2)
    c = convert_one_hot(contexts, V) if labels == "one-hot" else contexts
    loss = model.forward(c, convert_one_hot(target, V))
    model.backward(0.5)

    W_in, W_out = torch_params(model)
    s = torch.from_numpy(convert_one_hot(target, V).astype(dtype)) @ W_in @ W_out
    tcontexts = torch.from_numpy(contexts)
    reference = F.cross_entropy(s, tcontexts[:, 0]) + F.cross_entropy(s, tcontexts[:, 1])
    (0.5 * reference).backward()
    close(loss, reference, dtype)
    close(model.grads[0], W_in.grad, dtype)
    close(model.grads[1], W_out.grad, dtype)


def test_simple_cbow_initial_loss_is_log_vocab_size():
    _, V, contexts, target = book_data()
    model = SimpleCBOW(V, 5, rng=0)
    # weights 0.01 N(0, 1): all scores near 0, so the softmax is near uniform
    loss = model.forward(convert_one_hot(contexts, V), target)
    assert loss == pytest.approx(np.log(V), abs=1e-3)


def test_simple_cbow_learns_the_books_sentence():
    _, V, contexts, target = book_data()
    model = SimpleCBOW(V, 5, rng=0)
    trainer = Trainer(model, Adam(), rng=0, log=io.StringIO())
    # the book's run (section 3.4.3): hidden 5, batches of 3, 1000 epochs of Adam
    trainer.fit(convert_one_hot(contexts, V), target, max_epoch=1000, batch_size=3, eval_interval=None)
    # from log(7) = 1.95 down to about 0.55 (the curve of the book's figure 3-24 falls the same way)
    assert model.forward(convert_one_hot(contexts, V), target) < 0.7


# --- chapter 4 ------------------------------------------------------------------------------------


def stub_sampler(sampler, V):
    """Negatives as a function of the target ids (what the harness does), logging each call."""
    calls = []

    def get_negative_sample(t):
        calls.append(np.array(t))
        return (t[:, None] + np.arange(1, 6)) % V  # 5 negatives, never t itself when V > 5

    sampler.get_negative_sample = get_negative_sample
    return calls


def torch_ns_loss(W_out, h, target, negatives):
    ids = torch.from_numpy(np.concatenate([target[:, None], negatives], axis=1))
    scores = torch.bmm(W_out[ids], h[:, :, None])[:, :, 0]
    labels = torch.zeros_like(scores)
    labels[:, 0] = 1
    return F.binary_cross_entropy_with_logits(scores, labels, reduction="sum") / h.shape[0]


def random_batch(V, N, window, seed):
    rng = np.random.default_rng(seed)
    corpus = rng.integers(0, V, 200)
    contexts = rng.integers(0, V, (N, 2 * window))
    target = rng.integers(0, V, N)
    return corpus, contexts, target


@pytest.mark.parametrize("dtype", FLOATS)
def test_cbow_matches_torch_with_the_same_negatives(dtype):
    V, H, N, window = 12, 4, 6, 2
    corpus, contexts, target = random_batch(V, N, window, 3)
    contexts[0, :2] = contexts[0, 2]  # repeated context ids in one row
    model = CBOW(V, H, window, corpus, rng=0, dtype=dtype)
    scaled_weights(model, 4)
    calls = stub_sampler(model.ns_loss.sampler, V)
    loss = model.forward(contexts, target)
    assert model.backward(1.5) is None

    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], target)
    W_in, W_out = torch_params(model)
    h = W_in[torch.from_numpy(contexts)].mean(dim=1)
    reference = torch_ns_loss(W_out, h, target, (target[:, None] + np.arange(1, 6)) % V)
    (1.5 * reference).backward()
    assert loss.dtype == dtype
    close(loss, reference, dtype)
    close(model.grads[0], W_in.grad, dtype)
    close(model.grads[1], W_out.grad, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_skip_gram_matches_torch_with_the_same_negatives(dtype):
    V, H, N, window = 10, 3, 5, 2
    corpus, contexts, target = random_batch(V, N, window, 5)
    model = SkipGram(V, H, window, corpus, rng=0, dtype=dtype)
    scaled_weights(model, 6)
    calls = stub_sampler(model.ns_loss.sampler, V)
    loss = model.forward(contexts, target)
    model.backward()

    assert len(calls) == 2 * window  # one call per context column, with that column's ids
    for column, call in enumerate(calls):
        np.testing.assert_array_equal(call, contexts[:, column])
    W_in, W_out = torch_params(model)
    h = W_in[torch.from_numpy(target)]
    reference = sum(
        torch_ns_loss(W_out, h, contexts[:, i], (contexts[:, i, None] + np.arange(1, 6)) % V)
        for i in range(2 * window)
    )
    reference.backward()
    close(loss, reference, dtype)
    close(model.grads[0], W_in.grad, dtype)
    close(model.grads[1], W_out.grad, dtype)


def all_models(dtype=np.float64, rng=0):
    corpus, V = np.arange(8).repeat(3), 8
    return [
        SimpleCBOW(V, 3, rng=rng, dtype=dtype),
        SimpleSkipGram(V, 3, rng=rng, dtype=dtype),
        CBOW(V, 3, 1, corpus, rng=rng, dtype=dtype),
        SkipGram(V, 3, 1, corpus, rng=rng, dtype=dtype),
    ]


def inputs_for(model, dtype=np.float64):
    contexts = np.array([[0, 2], [1, 3], [5, 7]])
    target = np.array([1, 2, 6])
    if isinstance(model, SimpleCBOW):
        return convert_one_hot(contexts, 8), target
    if isinstance(model, SimpleSkipGram):
        return contexts, convert_one_hot(target, 8)
    return contexts, target


@pytest.mark.parametrize("index", range(4), ids=["SimpleCBOW", "SimpleSkipGram", "CBOW", "SkipGram"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_parameter_lists_dtype_and_in_place_gradients(index, dtype):
    model = all_models(dtype)[index]
    params, grads = list(model.params), list(model.grads)
    assert len(params) == 2
    assert params[0] is not params[1]
    assert model.word_vecs is params[0]
    assert params[0].shape == (8, 3)
    assert [p.dtype for p in params] == [dtype, dtype]
    assert [g.shape for g in grads] == [p.shape for p in params]

    loss = model.forward(*inputs_for(model))
    model.backward()
    first = [g.copy() for g in model.grads]
    model.backward()  # a second backward after one forward: the same gradients
    assert loss.dtype == dtype
    assert all(a is b for a, b in zip(model.grads, grads, strict=True))
    for g, before in zip(model.grads, first, strict=True):
        np.testing.assert_array_equal(g, before)
        assert g.dtype == dtype
        assert np.any(g)


@pytest.mark.parametrize("index", range(4), ids=["SimpleCBOW", "SimpleSkipGram", "CBOW", "SkipGram"])
def test_save_and_load_params(index, tmp_path):
    model, other = all_models(rng=1)[index], all_models(rng=2)[index]
    path = model.save_params(tmp_path / "word2vec.npz")
    other.load_params(path)
    for a, b in zip(model.params, other.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_model_and_negatives():
    corpus = np.random.default_rng(0).integers(0, 20, 500)
    contexts, target = create_contexts_target(corpus, 2)
    losses = []
    for _ in range(2):
        model = CBOW(20, 5, 2, corpus, rng=np.random.default_rng(7))
        losses.append(
            [float(model.forward(contexts[i : i + 10], target[i : i + 10])) for i in range(0, 50, 10)]
        )
    assert losses[0] == losses[1]


def test_cbow_trains_with_trainer_and_adam():
    corpus = np.tile(np.array([0, 1, 2, 3, 4, 5, 6, 7]), 60)  # a fixed cycle: every context is decisive
    contexts, target = create_contexts_target(corpus, 1)
    model = CBOW(8, 10, 1, corpus, rng=0)
    trainer = Trainer(model, Adam(lr=0.01), rng=0, log=io.StringIO())
    trainer.fit(contexts, target, max_epoch=30, batch_size=20, eval_interval=10)
    assert trainer.loss_list[-1] < trainer.loss_list[0] / 3


def test_bad_input_is_refused_by_the_model():
    corpus = np.arange(6)
    cbow = CBOW(6, 3, 2, corpus, rng=0)
    with pytest.raises(ValueError, match=r"CBOW\.forward: contexts must be word ids of shape \(N, 4\)"):
        cbow.forward(np.zeros((3, 2), dtype=np.int64), np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match=r"CBOW\.forward: contexts must be an array of integer indices"):
        cbow.forward(np.zeros((3, 4)), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"CBOW\.forward: contexts must be indices in \[0, 6\)"):
        cbow.forward(np.full((3, 4), 6), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"CBOW\.forward: target must be word ids of shape \(3,\)"):
        cbow.forward(np.zeros((3, 4), dtype=np.int64), np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match=r"SkipGram\.forward: target must be indices in \[0, 6\)"):
        SkipGram(6, 3, 2, corpus).forward(np.zeros((3, 4), dtype=np.int64), np.full(3, 6))
    with pytest.raises(RuntimeError, match=r"CBOW\.backward: call forward before backward"):
        CBOW(6, 3, 2, corpus).backward()
    with pytest.raises(ValueError, match=r"CBOW\.__init__: vocab_size must be a positive integer"):
        CBOW(0, 3, 2, corpus)
    with pytest.raises(ValueError, match=r"CBOW\.__init__: vocab_size must be larger than every word id"):
        CBOW(4, 3, 2, corpus)
    with pytest.raises(TypeError, match=r"SkipGram\.__init__: corpus must be an array of integer word ids"):
        SkipGram(6, 3, 2, corpus.astype(float))
    with pytest.raises(TypeError, match=r"SkipGram\.__init__: dtype must be float32 or float64"):
        SkipGram(6, 3, 2, corpus, dtype=np.int64)
    simple = SimpleCBOW(6, 3)
    with pytest.raises(
        ValueError, match=r"SimpleCBOW\.forward: contexts must be one-hot rows of shape \(N, 2, 6\)"
    ):
        simple.forward(np.zeros((2, 3, 6), dtype=np.int32), np.zeros(2, dtype=np.int64))
    with pytest.raises(TypeError, match=r"SimpleCBOW\.forward: contexts must be integer, bool or float64"):
        simple.forward(np.zeros((2, 2, 6), dtype=np.float32), np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match=r"SimpleCBOW\.forward: target must be class indices in \[0, 6\)"):
        simple.forward(np.zeros((2, 2, 6), dtype=np.int32), np.array([0, 6]))
    with pytest.raises(ValueError, match=r"SimpleSkipGram\.forward: contexts must be ids of shape \(2, 2\)"):
        SimpleSkipGram(6, 3).forward(np.zeros((2, 3), dtype=np.int64), np.eye(6, dtype=np.int32)[:2])
