"""One training step of CBOW with negative sampling, scratchnn against PyTorch; and PPMI at V = 10,000.

The step is the book's chapter-4 model at the book's PTB size: V = 10,000 words,
hidden 100, batch 100, window 5 (10 context words), 5 negatives, float32; forward,
backward and a plain SGD update (``scratchnn.optimizers.SGD`` /
``torch.optim.SGD``, lr 0.1, no momentum). PyTorch computes the same model:
``nn.Embedding`` for W_in and W_out (dense gradients, as scratchnn's), the mean of
the context rows, a gather of the target and negative rows and one ``torch.bmm``, then
``F.binary_cross_entropy_with_logits`` summed over the 6 scores and averaged over the
batch (the book's loss).

Both see the same weights, the same batch and the **same negatives**: those are drawn
once by scratchnn's ``UnigramSampler`` and injected into scratchnn by replacing
``model.ns_loss.sampler.get_negative_sample`` on the instance. Before timing, one step of
each is compared (loss, both gradients, the weights after the update, the loss after
it); a mismatch raises :class:`~benchmarks.training_step.DifferentComputations`.

Contenders: scratchnn **with** sampling (the sampler runs in the step, as in training;
PyTorch gets its negatives for free, so this is the conservative ratio), scratchnn
**without** sampling (the injected negatives: the same work as PyTorch's step),
PyTorch with 1 thread and with its default thread count. scratchnn runs with NumPy's
OpenBLAS at 1 thread: its SGD update is one BLAS axpy per weight
(``scratchnn._openblas.axpy``), which OpenBLAS would otherwise spread over the cores, so
"vs torch 1 thread" compares one core with one core. A breakdown of scratchnn's step
(sampler, forward, backward, update; and PyTorch's update) is timed separately, and
forward + backward without the update are compared on their own (the update is the
optimizer's, not the layers').

The second part times ``create_co_matrix`` (window 1) and ``ppmi`` on a generated corpus of
1,000,000 words over 10,000 word ids (Zipf-distributed, like text), the chapter-2
pipeline at PTB size: the co-occurrence matrix is 400 MB (int32) and the PPMI matrix
400 MB (float32).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

from benchmarks.report import format_table, microseconds, numpy_blas_threads
from benchmarks.timing import (
    DISTURBED_SHARE,
    MIN_CLEAN_REPEATS,
    SETTLE_SECONDS,
    Contender,
    cpu_snapshot,
    median_ratio,
    others_share,
    time_block,
    time_interleaved,
)
from benchmarks.training_step import (
    DifferentComputations,
    relative_difference,
    set_numpy_threads,
    set_torch_threads,
    torch_blas,
    torch_default_threads,
)
from scratchnn._openblas import numpy_openblas
from scratchnn.models import CBOW
from scratchnn.negative_sampling import UnigramSampler
from scratchnn.optimizers import SGD
from scratchnn.text import create_co_matrix, create_contexts_target, ppmi

VOCAB, HIDDEN, BATCH, WINDOW, NEGATIVES = 10_000, 100, 100, 5, 5
CORPUS_WORDS = 1_000_000
LEARNING_RATE = 0.1
SEED = 2026

# float32 sums in a different order (BLAS, reductions, scatter-adds): measured agreement is
# about 1e-7 relative to the largest value; a wrong scale, sign or index is off by far more.
TOLERANCE = 1e-5

Array = npt.NDArray[Any]
Step = Callable[[], object]


@dataclass(frozen=True)
class Problem:
    corpus: Array
    contexts: Array
    target: Array
    negatives: Array
    W_in: Array
    W_out: Array


def zipf_corpus(rng: np.random.Generator, words: int = CORPUS_WORDS, vocab: int = VOCAB) -> Array:
    """``words`` ids in [0, vocab) with P(rank k) proportional to 1 / k (Zipf's law, as in text)."""
    p = 1.0 / np.arange(1, vocab + 1)
    return rng.choice(vocab, size=words, p=p / p.sum())


def make_problem() -> Problem:
    rng = np.random.default_rng(SEED)
    corpus = zipf_corpus(rng)
    corpus[:VOCAB] = np.arange(VOCAB)  # every id occurs (the book's assumption; not needed here)
    contexts, target = create_contexts_target(corpus, WINDOW)
    rows = rng.choice(len(target), BATCH, replace=False)
    negatives = UnigramSampler(corpus, 0.75, NEGATIVES, rng=rng).get_negative_sample(target[rows])
    # N(0, 1/H) weights instead of 0.01 N(0, 1): scores of order 1, so every gradient is visible.
    scale = 1 / np.sqrt(HIDDEN)
    W_in = (scale * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)
    W_out = (scale * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)
    return Problem(corpus, contexts[rows], target[rows], negatives, W_in, W_out)


# --- the two implementations ----------------------------------------------------------------


def scratchnn_model(problem: Problem, inject: bool) -> CBOW:
    model = CBOW(VOCAB, HIDDEN, WINDOW, problem.corpus, rng=SEED, dtype=np.float32)
    model.params[0][...] = problem.W_in
    model.params[1][...] = problem.W_out
    if inject:
        negatives = problem.negatives

        def get_negative_sample(target: Array) -> Array:
            return negatives

        model.ns_loss.sampler.get_negative_sample = get_negative_sample  # type: ignore[method-assign]
    return model


def scratchnn_step(problem: Problem, inject: bool, update: bool = True) -> tuple[Step, CBOW]:
    """A function doing one step (``update=False``: forward and backward only) of a fresh model."""
    model = scratchnn_model(problem, inject)
    optimizer = SGD(lr=LEARNING_RATE)
    contexts, target = problem.contexts, problem.target

    def step() -> object:
        loss = model.forward(contexts, target)
        model.backward()
        if update:
            optimizer.update(model.params, model.grads)
        return loss

    return step, model


class TorchCBOW(torch.nn.Module):
    """The same CBOW: W_in and W_out as nn.Embedding (dense gradients), gather + bmm + BCE with logits."""

    def __init__(self, problem: Problem) -> None:
        super().__init__()
        self.W_in = torch.nn.Embedding(VOCAB, HIDDEN)
        self.W_out = torch.nn.Embedding(VOCAB, HIDDEN)
        with torch.no_grad():
            self.W_in.weight.copy_(torch.from_numpy(problem.W_in))
            self.W_out.weight.copy_(torch.from_numpy(problem.W_out))
        self.contexts = torch.from_numpy(problem.contexts)
        self.ids = torch.from_numpy(np.concatenate([problem.target[:, None], problem.negatives], axis=1))
        self.labels = torch.zeros(self.ids.shape)
        self.labels[:, 0] = 1  # the target; the negatives are 0

    def forward(self) -> torch.Tensor:
        h = self.W_in(self.contexts).mean(dim=1)  # (N, H)
        scores = torch.bmm(self.W_out(self.ids), h.unsqueeze(2)).squeeze(2)  # (N, 1 + S)
        return F.binary_cross_entropy_with_logits(scores, self.labels, reduction="sum") / BATCH


def torch_step(problem: Problem, update: bool = True) -> tuple[Step, TorchCBOW]:
    model = TorchCBOW(problem)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step() -> object:
        optimizer.zero_grad()
        loss = model()
        loss.backward()
        if update:
            optimizer.step()
        return loss

    return step, model


# --- same computation? -------------------------------------------------------------------------


@dataclass
class Agreement:
    loss: float
    gradients: float
    parameters: float
    loss_after: float

    @property
    def worst(self) -> float:
        return max(self.loss, self.gradients, self.parameters, self.loss_after)


def check_same_computation(problem: Problem) -> Agreement:
    ours, our_model = scratchnn_step(problem, inject=True)
    theirs, their_model = torch_step(problem)
    our_loss, their_loss = ours(), theirs()
    assert isinstance(their_loss, torch.Tensor)
    loss = relative_difference(float(np.asarray(our_loss)), float(their_loss.item()))
    their_grads = [
        p.grad.numpy() for p in (their_model.W_in.weight, their_model.W_out.weight) if p.grad is not None
    ]
    their_params = [p.detach().numpy() for p in (their_model.W_in.weight, their_model.W_out.weight)]
    gradients = max(relative_difference(a, b) for a, b in zip(our_model.grads, their_grads, strict=True))
    parameters = max(relative_difference(a, b) for a, b in zip(our_model.params, their_params, strict=True))
    with torch.no_grad():
        their_after = float(their_model().item())
    loss_after = relative_difference(
        float(np.asarray(our_model.forward(problem.contexts, problem.target))), their_after
    )
    agreement = Agreement(loss, gradients, parameters, loss_after)
    if len(their_grads) != 2 or not agreement.worst <= TOLERANCE:
        raise DifferentComputations(
            "scratchnn and PyTorch disagree on one CBOW step: relative differences: "
            f"loss {loss:.3g}, gradients {gradients:.3g}, parameters after the step {parameters:.3g}, "
            f"loss after the step {loss_after:.3g}; tolerance {TOLERANCE:g}"
        )
    return agreement


# --- timing --------------------------------------------------------------------------------------


def breakdown(problem: Problem, calls: int) -> dict[str, float]:
    """Median seconds of each part of scratchnn's step (5 blocks of ``calls`` calls each)."""
    model = scratchnn_model(problem, inject=True)
    sampler = UnigramSampler(problem.corpus, 0.75, NEGATIVES, rng=0)
    optimizer = SGD(lr=LEARNING_RATE)
    model.forward(problem.contexts, problem.target)
    model.backward()
    parts: dict[str, Callable[[], object]] = {
        "sampler": lambda: sampler.get_negative_sample(problem.target),
        "forward": lambda: model.forward(problem.contexts, problem.target),
        "backward": model.backward,
        "SGD update": lambda: optimizer.update(model.params, model.grads),
    }
    their_step, their_model = torch_step(problem, update=False)
    their_step()  # gradients in place for the update below
    their_optimizer = torch.optim.SGD(their_model.parameters(), lr=LEARNING_RATE)
    parts["torch's SGD update (1 thread)"] = their_optimizer.step
    torch.set_num_threads(1)
    set_numpy_threads(1)()
    result = {}
    for name, call in parts.items():
        call()
        time.sleep(SETTLE_SECONDS)
        result[name] = statistics.median(time_block(call, calls) for _ in range(5))
    return result


def time_text_pipeline(repeats: int) -> dict[str, Any]:
    """Seconds of create_co_matrix (window 1) and ppmi at V = 10,000, each repeated."""
    corpus = zipf_corpus(np.random.default_rng(SEED))
    co, pp, shares = [], [], []
    for _ in range(repeats):
        before = cpu_snapshot()
        start = time.perf_counter()
        C = create_co_matrix(corpus, VOCAB, window_size=1)
        middle = time.perf_counter()
        M = ppmi(C)
        end = time.perf_counter()
        shares.append(others_share(before, cpu_snapshot()))
        co.append(middle - start)
        pp.append(end - middle)
        nonzero = int(np.count_nonzero(C))
        del C, M
    return {
        "corpus_words": CORPUS_WORDS,
        "vocab": VOCAB,
        "nonzero_counts": nonzero,
        "co_matrix_seconds": co,
        "ppmi_seconds": pp,
        "others_cpu_share": shares,
    }


def measure(quick: bool = False) -> dict[str, Any]:
    repeats, block_seconds, max_repeats = (5, 0.05, 5) if quick else (11, 0.2, None)
    problem = make_problem()
    agreement = check_same_computation(problem)
    torch_threads = torch_default_threads()
    threads_before = torch.get_num_threads()
    blas = numpy_openblas()
    blas_before = None if blas is None else blas.get_threads()
    one_blas_thread = set_numpy_threads(1)
    try:
        with_sampling, _ = scratchnn_step(problem, inject=False)
        without_sampling, _ = scratchnn_step(problem, inject=True)
        single, _ = torch_step(problem)
        default, _ = torch_step(problem)
        contenders = [
            Contender("scratchnn", with_sampling, one_blas_thread),
            Contender("scratchnn, negatives given", without_sampling, one_blas_thread),
            Contender("torch, 1 thread", single, set_torch_threads(1)),
            Contender(f"torch, {torch_threads} threads", default, set_torch_threads(torch_threads)),
        ]
        timings, shares = time_interleaved(contenders, repeats, block_seconds, SETTLE_SECONDS, max_repeats)
        # forward + backward alone: the layers, without the optimizers' share
        gradients = [
            Contender(
                "scratchnn, negatives given",
                scratchnn_step(problem, inject=True, update=False)[0],
                one_blas_thread,
            ),
            Contender("torch, 1 thread", torch_step(problem, update=False)[0], set_torch_threads(1)),
        ]
        gradient_timings, gradient_shares = time_interleaved(
            gradients, repeats, block_seconds, SETTLE_SECONDS, max_repeats
        )
        parts = breakdown(problem, 20 if quick else 100)
    finally:
        torch.set_num_threads(threads_before)
        if blas is not None and blas_before is not None:
            blas.set_threads(blas_before)
    text = time_text_pipeline(1 if quick else 3)
    return {
        "sizes": {"vocab": VOCAB, "hidden": HIDDEN, "batch": BATCH, "window": WINDOW, "negatives": NEGATIVES},
        "learning_rate": LEARNING_RATE,
        "torch_default_threads": torch_threads,
        "torch_blas": torch_blas(),
        "numpy_blas_threads": "1" if blas is not None else numpy_blas_threads(),
        "agreement": asdict(agreement),
        "contenders": [
            {"name": t.name, "median_seconds": t.median, "spread": t.spread, "samples": t.samples}
            for t in timings
        ],
        "ratios": {
            "with_sampling_vs_torch_1_thread": median_ratio(timings[0], timings[2]),
            "with_sampling_vs_torch_default": median_ratio(timings[0], timings[3]),
            "without_sampling_vs_torch_1_thread": median_ratio(timings[1], timings[2]),
            "without_sampling_vs_torch_default": median_ratio(timings[1], timings[3]),
        },
        "forward_backward": {
            "scratchnn_median_seconds": gradient_timings[0].median,
            "torch_1_thread_median_seconds": gradient_timings[1].median,
            "ratio_vs_torch_1_thread": median_ratio(gradient_timings[0], gradient_timings[1]),
            "clean_repeats": sum(gradient_timings[0].clean),
            "repeats_run": len(gradient_shares),
        },
        "repeats_run": len(shares),
        "clean_repeats": sum(timings[0].clean),
        "disturbed": timings[0].disturbed,
        "others_cpu_share": shares,
        "breakdown_seconds": parts,
        "text_pipeline": text,
    }


def render(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    torch_contenders = result["contenders"][2:]
    ratios = result["ratios"]
    rows = []
    for index, contender in enumerate(result["contenders"]):
        kind = "with" if index == 0 else "without"
        rows.append(
            [
                contender["name"],
                microseconds(contender["median_seconds"]),
                f"{contender['spread']:.0%}",
                f"{ratios[f'{kind}_sampling_vs_torch_1_thread']:.2f}x" if index < 2 else "",
                f"{ratios[f'{kind}_sampling_vs_torch_default']:.2f}x" if index < 2 else "",
            ]
        )
    threads = result["torch_default_threads"]
    clean = f"{result['clean_repeats']}/{result['repeats_run']}" + (
        " DISTURBED" if result["disturbed"] else ""
    )
    title = (
        f"CBOW + negative sampling, one SGD step, float32: V={sizes['vocab']:,} H={sizes['hidden']} "
        f"N={sizes['batch']} window {sizes['window']} ({2 * sizes['window']} contexts), "
        f"{sizes['negatives']} negatives; median us per step, clean repeats {clean}"
    )
    table = format_table(["contender", "us/step", "IQR", "vs torch 1t", f"vs torch {threads}t"], rows, title)
    parts = dict(result["breakdown_seconds"])
    theirs = parts.pop("torch's SGD update (1 thread)")
    total = sum(parts.values())
    breakdown_line = (
        "scratchnn step by part (each timed alone): "
        + ", ".join(
            f"{name} {microseconds(seconds)} us ({seconds / total:.0%})" for name, seconds in parts.items()
        )
        + f"; torch's SGD update alone: {microseconds(theirs)} us"
    )
    fb = result["forward_backward"]
    forward_backward_line = (
        "forward + backward only (no update), negatives given: "
        f"scratchnn {microseconds(fb['scratchnn_median_seconds'])} us, "
        f"torch 1 thread {microseconds(fb['torch_1_thread_median_seconds'])} us: "
        f"{fb['ratio_vs_torch_1_thread']:.2f}x (clean repeats {fb['clean_repeats']}/{fb['repeats_run']})"
    )
    agreement = result["agreement"]
    text = result["text_pipeline"]
    notes = [
        f"torch: {torch_contenders[0]['name']} and {torch_contenders[1]['name']} ({result['torch_blas']}); "
        f"NumPy BLAS threads: {result['numpy_blas_threads']}.",
        "ratio: scratchnn time / torch time, median of per-repeat ratios (< 1: scratchnn faster). torch gets "
        "the negatives for free; 'scratchnn' samples them in the step, 'negatives given' does not.",
        f"same computation: relative differences loss {agreement['loss']:.1e}, gradients "
        f"{agreement['gradients']:.1e}, weights after the step {agreement['parameters']:.1e}, loss after "
        f"{agreement['loss_after']:.1e} (tolerance {TOLERANCE:g}).",
        f"clean: repeats in which other processes used at most {DISTURBED_SHARE:.0%} of the CPUs "
        f"(all used, flagged DISTURBED, if fewer than {MIN_CLEAN_REPEATS}).",
        breakdown_line,
        forward_backward_line,
        f"chapter 2 at V={text['vocab']:,}, {text['corpus_words']:,} words "
        f"({text['nonzero_counts']:,} nonzero counts): "
        f"create_co_matrix {_seconds(text['co_matrix_seconds'])}, ppmi {_seconds(text['ppmi_seconds'])} "
        f"(others' CPU share {_shares(text['others_cpu_share'])}).",
    ]
    return "\n".join([table, *notes])


def _seconds(values: list[float]) -> str:
    each = ", ".join(f"{v:.2f}" for v in values)
    return f"{statistics.median(values):.2f} s (runs: {each})" if len(values) > 1 else f"{values[0]:.2f} s"


def _shares(values: list[float | None]) -> str:
    return ", ".join("?" if v is None else f"{v:.0%}" for v in values)


if __name__ == "__main__":
    print(render(measure(quick=True)))
