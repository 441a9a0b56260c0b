"""One SGD training step of TwoLayerNet: scratchnn (NumPy) against PyTorch eager on CPU.

The step is forward + backward + parameter update of Affine - Sigmoid - Affine
with softmax cross-entropy, on one fixed batch with class-index labels:

- scratchnn: ``model.forward(x, t)``, ``model.backward()``,
  ``SGD.update(model.params, model.grads)`` (the Trainer's step, without its
  shared-weight de-duplication and bookkeeping);
- PyTorch: ``nn.Linear`` / ``nn.Sigmoid`` / ``nn.Linear``, ``F.cross_entropy``,
  ``torch.optim.SGD`` with ``zero_grad`` / ``backward`` / ``step``.

Both start from the same weights (drawn once, written into TwoLayerNet's
parameter arrays and, transposed, into the ``nn.Linear`` layers) and see the
same batch in the same dtype. Before timing, one step of each is compared
(loss, gradients, parameters after the update, loss after it): a benchmark of
two different computations would be worthless, so a mismatch raises
:class:`DifferentComputations`.

PyTorch runs twice, as two contenders: with one intra-op thread and with its
default thread count, which is read from a fresh interpreter because importing
``conformance`` sets one thread for the whole process. ``torch.set_num_threads``
is process-wide, so each contender sets its count before each of its timed
blocks, and the process's own setting is restored at the end. NumPy runs as it
is: its BLAS (OpenBLAS in the NumPy wheels) may use one thread per core.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
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
    Timing,
    median_ratio,
    time_interleaved,
)
from scratchnn._openblas import numpy_openblas
from scratchnn.models import TwoLayerNet
from scratchnn.optimizers import SGD

LEARNING_RATE = 0.1
SEED = 2026

# TwoLayerNet's default weights (0.01 * N(0, 1), zero biases) make every hidden
# unit about 0.5 and the W1 gradient tiny, so a wrong W1 gradient would barely
# show after one step. Weights of N(0, 1 / fan_in) and biases of N(0, BIAS_SCALE^2)
# keep the sigmoids out of saturation and every gradient visible.
BIAS_SCALE = 0.1

# How close the two implementations must agree over one step (relative to the
# largest value compared). The differences come only from the order of
# floating-point sums (BLAS blocking, reductions): measured here at most 7e-7 in
# float32 and 1e-15 in float64, over 10x and 1000x below these bounds, while a
# wrong formula, learning rate or label handling is off by far more.
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


@dataclass(frozen=True)
class Size:
    """Batch and layer widths of one benchmarked network."""

    label: str
    batch: int
    inputs: int
    hidden: int
    outputs: int

    def describe(self) -> str:
        return f"{self.label}: N={self.batch} {self.inputs}->{self.hidden}->{self.outputs}"


SIZES = (
    Size("spiral", 30, 2, 10, 3),  # the book's spiral run (section 1.4)
    Size("medium", 100, 100, 100, 10),
    Size("mnist", 256, 784, 256, 10),  # an MNIST-sized MLP
)
DTYPES = ("float32", "float64")

Array = npt.NDArray[Any]
Step = Callable[[], object]


class DifferentComputations(AssertionError):
    """scratchnn and PyTorch do not compute the same step: the timings would mean nothing."""


@dataclass(frozen=True)
class Problem:
    """One batch and one set of initial weights (W1, b1, W2, b2 in the book's layout)."""

    size: Size
    dtype: str
    x: Array
    t: Array
    weights: tuple[Array, ...]


def make_problem(size: Size, dtype: str) -> Problem:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((size.batch, size.inputs)).astype(dtype)
    t = rng.integers(0, size.outputs, size.batch)
    shapes = [(size.inputs, size.hidden), (size.hidden,), (size.hidden, size.outputs), (size.outputs,)]
    weights = tuple(_initial(rng, shape).astype(dtype) for shape in shapes)
    return Problem(size, dtype, x, t, weights)


def _initial(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    scale = 1 / np.sqrt(shape[0]) if len(shape) == 2 else BIAS_SCALE
    return scale * rng.standard_normal(shape)


# --- the two implementations ----------------------------------------------------------


def scratchnn_model(problem: Problem) -> tuple[TwoLayerNet, SGD]:
    size = problem.size
    model = TwoLayerNet(size.inputs, size.hidden, size.outputs, dtype=np.dtype(problem.dtype))
    for own, initial in zip(model.params, problem.weights, strict=True):
        own[...] = initial
    return model, SGD(lr=LEARNING_RATE)


def scratchnn_step(problem: Problem) -> tuple[Step, TwoLayerNet]:
    """A fresh model from the problem's weights and a function doing one step of it."""
    model, optimizer = scratchnn_model(problem)
    x, t = problem.x, problem.t

    def step() -> object:
        loss = model.forward(x, t)
        model.backward()
        optimizer.update(model.params, model.grads)
        return loss

    return step, model


def torch_model(problem: Problem) -> torch.nn.Sequential:
    size, dtype = problem.size, getattr(torch, problem.dtype)
    first = torch.nn.Linear(size.inputs, size.hidden, dtype=dtype)
    second = torch.nn.Linear(size.hidden, size.outputs, dtype=dtype)
    W1, b1, W2, b2 = (torch.from_numpy(w) for w in problem.weights)
    with torch.no_grad():  # nn.Linear keeps W as (out, in): the transpose of the book's (in, out)
        first.weight.copy_(W1.T)
        first.bias.copy_(b1)
        second.weight.copy_(W2.T)
        second.bias.copy_(b2)
    return torch.nn.Sequential(first, torch.nn.Sigmoid(), second)


def torch_step(problem: Problem) -> tuple[Step, torch.nn.Sequential]:
    model = torch_model(problem)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, t = torch.from_numpy(problem.x), torch.from_numpy(problem.t)

    def step() -> object:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()  # type: ignore[no-untyped-call]  # (untyped in torch's annotations)
        optimizer.step()
        return loss

    return step, model


def in_book_layout(tensors: Iterable[torch.Tensor]) -> list[Array]:
    """W1, b1, W2, b2 (or their gradients) as NumPy arrays, weights transposed back to (in, out)."""
    return [t.detach().numpy().T if t.ndim == 2 else t.detach().numpy() for t in tensors]


def torch_blas() -> str:
    available: bool = torch.backends.mkl.is_available()  # type: ignore[no-untyped-call]
    return "MKL" if available else "not MKL"


# --- same computation? ------------------------------------------------------------------


@dataclass
class Agreement:
    """Largest relative differences between scratchnn and PyTorch over one step."""

    loss: float
    gradients: float
    parameters: float
    loss_after: float
    tolerance: float

    @property
    def worst(self) -> float:
        return max(self.loss, self.gradients, self.parameters, self.loss_after)


def as_float(loss: object) -> float:
    """A step's loss (a NumPy scalar or a 0-d tensor) as a Python float."""
    if isinstance(loss, torch.Tensor):
        return float(loss.item())
    if isinstance(loss, np.floating):
        return float(loss)
    raise TypeError(f"a training step returned {type(loss).__name__}, not a scalar loss")


def relative_difference(a: Array | float, b: Array | float) -> float:
    """max |a - b| / max |b|, in float64."""
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b64))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a64 - b64))) / scale


