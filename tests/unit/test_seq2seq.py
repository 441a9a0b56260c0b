"""Seq2seq, PeekySeq2seq and AttentionSeq2seq (chapters 7-8) against PyTorch autograd, and the examples."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from scratchnn.models import (
    AttentionDecoder,
    AttentionEncoder,
    AttentionSeq2seq,
    Decoder,
    Encoder,
    PeekyDecoder,
    PeekySeq2seq,
    Seq2seq,
)
from scratchnn.optimizers import Adam
from scratchnn.trainer import Trainer

MODELS = {"Seq2seq": Seq2seq, "PeekySeq2seq": PeekySeq2seq, "AttentionSeq2seq": AttentionSeq2seq}
V, D, H = 7, 3, 4
DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


def batch(rng, n=3, t_enc=5, t_dec=4):
    xs = rng.integers(0, V, (n, t_enc))
    ts = rng.integers(0, V, (n, t_dec))
    return xs, ts


def perturbed(model, rng):
    """Weights of order 1 (biases too): the book's small initial weights would leave the
    softmax nearly uniform and hide mistakes in the paths a gradient takes."""
    for p in model.params:
        p[...] = 0.5 * rng.standard_normal(p.shape)
    return model


# --- an independent reference: the book's formulas in torch primitives ------------------------


def torch_lstm(xs, h, c, Wx, Wh, b):
    """The book's LSTM (gate blocks f, g, i, o) unrolled over xs (N, T, D)."""
    n_hidden = Wh.shape[0]
    hs = []
    for t in range(xs.shape[1]):
        A = xs[:, t] @ Wx + h @ Wh + b
        f, g, i, o = (A[:, k * n_hidden : (k + 1) * n_hidden] for k in range(4))
        c = torch.sigmoid(f) * c + torch.tanh(g) * torch.sigmoid(i)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs, dim=1)


def torch_loss(name, params, xs, ts):
    enc_embed, enc_Wx, enc_Wh, enc_b, dec_embed, dec_Wx, dec_Wh, dec_b, affine_W, affine_b = params
    n = xs.shape[0]
    zeros = torch.zeros(n, enc_Wh.shape[0], dtype=enc_Wh.dtype)
    enc_hs = torch_lstm(enc_embed[xs], zeros, zeros, enc_Wx, enc_Wh, enc_b)
    h = enc_hs[:, -1]
    embedded = dec_embed[ts[:, :-1]]
    steps = embedded.shape[1]
    if name == "Seq2seq":
        features = torch_lstm(embedded, h, zeros, dec_Wx, dec_Wh, dec_b)
    elif name == "PeekySeq2seq":
        peek = h[:, None, :].expand(n, steps, h.shape[1])
        dec_hs = torch_lstm(torch.cat((peek, embedded), dim=2), h, zeros, dec_Wx, dec_Wh, dec_b)
        features = torch.cat((peek, dec_hs), dim=2)
    else:
        dec_hs = torch_lstm(embedded, h, zeros, dec_Wx, dec_Wh, dec_b)
        weights = torch.softmax(dec_hs @ enc_hs.transpose(1, 2), dim=2)
        features = torch.cat((weights @ enc_hs, dec_hs), dim=2)
    scores = features @ affine_W + affine_b
    return torch.nn.functional.cross_entropy(scores.reshape(-1, scores.shape[2]), ts[:, 1:].reshape(-1))


def torch_loss_and_gradients(name, model, xs, ts):
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in model.params]
    loss = torch_loss(name, params, torch.from_numpy(xs), torch.from_numpy(ts))
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MODELS))
def test_loss_and_every_gradient_match_torch_autograd(name, dtype):
    rng = np.random.default_rng(1)
    model = perturbed(MODELS[name](V, D, H, rng=0, dtype=dtype), rng)
    xs, ts = batch(rng)

    loss = model.forward(xs, ts)
    grads_before = [id(g) for g in model.grads]
    model.backward()

    expected_loss, expected = torch_loss_and_gradients(name, model, xs, ts)
    rtol = {np.float32: 1e-4, np.float64: 1e-10}[dtype]
    assert np.asarray(loss).dtype == dtype
    np.testing.assert_allclose(float(loss), expected_loss, rtol=rtol)
    assert [id(g) for g in model.grads] == grads_before  # written in place
    for i, (grad, want) in enumerate(zip(model.grads, expected, strict=True)):
        assert grad.dtype == dtype
        scale = max(float(np.max(np.abs(want))), 1e-12)
        np.testing.assert_allclose(grad, want, rtol=0, atol=rtol * scale, err_msg=f"{name} grads[{i}]")


