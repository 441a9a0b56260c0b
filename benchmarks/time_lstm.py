"""TimeLSTM forward + backward against ``torch.nn.LSTM`` on CPU, float32, N=20 T=35 D=H=650.

The size is the book's "better" RNNLM (hidden size 650, 35 time steps, batch 20); DESIGN.md
§7 asks for scratchnn ≤ 1.5× PyTorch's time at the same thread count.

One step of each contender is ``hs = lstm(xs)`` followed by the backward pass with the same
upstream gradient ``dhs``: scratchnn's ``TimeLSTM.forward`` / ``backward`` (which also returns
dxs and fills dWx, dWh, db), and PyTorch's ``torch.nn.LSTM(batch_first=True)`` with ``xs``
requiring a gradient, ``out.backward(dhs)``. Both start from the same weights: the book's
gate blocks (f, g, i, o) are permuted to PyTorch's (i, f, g, o), the weights transposed,
``bias_ih = b`` (permuted) and ``bias_hh = 0``. Before timing, one step of each is compared —
hs, dxs, dWx, dWh, db to float32 tolerance — and a mismatch stops the benchmark
(:class:`benchmarks.training_step.DifferentComputations`).

Threads: NumPy's BLAS (OpenBLAS in the NumPy wheels) uses one thread per core unless told
otherwise; PyTorch's default is read from a fresh interpreter (importing ``conformance`` sets
one thread for the whole process, see training_step.py). Four contenders are timed,
interleaved (benchmarks.timing): scratchnn with NumPy's BLAS at 1 thread and at its default,
PyTorch at 1 thread and at its default. NumPy's BLAS count is set through OpenBLAS's own
``openblas_set_num_threads`` (found with ctypes in the library NumPy loaded, see
``scratchnn._openblas``); where that is not possible, the 1-thread scratchnn contender is left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from benchmarks.report import contender_table
from benchmarks.timing import (
    DISTURBED_SHARE,
    MIN_CLEAN_REPEATS,
    SETTLE_SECONDS,
    Contender,
    Timing,
    median_ratio,
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
from scratchnn.time_layers import TimeLSTM

N, T, D, H = 20, 35, 650, 650
SEED = 2026

# float32 agreement between the two implementations, relative to the largest value compared.
# Differences come from the order of the sums in the products (H = 650 terms per dot
# product, 35 steps of recurrence, 700 rows summed into each weight gradient): measured here
# at most about 2e-6; a wrong gate order, transposition or missing term is off by far more.
TOLERANCE = 1e-4

Array = npt.NDArray[Any]


# --- the problem and the two implementations -----------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Weights in the book's layout (f, g, i, o blocks), inputs and the upstream gradient."""

    Wx: Array
    Wh: Array
    b: Array
    xs: Array
    dhs: Array


def make_problem() -> Problem:
    rng = np.random.default_rng(SEED)
    scale = 1 / np.sqrt(H)  # PyTorch's own initialisation range, as a standard deviation
    return Problem(
        Wx=(scale * rng.standard_normal((D, 4 * H))).astype(np.float32),
        Wh=(scale * rng.standard_normal((H, 4 * H))).astype(np.float32),
        b=(scale * rng.standard_normal(4 * H)).astype(np.float32),
        xs=rng.standard_normal((N, T, D)).astype(np.float32),
        dhs=rng.standard_normal((N, T, H)).astype(np.float32),
    )


def torch_columns() -> Array:
    """The book's (f, g, i, o) columns in PyTorch's (i, f, g, o) row order."""
    return np.concatenate([np.arange(k * H, (k + 1) * H) for k in (2, 0, 1, 3)])


def scratchnn_step(problem: Problem) -> tuple[Callable[[], object], TimeLSTM]:
    layer = TimeLSTM(problem.Wx.copy(), problem.Wh.copy(), problem.b.copy())

    def step() -> object:
        layer.forward(problem.xs)
        return layer.backward(problem.dhs)

    return step, layer


def torch_step(problem: Problem) -> tuple[Callable[[], object], torch.nn.LSTM, torch.Tensor]:
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float32)
    cols = torch_columns()
    with torch.no_grad():
        lstm.get_parameter("weight_ih_l0").copy_(torch.from_numpy(problem.Wx[:, cols].T.copy()))
        lstm.get_parameter("weight_hh_l0").copy_(torch.from_numpy(problem.Wh[:, cols].T.copy()))
        lstm.get_parameter("bias_ih_l0").copy_(torch.from_numpy(problem.b[cols]))
        lstm.get_parameter("bias_hh_l0").zero_()
    x = torch.from_numpy(problem.xs.copy()).requires_grad_(True)
    dhs = torch.from_numpy(problem.dhs)

    def step() -> object:
        x.grad = None
        lstm.zero_grad()
        out, _ = lstm(x)
        out.backward(dhs)
        return out

    return step, lstm, x


@dataclass
class Agreement:
    """Largest relative differences between scratchnn and PyTorch over one step."""

    hs: float
    dxs: float
    dwx: float
    dwh: float
    db: float
    tolerance: float

    @property
    def worst(self) -> float:
        return max(self.hs, self.dxs, self.dwx, self.dwh, self.db)


def gradient(tensor: torch.Tensor) -> Array:
    if tensor.grad is None:
        raise DifferentComputations("torch.nn.LSTM's backward left a gradient unset")
    return tensor.grad.numpy()


