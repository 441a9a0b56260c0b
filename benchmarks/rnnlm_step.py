"""One training step of the book's ``Rnnlm`` in scratchnn against the same model in PyTorch.

The step is the book's (``RnnlmTrainer.fit``, section 5.5.3 and ch. 6's
``train_rnnlm.py``): forward over a (N, T) block of word ids, backward, the
shared-weight merge, gradient clipping to a joint norm of ``MAX_GRAD``, an SGD
update. The LSTM is stateful: each step starts from the states the previous one
ended with (truncated BPTT), on both sides.

PyTorch's model is ``nn.Embedding -> nn.LSTM(batch_first=True) -> nn.Linear`` with
``F.cross_entropy`` (the mean over all N*T predictions, as ``TimeSoftmaxWithLoss``),
``clip_grad_norm_`` and ``torch.optim.SGD``, from the same weights: the book's LSTM
weights are (D, 4H) with gate blocks (f, g, i, o), PyTorch's (4H, D) with blocks
(i, f, g, o), so the blocks are permuted and the matrices transposed. PyTorch adds two
bias vectors (``b_ih + b_hh``); ``b_hh`` is zero and frozen, so ``b_ih`` plays the
book's ``b`` and receives the same update.

Before timing, one step of each from the same weights and zero states is compared:
loss, every gradient, the parameters after the update, and the loss after the update
(:class:`benchmarks.training_step.DifferentComputations` otherwise). Then the step is
timed as ``training_step`` does (interleaved blocks, medians, PyTorch with one thread
and with its default count). A breakdown of scratchnn's step by layer says where its
time goes, and the LSTM layer alone is timed against ``nn.LSTM`` (forward + backward).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

from benchmarks.report import format_table, microseconds
from benchmarks.timing import SETTLE_SECONDS, Contender, Timing, median_ratio, time_interleaved
from benchmarks.training_step import (
    DifferentComputations,
    as_float,
    relative_difference,
    torch_blas,
    torch_default_threads,
)
from scratchnn._openblas import numpy_openblas
from scratchnn.models import Rnnlm
from scratchnn.optimizers import SGD
from scratchnn.trainer import clip_grads, remove_duplicate

SEED = 2026
LEARNING_RATE = 20.0  # the book's ch. 6 train_rnnlm.py: lr = 20, max_grad = 0.25
MAX_GRAD = 0.25

# float32 throughout. The two sides differ only in the order of floating-point sums
# (BLAS blocking, reductions): measured here at most about 1e-6 relative to the largest
# value compared; a permuted gate block, a missing transpose or a wrong clipping factor
# is off by far more.
TOLERANCE = 1e-4

Array = npt.NDArray[Any]
Step = Callable[[], object]


@dataclass(frozen=True)
class Size:
    label: str
    vocab: int
    wordvec: int
    hidden: int
    batch: int
    time: int

    def describe(self) -> str:
        return f"{self.label}: V={self.vocab:,} D={self.wordvec} H={self.hidden} N={self.batch} T={self.time}"


BOOK = Size("book", 10_000, 100, 100, 20, 35)  # ch. 6 train_rnnlm.py on PTB


@dataclass(frozen=True)
class Problem:
    size: Size
    xs: Array
    ts: Array
    weights: tuple[Array, ...]  # embed_W, Wx, Wh, b, affine_W, affine_b in the book's layouts


def make_problem(size: Size) -> Problem:
    """A word-id batch and the book's initial weights (Rnnlm's own initialisation, float32).

    The bias gets small random values instead of the book's zeros, so that a wrong bias
    mapping would show; likewise the embedding is scaled up from the book's 1/100 so that
    the LSTM's input weights get gradients well above float32 rounding.
    """
    model = Rnnlm(size.vocab, size.wordvec, size.hidden, rng=SEED, dtype=np.float32)
    rng = np.random.default_rng(SEED + 1)
    embed_W, Wx, Wh, b, affine_W, affine_b = (p.copy() for p in model.params)
    embed_W *= 50
    b[...] = 0.1 * rng.standard_normal(b.shape)
    affine_b[...] = 0.1 * rng.standard_normal(affine_b.shape)
    xs = rng.integers(0, size.vocab, (size.batch, size.time))
    ts = rng.integers(0, size.vocab, (size.batch, size.time))
    return Problem(size, xs, ts, (embed_W, Wx, Wh, b, affine_W, affine_b))


# --- the two implementations ----------------------------------------------------------


def scratchnn_model(problem: Problem) -> Rnnlm:
    size = problem.size
    model = Rnnlm(size.vocab, size.wordvec, size.hidden, rng=0, dtype=np.float32)
    for own, initial in zip(model.params, problem.weights, strict=True):
        own[...] = initial
    return model


def scratchnn_step(problem: Problem, max_grad: float = MAX_GRAD) -> tuple[Step, Rnnlm]:
    model = scratchnn_model(problem)
    optimizer = SGD(lr=LEARNING_RATE)
    xs, ts = problem.xs, problem.ts

    def step() -> object:
        loss = model.forward(xs, ts)
        model.backward()
        params, grads = remove_duplicate(model.params, model.grads)
        clip_grads(grads, max_grad)
        optimizer.update(params, grads)
        return loss

    return step, model


def _gate_order(H: int) -> Array:
    """Columns of the book's (f, g, i, o) blocks in PyTorch's order (i, f, g, o)."""
    f, g, i, o = (np.arange(k * H, (k + 1) * H) for k in range(4))
    return np.concatenate([i, f, g, o])


class TorchRnnlm(torch.nn.Module):
    """nn.Embedding -> nn.LSTM -> nn.Linear, stateful across calls like the book's Rnnlm."""

    def __init__(self, problem: Problem) -> None:
        super().__init__()
        size = problem.size
        V, D, H = size.vocab, size.wordvec, size.hidden
        self.embed = torch.nn.Embedding(V, D)
        self.lstm = torch.nn.LSTM(D, H, batch_first=True)
        self.affine = torch.nn.Linear(H, V)
        embed_W, Wx, Wh, b, affine_W, affine_b = (torch.from_numpy(w) for w in problem.weights)
        order = torch.from_numpy(_gate_order(H))
        with torch.no_grad():
            self.embed.weight.copy_(embed_W)
            self.lstm_param("weight_ih_l0").copy_(Wx[:, order].T)
            self.lstm_param("weight_hh_l0").copy_(Wh[:, order].T)
            self.lstm_param("bias_ih_l0").copy_(b[order])
            self.lstm_param("bias_hh_l0").zero_()
            self.affine.weight.copy_(affine_W.T)
            self.affine.bias.copy_(affine_b)
        self.lstm_param("bias_hh_l0").requires_grad_(False)  # the book's LSTM has one bias
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None

    def lstm_param(self, name: str) -> torch.Tensor:
        """One of nn.LSTM's parameters (typed: nn.Module's attribute access is not)."""
        return cast(torch.Tensor, getattr(self.lstm, name))

    def forward(self, xs: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
        hs, (h, c) = self.lstm(self.embed(xs), self.state)
        self.state = (h.detach(), c.detach())  # truncated BPTT: the next call starts here
        scores = self.affine(hs)
        return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), ts.reshape(-1))

    def book_layout(self, grads: bool) -> list[Array]:
        """embed_W, Wx, Wh, b, affine_W, affine_b (or their gradients) in the book's layouts."""
        H = self.lstm.hidden_size
        back = np.argsort(_gate_order(H))  # PyTorch's gate columns back to (f, g, i, o)

        def get(p: torch.Tensor) -> Array:
            t = p.grad if grads else p
            assert t is not None
            return t.detach().numpy()

        return [
            get(self.embed.weight),
            get(self.lstm_param("weight_ih_l0")).T[:, back],
            get(self.lstm_param("weight_hh_l0")).T[:, back],
            get(self.lstm_param("bias_ih_l0"))[back],
            get(self.affine.weight).T,
            get(self.affine.bias),
        ]


