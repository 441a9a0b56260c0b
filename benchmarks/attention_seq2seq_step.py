"""One Adam training step of AttentionSeq2seq: scratchnn (NumPy) against PyTorch eager on CPU.

At the sizes of ``python -m scratchnn.examples.dates`` (the book's section 8.3): batches of
128 date questions of 29 characters (reversed, as the example feeds them), answers of 11
(10 decoder steps), a vocabulary of about 60 characters, wordvec 16, hidden 256, float32.

- scratchnn: ``model.forward(xs, ts)``, ``model.backward()``, ``Adam.update(params, grads)``;
- PyTorch: the same network from ``nn.Embedding``, ``nn.LSTM`` (encoder and decoder, the
  decoder started from the encoder's last state and a zero cell), batched dot-product
  attention (``softmax(dec_hs @ enc_hs^T) @ enc_hs``), ``nn.Linear`` on concat(context,
  dec_hs) and ``F.cross_entropy``, with ``torch.optim.Adam`` (eps 1e-7, scratchnn's default).

Both start from the same weights: the book's LSTM gate blocks (f, g, i, o) are permuted to
PyTorch's (i, f, g, o) and every weight is transposed to PyTorch's (out, in) layout; the
book's single LSTM bias goes to ``bias_ih`` and ``bias_hh`` is zero. Before timing, one
forward and backward of each is compared in float64 and in float32: the loss and every
gradient (mapped back to the book's layout) must agree, else
:class:`~benchmarks.training_step.DifferentComputations` stops the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

from benchmarks.report import contender_table
from benchmarks.timing import (
    DISTURBED_SHARE,
    MIN_CLEAN_REPEATS,
    SETTLE_SECONDS,
    Contender,
    median_ratio,
    time_interleaved,
)
from benchmarks.training_step import (
    DifferentComputations,
    largest_difference,
    relative_difference,
    set_numpy_threads,
    set_torch_threads,
    torch_blas,
    torch_default_threads,
)
from scratchnn._openblas import numpy_openblas
from scratchnn.datasets import sequence
from scratchnn.models.seq2seq import AttentionSeq2seq
from scratchnn.optimizers import Adam

Array = npt.NDArray[Any]
Step = Callable[[], object]

SEED = 2026
BATCH = 128
WORDVEC = 16
HIDDEN = 256
LEARNING_RATE = 0.001
ADAM_EPS = 1e-7
BIAS_SCALE = 0.1  # the book's zero biases would hide a misplaced bias block: start from N(0, 0.1^2)

# Relative to the largest value compared. The two differ only in the order of floating-point
# sums over 29 + 10 LSTM steps, the attention and the loss: measured here about 1e-6 in
# float32 and 1e-15 in float64; a wrong gate order, transpose or attention path is off by
# far more (order 1).
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}


@dataclass(frozen=True)
class Problem:
    dtype: str
    xs: Array
    ts: Array
    vocab_size: int
    weights: list[Array]  # in the order of AttentionSeq2seq.params


def make_problem(dtype: str, batch: int = BATCH, hidden: int = HIDDEN) -> Problem:
    data = sequence.load("date.txt", seed=SEED, n=max(2 * batch, 1000), reverse=True)
    model = AttentionSeq2seq(data.vocab_size, WORDVEC, hidden, rng=SEED, dtype=np.float64)
    rng = np.random.default_rng(SEED)
    weights = [p.copy() if p.ndim == 2 else BIAS_SCALE * rng.standard_normal(p.shape) for p in model.params]
    return Problem(
        dtype,
        data.x_train[:batch].copy(),
        data.t_train[:batch].copy(),
        data.vocab_size,
        [w.astype(dtype) for w in weights],
    )


# --- scratchnn -----------------------------------------------------------------------------


def scratchnn_model(problem: Problem) -> AttentionSeq2seq:
    V, D = problem.weights[0].shape
    H = problem.weights[2].shape[0]
    model = AttentionSeq2seq(V, D, H, dtype=np.dtype(problem.dtype))
    for own, weight in zip(model.params, problem.weights, strict=True):
        own[...] = weight
    return model


def scratchnn_step(problem: Problem) -> Step:
    model = scratchnn_model(problem)
    optimizer = Adam(lr=LEARNING_RATE, eps=ADAM_EPS)
    xs, ts = problem.xs, problem.ts

    def step() -> object:
        loss = model.forward(xs, ts)
        model.backward()
        optimizer.update(model.params, model.grads)
        return loss

    return step


# --- PyTorch -------------------------------------------------------------------------------


def book_to_torch_gates(W: Array) -> Array:
    """Columns in the book's gate blocks (f, g, i, o) -> PyTorch's (i, f, g, o)."""
    f, g, i, o = np.split(W, 4, axis=-1)
    return np.concatenate((i, f, g, o), axis=-1)


def torch_to_book_gates(W: Array) -> Array:
    i, f, g, o = np.split(W, 4, axis=-1)
    return np.concatenate((f, g, i, o), axis=-1)


class TorchAttentionSeq2seq(torch.nn.Module):
    """The book's AttentionSeq2seq written with torch.nn modules."""

    def __init__(self, weights: list[Array]) -> None:
        super().__init__()
        enc_embed, enc_Wx, enc_Wh, enc_b, dec_embed, dec_Wx, dec_Wh, dec_b, affine_W, affine_b = (
            torch.from_numpy(np.ascontiguousarray(w)) for w in weights
        )
        dtype = enc_embed.dtype
        V, D = enc_embed.shape
        H = enc_Wh.shape[0]
        self.encoder_embed = torch.nn.Embedding(V, D, dtype=dtype)
        self.encoder_lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=dtype)
        self.decoder_embed = torch.nn.Embedding(V, D, dtype=dtype)
        self.decoder_lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=dtype)
        self.affine = torch.nn.Linear(2 * H, V, dtype=dtype)
        with torch.no_grad():
            self.encoder_embed.weight.copy_(enc_embed)
            self.decoder_embed.weight.copy_(dec_embed)
            for lstm, Wx, Wh, b in (
                (self.encoder_lstm, enc_Wx, enc_Wh, enc_b),
                (self.decoder_lstm, dec_Wx, dec_Wh, dec_b),
            ):
                lstm.get_parameter("weight_ih_l0").copy_(
                    torch.from_numpy(book_to_torch_gates(Wx.numpy()).T.copy())
                )
                lstm.get_parameter("weight_hh_l0").copy_(
                    torch.from_numpy(book_to_torch_gates(Wh.numpy()).T.copy())
                )
                lstm.get_parameter("bias_ih_l0").copy_(torch.from_numpy(book_to_torch_gates(b.numpy())))
                lstm.get_parameter("bias_hh_l0").zero_()
            self.affine.weight.copy_(affine_W.T)
            self.affine.bias.copy_(affine_b)

    def forward(self, xs: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
        enc_hs, _ = self.encoder_lstm(self.encoder_embed(xs))
        h0 = enc_hs[:, -1, :].unsqueeze(0)
        dec_hs, _ = self.decoder_lstm(self.decoder_embed(ts[:, :-1]), (h0, torch.zeros_like(h0)))
        # The book's unscaled dot-product attention, every decoder step at once.
        weights = torch.softmax(dec_hs @ enc_hs.transpose(1, 2), dim=-1)
        context = weights @ enc_hs
        scores = self.affine(torch.cat((context, dec_hs), dim=2))
        return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), ts[:, 1:].reshape(-1))

    def book_gradients(self) -> list[Array]:
        """Gradients in the order and layout of AttentionSeq2seq.params."""

        def grad(p: Any) -> Array:
            if p.grad is None:
                raise DifferentComputations("PyTorch's backward left a gradient unset")
            array: Array = p.grad.detach().numpy()
            return array

        grads = [grad(self.encoder_embed.weight)]
        for lstm, embed in ((self.encoder_lstm, None), (self.decoder_lstm, self.decoder_embed)):
            if embed is not None:
                grads.append(grad(embed.weight))
            grads += [
                torch_to_book_gates(grad(lstm.get_parameter("weight_ih_l0")).T),
                torch_to_book_gates(grad(lstm.get_parameter("weight_hh_l0")).T),
                torch_to_book_gates(grad(lstm.get_parameter("bias_ih_l0"))),  # = the gradient of bias_hh too
            ]
        grads += [grad(self.affine.weight).T, grad(self.affine.bias)]
        return grads