def check_same_computation(problem: Problem) -> Agreement:
    ours, layer = scratchnn_step(problem)
    theirs, lstm, x = torch_step(problem)
    dxs = ours()
    out = theirs()
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"torch's step returned {type(out).__name__}, not the output tensor")
    inverse = np.argsort(torch_columns())
    agreement = Agreement(
        hs=relative_difference(layer.forward(problem.xs), out.detach().numpy()),
        dxs=relative_difference(np.asarray(dxs), gradient(x)),
        dwx=relative_difference(layer.grads[0], gradient(lstm.get_parameter("weight_ih_l0")).T[:, inverse]),
        dwh=relative_difference(layer.grads[1], gradient(lstm.get_parameter("weight_hh_l0")).T[:, inverse]),
        db=relative_difference(layer.grads[2], gradient(lstm.get_parameter("bias_ih_l0"))[inverse]),
        tolerance=TOLERANCE,
    )
    if not agreement.worst <= TOLERANCE:
        raise DifferentComputations(
            f"scratchnn's TimeLSTM and torch.nn.LSTM disagree (N={N} T={T} D={D} H={H} float32): "
            f"relative differences hs {agreement.hs:.3g}, dxs {agreement.dxs:.3g}, dWx {agreement.dwx:.3g}, "
            f"dWh {agreement.dwh:.3g}, db {agreement.db:.3g}; tolerance {TOLERANCE:g}"
        )
    return agreement


# --- timing ----------------------------------------------------------------------------------------


def measure(quick: bool = False) -> dict[str, Any]:
    # A step takes 50-300 ms, so a block is one or a few steps.
    repeats, block_seconds, max_repeats = (5, 0.2, 5) if quick else (11, 0.6, None)
    problem = make_problem()
    blas = numpy_openblas()
    blas_default = blas.get_threads() if blas is not None else None
    torch_threads = torch_default_threads()
    threads_before = torch.get_num_threads()

    try:
        agreement = check_same_computation(problem)
        ours, _ = scratchnn_step(problem)
        theirs_single, _, _ = torch_step(problem)
        theirs_default, _, _ = torch_step(problem)
        contenders = [
            Contender(
                f"scratchnn, BLAS {blas_default or 'default'} threads", ours, set_numpy_threads(blas_default)
            )
        ]
        labels = [str(blas_default or "default")]
        if blas is not None:
            contenders.append(Contender("scratchnn, BLAS 1 thread", ours, set_numpy_threads(1)))
            labels.append("1")
        contenders += [
            Contender("torch, 1 thread", theirs_single, set_torch_threads(1)),
            Contender(f"torch, {torch_threads} threads", theirs_default, set_torch_threads(torch_threads)),
        ]
        labels += ["1", str(torch_threads)]
        timings, shares = time_interleaved(contenders, repeats, block_seconds, SETTLE_SECONDS, max_repeats)
    finally:
        torch.set_num_threads(threads_before)
        if blas is not None and blas_default is not None:
            blas.set_threads(blas_default)
    by_name = {t.name: t for t in timings}
    ours_default = timings[0]
    ours_single = by_name.get("scratchnn, BLAS 1 thread")
    torch_single, torch_default = timings[-2], timings[-1]

    def ratio(a: Timing | None, b: Timing) -> float | None:
        return None if a is None else median_ratio(a, b)

    return {
        "size": {"N": N, "T": T, "D": D, "H": H, "dtype": "float32"},
        "repeats": repeats,
        "block_seconds": block_seconds,
        "numpy_blas_default_threads": blas_default,
        "torch_default_threads": torch_threads,
        "torch_blas": torch_blas(),
        "agreement": asdict(agreement),
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
            "same_threads_1": ratio(ours_single, torch_single),
            "same_threads_default": ratio(ours_default, torch_default),
            "default_vs_torch_1": ratio(ours_default, torch_single),
        },
        "repeats_run": len(shares),
        "clean_repeats": sum(ours_default.clean),
        "disturbed": ours_default.disturbed,
        "others_cpu_share": shares,
    }


def render(result: dict[str, Any]) -> str:
    size = result["size"]
    shape = f"N={size['N']} T={size['T']} D={size['D']} H={size['H']} {size['dtype']}"
    title = (
        f"TimeLSTM forward + backward, {shape}: median ms per step over the clean interleaved repeats "
        f"({result['repeats']} wanted)"
    )
    table = contender_table(result["contenders"], title)
    ratios = result["ratios"]
    blas, threads = result["numpy_blas_default_threads"], result["torch_default_threads"]

    def shown(value: float | None) -> str:
        return "n/a (NumPy's BLAS threads not controllable)" if value is None else f"{value:.2f}x"

    clean = f"{result['clean_repeats']}/{result['repeats_run']}"
    agreement = result["agreement"]
    worst = max(agreement[k] for k in ("hs", "dxs", "dwx", "dwh", "db"))
    lines = [
        table,
        f"ratio scratchnn / torch at 1 thread each:           {shown(ratios['same_threads_1'])}",
        f"ratio scratchnn / torch at default threads ({blas or '?'} / {threads}): "
        f"{shown(ratios['same_threads_default'])}",
        f"ratio scratchnn (default BLAS threads) / torch at 1 thread: {shown(ratios['default_vs_torch_1'])}",
        "ratio: median of the per-repeat ratios (> 1: scratchnn slower); goal (DESIGN.md §7): <= 1.5x at the "
        "same thread count.",
        f"torch ({result['torch_blas']}); cores: {os.cpu_count()}. clean repeats: {clean}"
        + (" DISTURBED: do not read anything into these numbers" if result["disturbed"] else "")
        + f" (a repeat is clean when other processes used at most {DISTURBED_SHARE:.0%} of the CPUs; "
        f"fewer than {MIN_CLEAN_REPEATS} clean: all used).",
        f"same computation: max relative difference {worst:.1e} over hs, dxs, dWx, dWh, db "
        f"(tolerance {agreement['tolerance']:g}).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(measure(quick=True)))