def torch_step(problem: Problem, max_grad: float = MAX_GRAD) -> tuple[Step, TorchRnnlm]:
    model = TorchRnnlm(problem)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trained, lr=LEARNING_RATE)
    xs, ts = torch.from_numpy(problem.xs), torch.from_numpy(problem.ts)

    def step() -> object:
        optimizer.zero_grad()
        loss: torch.Tensor = model(xs, ts)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(trained, max_grad)
        optimizer.step()
        return loss

    return step, model


# --- same computation? ------------------------------------------------------------------


@dataclass
class Agreement:
    loss: float
    gradients: float
    parameters: float
    loss_after: float
    gradient_norm: float  # joint norm of the gradients; the checked step clips to half of it

    @property
    def worst(self) -> float:
        return max(self.loss, self.gradients, self.parameters, self.loss_after)


def check_same_computation(problem: Problem) -> Agreement:
    """Gradients from the same weights and zero states, then one clipped step of each.

    The step clips to half the gradient's joint norm, so that clipping is exercised
    (the book's 0.25 is above the norm of this batch's gradient). PyTorch's
    ``clip_grad_norm_`` divides by ``norm + 1e-6``, scratchnn's ``clip_grads`` by the norm:
    a relative difference of 1e-6 / norm in the step, far below the tolerance.
    """
    fresh, reference = scratchnn_model(problem), TorchRnnlm(problem)
    xs, ts = torch.from_numpy(problem.xs), torch.from_numpy(problem.ts)
    reference_loss: torch.Tensor = reference(xs, ts)
    loss = relative_difference(as_float(fresh.forward(problem.xs, problem.ts)), as_float(reference_loss))
    fresh.backward()
    reference_loss.backward()  # type: ignore[no-untyped-call]
    their_grads = reference.book_layout(grads=True)
    gradients = max(relative_difference(a, b) for a, b in zip(fresh.grads, their_grads, strict=True))
    norm = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in fresh.grads)))

    ours, our_model = scratchnn_step(problem, max_grad=norm / 2)
    theirs, their_model = torch_step(problem, max_grad=norm / 2)
    ours()
    theirs()
    parameters = max(
        relative_difference(a, b)
        for a, b in zip(our_model.params, their_model.book_layout(grads=False), strict=True)
    )
    our_model.reset_state()  # the loss after the step, from zero states again
    their_model.state = None
    with torch.no_grad():
        their_after = their_model(xs, ts)
    loss_after = relative_difference(
        as_float(our_model.forward(problem.xs, problem.ts)), as_float(their_after)
    )
    agreement = Agreement(loss, gradients, parameters, loss_after, norm)
    if not agreement.worst <= TOLERANCE:
        raise DifferentComputations(
            f"scratchnn and PyTorch disagree on one Rnnlm step of {problem.size.describe()} float32: "
            f"relative differences: loss {loss:.3g}, gradients {gradients:.3g}, parameters after "
            f"the step {parameters:.3g}, loss after the step {loss_after:.3g}; tolerance {TOLERANCE:g}"
        )
    return agreement