def test_attention_seq2seq_random_direction_finite_difference():
    """A third opinion: d/de L(W + e v) at 0 by central differences vs <grad, v>, in float64.

    Central differences err by O(e^2) (third derivatives of order 1 here) plus rounding
    O(1e-16 / e): about 1e-9 at e = 1e-5, so 1e-7 relative is a safe bound.
    """
    rng = np.random.default_rng(2)
    model = perturbed(AttentionSeq2seq(V, D, H, rng=0), rng)
    xs, ts = batch(rng)
    model.forward(xs, ts)
    model.backward()
    direction = [rng.standard_normal(p.shape) for p in model.params]
    analytic = sum(float(np.sum(g * v)) for g, v in zip(model.grads, direction, strict=True))
    original = [p.copy() for p in model.params]

    def loss_at(e):
        for p, p0, v in zip(model.params, original, direction, strict=True):
            p[...] = p0 + e * v
        return float(model.forward(xs, ts))

    eps = 1e-5
    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7)


# --- structure, initialisation, randomness ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        (
            "Seq2seq",
            [
                (V, D),
                (D, 4 * H),
                (H, 4 * H),
                (4 * H,),
                (V, D),
                (D, 4 * H),
                (H, 4 * H),
                (4 * H,),
                (H, V),
                (V,),
            ],
        ),
        (
            "PeekySeq2seq",
            [
                (V, D),
                (D, 4 * H),
                (H, 4 * H),
                (4 * H,),
                (V, D),
                (H + D, 4 * H),
                (H, 4 * H),
                (4 * H,),
                (2 * H, V),
                (V,),
            ],
        ),
        (
            "AttentionSeq2seq",
            [
                (V, D),
                (D, 4 * H),
                (H, 4 * H),
                (4 * H,),
                (V, D),
                (D, 4 * H),
                (H, 4 * H),
                (4 * H,),
                (2 * H, V),
                (V,),
            ],
        ),
    ],
)
def test_params_are_the_books_shapes_each_array_once(name, shapes):
    model = MODELS[name](V, D, H, rng=0, dtype=np.float32)
    assert [p.shape for p in model.params] == shapes
    assert [g.shape for g in model.grads] == shapes
    assert all(p.dtype == np.float32 for p in model.params + model.grads)
    arrays = model.params + model.grads
    assert len({id(a) for a in arrays}) == len(arrays)
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1 :])


def test_initialisation_follows_the_book():
    """embed N(0,1)/100, LSTM Wx N(0,1)/sqrt(fan-in), Wh N(0,1)/sqrt(H), Affine N(0,1)/sqrt(fan-in),
    biases 0. With thousands of draws the sample standard deviation is within a few percent."""
    vocab, wordvec, hidden = 300, 40, 50
    for model, lstm_in, affine_in in (
        (Seq2seq(vocab, wordvec, hidden, rng=0), wordvec, hidden),
        (PeekySeq2seq(vocab, wordvec, hidden, rng=0), hidden + wordvec, 2 * hidden),
        (AttentionSeq2seq(vocab, wordvec, hidden, rng=0), wordvec, 2 * hidden),
    ):
        expected = [0.01, wordvec**-0.5, hidden**-0.5, 0.0, 0.01, lstm_in**-0.5, hidden**-0.5, 0.0]
        expected += [affine_in**-0.5, 0.0]
        for p, std in zip(model.params, expected, strict=True):
            if std == 0.0:
                assert not np.any(p)
            else:
                assert abs(p.std() / std - 1) < 0.05
                assert abs(p.mean()) < 0.05 * std