def torch_step(problem: Problem) -> Step:
    model = TorchAttentionSeq2seq(problem.weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=ADAM_EPS)
    xs, ts = torch.from_numpy(problem.xs), torch.from_numpy(problem.ts)

    def step() -> object:
        optimizer.zero_grad()
        loss = model(xs, ts)
        loss.backward()
        optimizer.step()
        return loss

    return step


# --- same computation? ----------------------------------------------------------------------


@dataclass
class Agreement:
    dtype: str
    loss: float
    gradients: float
    tolerance: float


def check_same_computation(problem: Problem) -> Agreement:
    """One forward and backward of each from the same weights: same loss, same gradients."""
    ours = scratchnn_model(problem)
    our_loss = float(ours.forward(problem.xs, problem.ts))
    ours.backward()
    theirs = TorchAttentionSeq2seq(problem.weights)
    their_loss = theirs(torch.from_numpy(problem.xs), torch.from_numpy(problem.ts))
    their_loss.backward()
    agreement = Agreement(
        problem.dtype,
        relative_difference(our_loss, float(their_loss.item())),
        largest_difference(ours.grads, theirs.book_gradients()),
        TOLERANCE[problem.dtype],
    )
    if not max(agreement.loss, agreement.gradients) <= agreement.tolerance:
        raise DifferentComputations(
            f"scratchnn and PyTorch disagree on AttentionSeq2seq ({problem.dtype}): relative differences "
            f"loss {agreement.loss:.3g}, gradients {agreement.gradients:.3g}; "
            f"tolerance {agreement.tolerance:g}"
        )
    return agreement