# --- where scratchnn's step spends its time ---------------------------------------------


def breakdown_contenders(problem: Problem) -> list[Contender]:
    """Each part of scratchnn's step on its own, on the inputs it sees inside a step."""
    model = scratchnn_model(problem)
    embedding, lstm, affine = model.layers
    loss_layer = model.loss_layer
    xs, ts = problem.xs, problem.ts
    vectors = embedding.forward(xs)
    hs = lstm.forward(vectors)
    scores = affine.forward(hs)
    loss_layer.forward(scores, ts)
    dscores = loss_layer.backward()
    dhs = affine.backward(dscores)
    dvectors = lstm.backward(dhs)
    optimizer = SGD(lr=1e-12)  # a negligible step: the weights stay what they were

    def run_embedding() -> object:
        embedding.forward(xs)
        return embedding.backward(dvectors)

    def run_lstm() -> object:
        lstm.reset_state()
        lstm.forward(vectors)
        return lstm.backward(dhs)

    def run_affine() -> object:
        affine.forward(hs)
        return affine.backward(dscores)

    def run_loss() -> object:
        loss_layer.forward(scores, ts)
        return loss_layer.backward()

    def run_update() -> object:
        params, grads = remove_duplicate(model.params, model.grads)
        clip_grads(grads, 1e30)  # computes the norm, scales nothing
        optimizer.update(params, grads)
        return None

    return [
        Contender("TimeEmbedding", run_embedding),
        Contender("TimeLSTM", run_lstm),
        Contender("TimeAffine", run_affine),
        Contender("TimeSoftmaxWithLoss", run_loss),
        Contender("merge + clip + SGD", run_update),
    ]