def test_a_passed_generator_is_used_and_seeds_are_reproducible():
    generator = np.random.default_rng(5)
    state = generator.bit_generator.state
    first = Seq2seq(V, D, H, rng=generator)
    assert generator.bit_generator.state != state  # drawn from the caller's generator
    generator.bit_generator.state = state
    again = Seq2seq(V, D, H, rng=generator)
    for a, b in zip(first.params, again.params, strict=True):
        np.testing.assert_array_equal(a, b)
    # The same seed gives the same weights in both dtypes (drawn in float64, then cast).
    single = Seq2seq(V, D, H, rng=5, dtype=np.float32)
    for a, b in zip(Seq2seq(V, D, H, rng=5).params, single.params, strict=True):
        np.testing.assert_array_equal(a.astype(np.float32), b)


def test_the_global_random_state_is_not_used():
    before = np.random.get_state(legacy=False)  # noqa: NPY002 - the legacy global state is what we check
    model = AttentionSeq2seq(V, D, H, rng=None)
    xs, ts = batch(np.random.default_rng(0))
    model.forward(xs, ts)
    model.backward()
    model.generate(xs[:1], 0, 3)
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    assert after["state"]["pos"] == before["state"]["pos"]
    np.testing.assert_array_equal(after["state"]["key"], before["state"]["key"])