# --- timing ----------------------------------------------------------------------------------


def measure(quick: bool = False) -> dict[str, Any]:
    """Check both dtypes, then time float32 steps at equal thread counts: scratchnn with NumPy's
    BLAS at its default and at 1 thread, PyTorch at 1 thread and at its default."""
    # A step takes tens to hundreds of milliseconds: a block is one or a few steps.
    repeats, block_seconds, max_repeats = (5, 0.3, 5) if quick else (11, 1.0, None)
    agreements = [check_same_computation(make_problem(dtype)) for dtype in ("float64", "float32")]
    problem = make_problem("float32")
    blas = numpy_openblas()
    blas_default = blas.get_threads() if blas is not None else None
    torch_threads = torch_default_threads()
    threads_before = torch.get_num_threads()

    try:
        contenders = [
            Contender(
                f"scratchnn, BLAS {blas_default or 'default'} threads",
                scratchnn_step(problem),
                set_numpy_threads(blas_default),
            )
        ]
        labels = [str(blas_default or "default")]
        if blas is not None:
            contenders.append(
                Contender("scratchnn, BLAS 1 thread", scratchnn_step(problem), set_numpy_threads(1))
            )
            labels.append("1")
        contenders += [
            Contender("torch, 1 thread", torch_step(problem), set_torch_threads(1)),
            Contender(
                f"torch, {torch_threads} threads", torch_step(problem), set_torch_threads(torch_threads)
            ),
        ]
        labels += ["1", str(torch_threads)]
        timings, shares = time_interleaved(contenders, repeats, block_seconds, SETTLE_SECONDS, max_repeats)
    finally:
        torch.set_num_threads(threads_before)
        if blas is not None and blas_default is not None:
            blas.set_threads(blas_default)
    by_name = {t.name: t for t in timings}
    ours_single = by_name.get("scratchnn, BLAS 1 thread")
    torch_single, torch_default = timings[-2], timings[-1]
    return {
        "sizes": {
            "batch": BATCH,
            "encoder_steps": int(problem.xs.shape[1]),
            "decoder_steps": int(problem.ts.shape[1] - 1),
            "vocab": problem.vocab_size,
            "wordvec": WORDVEC,
            "hidden": HIDDEN,
            "dtype": "float32",
        },
        "repeats": repeats,
        "block_seconds": block_seconds,
        "numpy_blas_default_threads": blas_default,
        "torch_default_threads": torch_threads,
        "torch_blas": torch_blas(),
        "agreement": [asdict(a) for a in agreements],
        "contenders": [
            {
                "name": t.name,
                "threads": label,
                "median_seconds": t.median,
                "spread": t.spread,
                "calls_per_block": t.calls_per_block,
                "samples": t.samples,
            }
            for t, label in zip(timings, labels, strict=True)
        ],
        "ratios": {
            "same_threads_1": None if ours_single is None else median_ratio(ours_single, torch_single),
            "same_threads_default": median_ratio(timings[0], torch_default),
        },
        "repeats_run": len(shares),
        "clean_repeats": sum(timings[0].clean),
        "disturbed": timings[0].disturbed,
        "others_cpu_share": shares,
    }


def render(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    shape = (
        f"N={sizes['batch']}, {sizes['encoder_steps']} encoder and {sizes['decoder_steps']} decoder steps, "
        f"V={sizes['vocab']} D={sizes['wordvec']} H={sizes['hidden']}, {sizes['dtype']}"
    )
    title = (
        f"AttentionSeq2seq training step (forward + backward + Adam), {shape}: median ms per step over "
        f"the clean interleaved repeats ({result['repeats']} wanted)"
    )
    table = contender_table(result["contenders"], title)
    ratios = result["ratios"]
    blas, threads = result["numpy_blas_default_threads"], result["torch_default_threads"]
    single = ratios["same_threads_1"]
    lines = [
        table,
        "ratio (scratchnn time / torch time, median of the per-repeat ratios; > 1: scratchnn slower):",
        f"  1 thread each: {'-' if single is None else f'{single:.2f}x'}",
        f"  defaults (NumPy BLAS {blas or 'default'}, torch {threads}): "
        f"{ratios['same_threads_default']:.2f}x",
    ]
    clean = f"{result['clean_repeats']}/{result['repeats_run']}"
    lines.append(
        f"clean repeats: {clean}{' DISTURBED' if result['disturbed'] else ''} (other processes used at most "
        f"{DISTURBED_SHARE:.0%} of the CPUs; all repeats used if fewer than {MIN_CLEAN_REPEATS} are clean)"
    )
    agreement = "; ".join(
        f"{a['dtype']}: loss {a['loss']:.1e}, gradients {a['gradients']:.1e} (tolerance {a['tolerance']:g})"
        for a in result["agreement"]
    )
    lines.append(
        f"same computation before timing (max relative difference): {agreement}; "
        f"torch BLAS {result['torch_blas']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(measure(quick=True)))