def largest_difference(ours: Sequence[Array], theirs: Sequence[Array]) -> float:
    return max(relative_difference(a, b) for a, b in zip(ours, theirs, strict=True))


def check_same_computation(problem: Problem) -> Agreement:
    """One step of each from the same weights: same loss, gradients, new parameters, new loss."""
    ours, our_model = scratchnn_step(problem)
    theirs, their_model = torch_step(problem)
    loss = relative_difference(as_float(ours()), as_float(theirs()))
    their_grads = in_book_layout(p.grad for p in their_model.parameters() if p.grad is not None)
    gradients = largest_difference(our_model.grads, their_grads)
    parameters = largest_difference(our_model.params, in_book_layout(their_model.parameters()))
    x, t = torch.from_numpy(problem.x), torch.from_numpy(problem.t)
    with torch.no_grad():
        their_loss_after = F.cross_entropy(their_model(x), t)
    our_loss_after = our_model.forward(problem.x, problem.t)
    loss_after = relative_difference(as_float(our_loss_after), as_float(their_loss_after))
    agreement = Agreement(loss, gradients, parameters, loss_after, TOLERANCE[problem.dtype])
    if not agreement.worst <= agreement.tolerance:
        raise DifferentComputations(
            f"scratchnn and PyTorch disagree on one SGD step of {problem.size.describe()} {problem.dtype}: "
            f"relative differences: loss {loss:.3g}, gradients {gradients:.3g}, "
            f"parameters after the step {parameters:.3g}, loss after the step {loss_after:.3g}; "
            f"tolerance {agreement.tolerance:g}"
        )
    return agreement


# --- timing ----------------------------------------------------------------------------------


def torch_default_threads() -> int:
    """The intra-op thread count of a fresh PyTorch process (under this environment).

    Not ``torch.get_num_threads()`` here: ``conformance.autograd`` calls
    ``torch.set_num_threads(1)`` when imported, for the whole process.
    """
    completed = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(completed.stdout.strip())


def set_torch_threads(count: int) -> Callable[[], None]:
    def prepare() -> None:
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)

    return prepare


def set_numpy_threads(count: int | None) -> Callable[[], None]:
    """Prepare a contender: NumPy's OpenBLAS at ``count`` threads (left alone for None, or where
    it is not found)."""

    def prepare() -> None:
        blas = numpy_openblas()
        if blas is not None and count is not None and blas.get_threads() != count:
            blas.set_threads(count)

    return prepare


@dataclass
class ContenderResult:
    name: str
    threads: str
    median_seconds: float
    spread: float
    calls_per_block: int
    samples: list[float]


@dataclass
class CaseResult:
    size: str
    batch: int
    layers: str
    dtype: str
    contenders: list[ContenderResult]
    ratio_vs_torch_1_thread: float
    ratio_vs_torch_default: float
    agreement: Agreement
    repeats_run: int
    clean_repeats: int
    disturbed: bool
    others_cpu_share: list[float | None]