def lstm_contenders(problem: Problem, numpy_default: int, torch_default: int) -> list[Contender]:
    """The LSTM layer alone, forward + backward, scratchnn against nn.LSTM, each on one thread
    and on its library's default count."""
    model = scratchnn_model(problem)
    embedding, lstm, _ = model.layers
    vectors = embedding.forward(problem.xs)
    rng = np.random.default_rng(SEED + 2)
    dhs = rng.standard_normal((problem.size.batch, problem.size.time, problem.size.hidden)).astype(np.float32)

    def ours() -> object:
        lstm.reset_state()
        lstm.forward(vectors)
        return lstm.backward(dhs)

    reference = TorchRnnlm(problem).lstm
    x = torch.from_numpy(vectors).requires_grad_(True)
    upstream = torch.from_numpy(dhs)

    def theirs() -> object:
        reference.zero_grad()
        x.grad = None
        out, _ = reference(x)
        out.backward(upstream)
        return x.grad

    return [
        Contender("scratchnn TimeLSTM, BLAS 1 thread", ours, set_threads(1, None)),
        Contender(
            f"scratchnn TimeLSTM, BLAS {numpy_default} threads", ours, set_threads(numpy_default, None)
        ),
        Contender("nn.LSTM, 1 thread", theirs, set_threads(None, 1)),
        Contender(f"nn.LSTM, {torch_default} threads", theirs, set_threads(None, torch_default)),
    ]


# --- threads -----------------------------------------------------------------------------

# NumPy's OpenBLAS thread count, read and set through the library's own functions (ctypes),
# found by scratchnn._openblas; None where NumPy's BLAS is not OpenBLAS.
_OPENBLAS = numpy_openblas()


def numpy_threads() -> int | None:
    return None if _OPENBLAS is None else _OPENBLAS.get_threads()


def set_threads(numpy_count: int | None, torch_count: int | None) -> Callable[[], None]:
    """Prepare a contender: NumPy's BLAS and PyTorch's intra-op thread counts (None: leave)."""

    def prepare() -> None:
        if numpy_count is not None and _OPENBLAS is not None:
            _OPENBLAS.set_threads(numpy_count)
        if torch_count is not None and torch.get_num_threads() != torch_count:
            torch.set_num_threads(torch_count)

    return prepare


# --- measure and render ------------------------------------------------------------------


def _summary(timings: list[Timing]) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "median_seconds": t.median,
            "spread": t.spread,
            "clean": sum(t.clean),
            "run": len(t.clean),
        }
        for t in timings
    ]


def measure(quick: bool = False, size: Size = BOOK) -> dict[str, Any]:
    repeats, block_seconds, max_repeats = (5, 0.1, 5) if quick else (11, 0.3, None)
    torch_default = torch_default_threads()
    torch_before = torch.get_num_threads()
    numpy_before = numpy_threads()
    numpy_default = numpy_before or 1
    problem = make_problem(size)
    try:
        agreement = check_same_computation(problem)
        contenders = [
            Contender("scratchnn, BLAS 1 thread", scratchnn_step(problem)[0], set_threads(1, None)),
            Contender(
                f"scratchnn, BLAS {numpy_default} threads",
                scratchnn_step(problem)[0],
                set_threads(numpy_default, None),
            ),
            Contender("torch, 1 thread", torch_step(problem)[0], set_threads(None, 1)),
            Contender(
                f"torch, {torch_default} threads", torch_step(problem)[0], set_threads(None, torch_default)
            ),
        ]
        steps, shares = time_interleaved(contenders, repeats, block_seconds, SETTLE_SECONDS, max_repeats)
        set_threads(1, None)()  # the parts of scratchnn's step on one BLAS thread
        parts, _ = time_interleaved(
            breakdown_contenders(problem), repeats, block_seconds / 2, SETTLE_SECONDS, max_repeats
        )
        lstm, _ = time_interleaved(
            lstm_contenders(problem, numpy_default, torch_default),
            repeats,
            block_seconds / 2,
            SETTLE_SECONDS,
            max_repeats,
        )
    finally:
        torch.set_num_threads(torch_before)
        set_threads(numpy_before, None)()
    return {
        "size": asdict(size),
        "learning_rate": LEARNING_RATE,
        "max_grad": MAX_GRAD,
        "repeats": repeats,
        "numpy_default_threads": numpy_before,
        "torch_default_threads": torch_default,
        "torch_blas": torch_blas(),
        "agreement": asdict(agreement),
        "step": _summary(steps),
        "ratio_1_thread": median_ratio(steps[0], steps[2]),
        "ratio_default_threads": median_ratio(steps[1], steps[3]),
        "others_cpu_share": shares,
        "disturbed": steps[0].disturbed,
        "breakdown": _summary(parts),
        "lstm": _summary(lstm),
        "lstm_ratio_1_thread": median_ratio(lstm[0], lstm[2]),
        "lstm_ratio_default_threads": median_ratio(lstm[1], lstm[3]),
    }