# --- the protocol contract ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_second_backward_repeats_the_first_and_arguments_are_untouched(name):
    rng = np.random.default_rng(3)
    model = perturbed(MODELS[name](V, D, H, rng=0), rng)
    xs, ts = batch(rng)
    saved = (xs.copy(), ts.copy())
    model.forward(xs, ts)
    model.backward()
    first = [g.copy() for g in model.grads]
    model.backward()
    for a, b in zip(model.grads, first, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(xs, saved[0])
    np.testing.assert_array_equal(ts, saved[1])


@pytest.mark.parametrize("name", list(MODELS))
def test_backward_scales_with_dout(name):
    rng = np.random.default_rng(4)
    model = perturbed(MODELS[name](V, D, H, rng=0), rng)
    xs, ts = batch(rng)
    model.forward(xs, ts)
    model.backward()
    unit = [g.copy() for g in model.grads]
    model.backward(2.5)
    for a, b in zip(model.grads, unit, strict=True):
        np.testing.assert_allclose(a, 2.5 * b, rtol=1e-12, atol=1e-15)


def test_encoder_and_decoder_on_their_own():
    """Seq2seq's gradient split at h: decoder.backward gives dh, encoder.backward(dh) the rest."""
    rng = np.random.default_rng(6)
    encoder, decoder = Encoder(V, D, H, rng=0), Decoder(V, D, H, rng=1)
    xs, ts = batch(rng)
    h = encoder.forward(xs)
    assert h.shape == (3, H)
    score = decoder.forward(ts, h)
    assert score.shape == (3, 4, V)
    dh = decoder.backward(rng.standard_normal(score.shape))
    assert dh.shape == (3, H)
    assert encoder.backward(dh) is None
    assert np.any(encoder.grads[1])
    for cls in (PeekyDecoder, AttentionDecoder):
        assert cls(V, D, H, rng=0).params[0].shape == (V, D)
    hs = AttentionEncoder(V, D, H, rng=0).forward(xs)
    assert hs.shape == (3, 5, H)


# --- generate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_generate_is_the_greedy_argmax_of_the_forward_scores(name):
    """Feeding the generated ids back as the decoder's input, each step's highest score is
    the id generated at that step: generate and forward compute the same decoder."""
    rng = np.random.default_rng(7)
    model = perturbed(MODELS[name](V, D, H, rng=0), rng)
    xs, _ = batch(rng, n=1)
    sampled = model.generate(xs, 2, 6)
    assert len(sampled) == 6
    assert all(isinstance(i, int) for i in sampled)
    decoder_input = np.array([[2, *sampled[:-1]]])
    encoded = model.encoder.forward(xs)
    scores = model.decoder.forward(decoder_input, encoded)
    assert scores.argmax(axis=2)[0].tolist() == sampled
    # One sequence as (T,) too, and a batch gives each row's own sequence.
    assert model.generate(xs[0], 2, 6) == sampled
    many, _ = batch(rng, n=4)
    rows = model.generate_batch(many, 2, 6)
    assert rows.shape == (4, 6)
    for row, x in zip(rows, many, strict=True):
        assert model.generate(x[None, :], 2, 6) == row.tolist()


def test_attention_weights_of_the_last_generate():
    rng = np.random.default_rng(8)
    model = perturbed(AttentionSeq2seq(V, D, H, rng=0), rng)
    xs, _ = batch(rng, n=1, t_enc=6)
    model.generate(xs, 1, 5)
    weights = model.attention_weights
    assert weights.shape == (5, 6)
    np.testing.assert_allclose(weights.sum(axis=1), np.ones(5), rtol=1e-12)
    many, _ = batch(rng, n=3, t_enc=6)
    model.generate_batch(many, 1, 4)
    assert model.attention_weights.shape == (3, 4, 6)
    # Teacher-forced forward keeps the book's per-step list on the TimeAttention layer.
    model.forward(many, rng.integers(0, V, (3, 5)))
    assert np.array(model.decoder.attention.attention_weights).shape == (4, 3, 6)


def test_backward_after_generate_is_refused():
    model = Seq2seq(V, D, H, rng=0)
    xs, _ = batch(np.random.default_rng(0), n=1)
    model.decoder.generate(model.encoder.forward(xs), 0, 3)
    with pytest.raises(RuntimeError, match=r"Decoder\.backward: call forward before backward"):
        model.decoder.backward(np.zeros((1, 3, V)))


# --- save, load, train -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_save_and_load_params(name, tmp_path):
    model = MODELS[name](V, D, H, rng=0, dtype=np.float32)
    path = model.save_params(tmp_path / "model.npz")
    other = MODELS[name](V, D, H, rng=1, dtype=np.float32)
    other.load_params(path)
    for a, b in zip(model.params, other.params, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="load_params"):
        MODELS[name](V, D, H + 1, rng=0, dtype=np.float32).load_params(path)


def test_trainer_learns_to_copy_a_short_sequence():
    """Copying 3 symbols is easy for AttentionSeq2seq: the loss falls well below its start."""
    rng = np.random.default_rng(9)
    xs = rng.integers(1, V, (256, 3))
    ts = np.concatenate([np.zeros((256, 1), dtype=xs.dtype), xs], axis=1)  # 0 is the start symbol
    model = AttentionSeq2seq(V, 8, 16, rng=0)
    first = float(model.forward(xs, ts))
    trainer = Trainer(model, Adam(0.01), rng=0, log=None)
    trainer.fit(xs, ts, max_epoch=15, batch_size=32, max_grad=5.0, eval_interval=None)
    assert float(model.forward(xs, ts)) < 0.2 * first


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_bad_input_is_refused_with_a_clear_message(name):
    model = MODELS[name](V, D, H, rng=0)
    xs, ts = batch(np.random.default_rng(0))
    cases = [
        ((xs.astype(float), ts), TypeError, r"forward: xs must be an array of integer ids"),
        ((xs, ts.astype(np.float32)), TypeError, r"forward: ts must be an array of integer ids"),
        ((xs[0], ts), ValueError, r"forward: xs must be a 2-D array"),
        ((xs, ts[:, :1]), ValueError, r"forward: ts must be a 2-D array \(N, T\) with T >= 2"),
        ((xs + V, ts), ValueError, rf"forward: xs must be ids in \[0, {V}\)"),
        ((xs, ts - 1 - ts.max()), ValueError, rf"forward: ts must be ids in \[0, {V}\)"),
        ((xs, ts[:2]), ValueError, r"forward: ts must be 3 sequences"),
        ((xs.tolist(), ts), TypeError, r"forward: xs must be a numpy.ndarray"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=rf"{name}\.{message}"):
            model.forward(*args)
    with pytest.raises(ValueError, match=rf"{name}\.generate: xs must be one sequence"):
        model.generate(xs, 0, 3)
    with pytest.raises(ValueError, match=rf"start_id must be an id in \[0, {V}\)"):
        model.generate(xs[:1], V, 3)
    with pytest.raises(ValueError, match=r"sample_size must be a positive integer"):
        model.generate(xs[:1], 0, 0)
    with pytest.raises(RuntimeError):
        MODELS[name](V, D, H, rng=0).backward()
    model.forward(xs, ts)
    with pytest.raises(TypeError, match=rf"{name}\.backward: dout must be a real scalar"):
        model.backward("1")


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"Seq2seq\.__init__: hidden_size must be a positive integer"):
        Seq2seq(V, D, 0)
    with pytest.raises(TypeError, match=r"AttentionSeq2seq\.__init__: dtype must be float32 or float64"):
        AttentionSeq2seq(V, D, H, dtype=np.int64)
    with pytest.raises(ValueError, match=r"Decoder\.forward: h must be of shape \(N, 4\)"):
        Decoder(V, D, H, rng=0).forward(np.zeros((2, 3), dtype=int), np.zeros((2, 5)))
    with pytest.raises(TypeError, match=r"Decoder\.forward: h must have the dtype of the weights"):
        Decoder(V, D, H, rng=0).forward(np.zeros((2, 3), dtype=int), np.zeros((2, 4), np.float32))
    with pytest.raises(
        ValueError, match=r"AttentionDecoder\.forward: enc_hs must be of shape \(N, Tenc, 4\)"
    ):
        AttentionDecoder(V, D, H, rng=0).forward(np.zeros((2, 3), dtype=int), np.zeros((2, 5, 3)))
    encoder = Encoder(V, D, H, rng=0)
    encoder.forward(np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"Encoder\.backward: dh must be of shape \(2, 4\)"):
        encoder.backward(np.zeros((2, 5)))


# --- the examples ----------------------------------------------------------------------------------


def test_addition_example_runs_with_tiny_settings(capsys, tmp_path):
    from scratchnn.examples import addition

    tiny = ["--epochs", "1", "--problems", "400", "--batch-size", "32", "--hidden-size", "8"]
    assert (
        addition.main(
            [*tiny, "--wordvec-size", "4", "--plot", str(tmp_path / "a.png"), "--min-accuracy", "0"]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(
        r"final: seq2seq \d\.\d{3}, reversed \d\.\d{3}, peeky\+reversed \d\.\d{3}, \d+\.\d s", lines[-1]
    )
    assert (tmp_path / "a.png").stat().st_size > 0
    assert any("✓" in line or "✗" in line for line in lines)
    # An unmet goal is exit status 1.
    assert addition.main([*tiny, "--no-plot", "--samples", "0", "--min-accuracy", "1.01"]) == 1


def test_dates_example_runs_with_tiny_settings(capsys, tmp_path):
    from scratchnn.examples import dates

    tiny = [
        "--epochs",
        "1",
        "--problems",
        "300",
        "--batch-size",
        "32",
        "--hidden-size",
        "8",
        "--wordvec-size",
        "4",
    ]
    assert dates.main([*tiny, "--plot", str(tmp_path / "d.png"), "--min-accuracy", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"final: exact match \d\.\d{3}, \d+\.\d s", lines[-1])
    assert (tmp_path / "d.png").stat().st_size > 0
    assert dates.main([*tiny, "--no-plot", "--min-accuracy", "1.01"]) == 1


def test_blas_threads_are_limited_inside_and_restored_after():
    from scratchnn._openblas import blas_threads, numpy_openblas

    blas = numpy_openblas()
    if blas is None:
        pytest.skip("NumPy does not use OpenBLAS here")
    get = blas.get_threads
    before = get()
    with blas_threads(1) as message:
        assert get() == 1
        assert message == f"OpenBLAS threads {before} -> 1"
    assert get() == before
    with blas_threads(0) as message:
        assert get() == before
        assert message == "BLAS threads left as they are"