def time_case(
    problem: Problem, torch_threads: int, repeats: int, block_seconds: float, max_repeats: int | None
) -> CaseResult:
    agreement = check_same_computation(problem)
    ours, _ = scratchnn_step(problem)
    single, _ = torch_step(problem)
    default, _ = torch_step(problem)
    contenders = [
        Contender("scratchnn", ours),
        Contender("torch, 1 thread", single, set_torch_threads(1)),
        Contender(f"torch, {torch_threads} threads", default, set_torch_threads(torch_threads)),
    ]
    timings, shares = time_interleaved(contenders, repeats, block_seconds, SETTLE_SECONDS, max_repeats)
    threads = [numpy_blas_threads(), "1", str(torch_threads)]
    size = problem.size
    return CaseResult(
        size=size.label,
        batch=size.batch,
        layers=f"{size.inputs}->{size.hidden}->{size.outputs}",
        dtype=problem.dtype,
        contenders=[_contender_result(t, n) for t, n in zip(timings, threads, strict=True)],
        ratio_vs_torch_1_thread=median_ratio(timings[0], timings[1]),
        ratio_vs_torch_default=median_ratio(timings[0], timings[2]),
        agreement=agreement,
        repeats_run=len(shares),
        clean_repeats=sum(timings[0].clean),
        disturbed=timings[0].disturbed,
        others_cpu_share=shares,
    )


def _contender_result(timing: Timing, threads: str) -> ContenderResult:
    return ContenderResult(
        timing.name, threads, timing.median, timing.spread, timing.calls_per_block, timing.samples
    )


def measure(quick: bool = False, sizes: Sequence[Size] = SIZES) -> dict[str, Any]:
    """Every size and dtype; ``quick`` takes fewer and shorter repeats."""
    # --quick is a smoke run: no extra repeats when other processes disturb some.
    repeats, block_seconds, max_repeats = (5, 0.02, 5) if quick else (11, 0.1, None)
    torch_threads = torch_default_threads()
    threads_before = torch.get_num_threads()
    try:
        cases = [
            time_case(make_problem(size, dtype), torch_threads, repeats, block_seconds, max_repeats)
            for size in sizes
            for dtype in DTYPES
        ]
    finally:
        torch.set_num_threads(threads_before)
    return {
        "repeats": repeats,
        "block_seconds": block_seconds,
        "settle_seconds": SETTLE_SECONDS,
        "learning_rate": LEARNING_RATE,
        "torch_default_threads": torch_threads,
        "torch_blas": torch_blas(),
        "cases": [asdict(case) for case in cases],
    }


def _case_row(case: dict[str, Any]) -> list[str]:
    ours, single, default = case["contenders"]
    clean = f"{case['clean_repeats']}/{case['repeats_run']}"
    differences = (case["agreement"][k] for k in ("loss", "gradients", "parameters", "loss_after"))
    return [
        case["size"],
        str(case["batch"]),
        case["layers"],
        case["dtype"],
        microseconds(ours["median_seconds"]),
        microseconds(single["median_seconds"]),
        microseconds(default["median_seconds"]),
        f"{case['ratio_vs_torch_1_thread']:.2f}x",
        f"{case['ratio_vs_torch_default']:.2f}x",
        f"{max(c['spread'] for c in case['contenders']):.0%}",
        f"{clean} DISTURBED" if case["disturbed"] else clean,
        f"{max(differences):.1e}",
    ]


def render(result: dict[str, Any]) -> str:
    rows = [_case_row(case) for case in result["cases"]]
    threads = result["torch_default_threads"]
    headers = [
        "size",
        "N",
        "layers",
        "dtype",
        "scratchnn us",
        "torch 1t us",
        f"torch {threads}t us",
        "ratio/1t",
        f"ratio/{threads}t",
        "IQR",
        "clean",
        "max rel diff",
    ]
    title = (
        f"Training step (forward + backward + SGD update), median us per step over the clean "
        f"interleaved repeats ({result['repeats']} wanted)"
    )
    blas_threads = result["cases"][0]["contenders"][0]["threads"] if result["cases"] else "unknown"
    notes = [
        "ratio: scratchnn time / torch time, median of the per-repeat ratios (> 1: scratchnn slower).",
        f"threads: scratchnn = NumPy as is, BLAS threads {blas_threads} (its BLAS may use one per core: "
        f"{os.cpu_count()} here); "
        f"torch ({result['torch_blas']}) = 1, then its default {threads}.",
        "IQR: interquartile range / median of the noisiest contender. clean: repeats in which other "
        f"processes used at most {DISTURBED_SHARE:.0%} of the CPUs / repeats run; medians are over the clean "
        f"ones (all of them, flagged DISTURBED, if fewer than {MIN_CLEAN_REPEATS}).",
        "max rel diff: scratchnn vs torch over one step (loss, gradients, new parameters, new loss).",
    ]
    return "\n".join([format_table(headers, rows, title), *notes])


if __name__ == "__main__":
    print(render(measure(quick=True)))