def render(result: dict[str, Any]) -> str:
    size = Size(**result["size"])
    numpy_default, torch_default = result["numpy_default_threads"], result["torch_default_threads"]
    ours_1, ours_n, torch_1, torch_n = result["step"]
    agreement = result["agreement"]
    worst = max(agreement[k] for k in ("loss", "gradients", "parameters", "loss_after"))
    clean = f"{ours_1['clean']}/{ours_1['run']}" + (" DISTURBED" if result["disturbed"] else "")
    step_table = format_table(
        ["threads", "scratchnn us", "torch us", "ratio", "clean"],
        [
            [
                "1",
                microseconds(ours_1["median_seconds"]),
                microseconds(torch_1["median_seconds"]),
                f"{result['ratio_1_thread']:.2f}x",
                clean,
            ],
            [
                f"default ({numpy_default} / {torch_default})",
                microseconds(ours_n["median_seconds"]),
                microseconds(torch_n["median_seconds"]),
                f"{result['ratio_default_threads']:.2f}x",
                clean,
            ],
        ],
        f"Rnnlm training step, float32 (forward + backward + merge + clip + SGD), {size.describe()}: "
        f"median us over the clean interleaved repeats ({result['repeats']} wanted)",
    )
    parts = result["breakdown"]
    total = sum(p["median_seconds"] for p in parts)
    part_table = format_table(
        ["part of scratchnn's step", "us", "share"],
        [[p["name"], microseconds(p["median_seconds"]), f"{p['median_seconds'] / total:.0%}"] for p in parts],
        "Where scratchnn's step goes (each part alone, forward + backward, BLAS 1 thread)",
    )
    lstm = result["lstm"]
    lstm_table = format_table(
        ["threads", "scratchnn TimeLSTM us", "nn.LSTM us", "ratio"],
        [
            [
                "1",
                microseconds(lstm[0]["median_seconds"]),
                microseconds(lstm[2]["median_seconds"]),
                f"{result['lstm_ratio_1_thread']:.2f}x",
            ],
            [
                f"default ({numpy_default} / {torch_default})",
                microseconds(lstm[1]["median_seconds"]),
                microseconds(lstm[3]["median_seconds"]),
                f"{result['lstm_ratio_default_threads']:.2f}x",
            ],
        ],
        "The LSTM layer alone, forward + backward",
    )
    largest = max(parts, key=lambda p: p["median_seconds"])
    notes = [
        "ratio: scratchnn time / torch time at the same thread count, median of the per-repeat ratios "
        "(> 1: scratchnn slower).",
        f"threads: NumPy's OpenBLAS set to 1, then its default ({numpy_default}); torch "
        f"({result['torch_blas']}) to 1, then its default ({torch_default}); {os.cpu_count()} cores.",
        f"same computation: loss, gradients (joint norm {agreement['gradient_norm']:.3g}), parameters and "
        f"loss after one step clipped to half that norm agree to {worst:.1e} (tolerance {TOLERANCE:g}); "
        f"timed steps clip at {result['max_grad']}, lr {result['learning_rate']:g}.",
        f"largest part of scratchnn's step: {largest['name']} "
        f"({largest['median_seconds'] / total:.0%} of the parts' sum).",
    ]
    return "\n\n".join([step_table, part_table, lstm_table, "\n".join(notes)])


if __name__ == "__main__":
    print(render(measure(quick=True)))
