"""Training loops: mini-batches (section 1.4) and truncated BPTT for language models (section 5.5.3),
with gradient clipping, shared-weight handling and the perplexity evaluation of section 6.4.2."""

from __future__ import annotations

import inspect
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray
from scratchnn.optimizers import Optimizer

__all__ = ["Model", "RnnlmTrainer", "Trainer", "clip_grads", "eval_perplexity", "remove_duplicate"]


class Model(Protocol):
    """What the Trainer needs: the layer protocol with a loss as output."""

    params: list[FloatArray]
    grads: list[FloatArray]

    def forward(self, x: Any, t: Any) -> Any: ...

    def backward(self, dout: float = 1) -> Any: ...


def clip_grads(grads: Sequence[FloatArray], max_norm: float) -> float:
    """Scale all gradients in place so that their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping. The joint norm is sqrt(sum of every squared
    element of every gradient), as in Pascanu, Mikolov and Bengio, "On the
    difficulty of training recurrent neural networks" (arXiv:1211.5063, Algorithm 1).
    """
    if not math.isfinite(max_norm) or max_norm <= 0:
        raise check.fail_value("clip_grads", "max_norm", "a positive finite number", repr(max_norm))
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads))
    if total > max_norm:
        rate = max_norm / total
        for g in grads:
            g *= rate
    return total


def remove_duplicate(
    params: Sequence[FloatArray], grads: Sequence[FloatArray]
) -> tuple[list[FloatArray], list[FloatArray]]:
    """One entry per distinct parameter buffer, for models that share weights.

    Sharing is by memory, never by value: the same array object in several
    layers, another view of the same elements, or a transposed view such as the
    ``embed_W.T`` that ``BetterRnnlm`` uses as its output weight (section 6.5.3).
    Arrays that are merely equal in value are different parameters.

    Each buffer is represented by its first occurrence in ``params``. Its gradient
    is the sum of the gradients of the occurrences in the same orientation plus
    the transposes of the gradients of the transposed occurrences (the book's
    ``grads[i] + grads[j].T``); a gradient array listed twice (a layer listed
    twice) is counted once. A buffer met once keeps its own gradient array;
    a merged gradient is a new array (the model's own grads are left as they are).
    Parameters that overlap in any other way (a slice of another parameter) are
    refused with a ``ValueError``: there is no single gradient to give them.
    """
    owner = "remove_duplicate"
    if len(params) != len(grads):
        raise check.fail_value(owner, "grads", f"a list parallel to params ({len(params)})", str(len(grads)))
    unique_params: list[FloatArray] = []
    # per buffer: the gradients in its orientation, and those of transposed occurrences
    same: list[list[FloatArray]] = []
    transposed: list[list[FloatArray]] = []
    for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
        for k, base in enumerate(unique_params):
            if param is base or _same_view(param, base):
                bucket = same[k]
            elif _transposed_view(param, base):
                bucket = transposed[k]
            elif np.may_share_memory(param, base) and np.shares_memory(param, base):
                raise check.fail_value(
                    owner,
                    f"params[{i}]",
                    "the same elements as another parameter (itself or its transpose), or none of them",
                    _describe_overlap(param, base),
                )
            else:
                continue
            if not any(grad is seen for seen in (*same[k], *transposed[k])):
                bucket.append(grad)
            break
        else:
            unique_params.append(param)
            same.append([grad])
            transposed.append([])
    unique_grads: list[FloatArray] = []
    for ours, theirs in zip(same, transposed, strict=True):
        if len(ours) == 1 and not theirs:
            unique_grads.append(ours[0])
            continue
        total = ours[0].copy()
        for g in ours[1:]:
            total += g
        for g in theirs:
            total += g.T
        unique_grads.append(total)
    return unique_params, unique_grads


def _address(array: FloatArray) -> int:
    return int(array.__array_interface__["data"][0])


def _same_view(a: FloatArray, b: FloatArray) -> bool:
    """Another view of exactly b's elements in b's layout (e.g. ``b[...]``)."""
    return a.shape == b.shape and a.strides == b.strides and _address(a) == _address(b)


def _transposed_view(a: FloatArray, b: FloatArray) -> bool:
    """A view of exactly b's elements with the axes reversed: ``b.T``."""
    return (
        a.ndim >= 2
        and a.shape == b.shape[::-1]
        and a.strides == b.strides[::-1]
        and _address(a) == _address(b)
    )


def _describe_overlap(a: FloatArray, b: FloatArray) -> str:
    return f"shape {a.shape} strides {a.strides} overlapping another of shape {b.shape} strides {b.strides}"


class Trainer:
    """Trains ``model`` with ``optimizer`` on shuffled mini-batches.

    The shuffling uses ``rng`` (a ``numpy.random.Generator`` or a seed), never
    NumPy's global random state. ``loss_list`` holds the mean loss of every
    ``eval_interval`` iterations; ``history`` the same points with the global
    iteration (``step``), epoch and any metrics. Calling ``fit`` again continues.
    """

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        rng: np.random.Generator | int | None = None,
        log: TextIO | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.log = log if log is not None else sys.stdout
        self.loss_list: list[float] = []
        self.history: list[dict[str, float]] = []
        self.step = 0  # iterations run so far, over all calls of fit

    def fit(
        self,
        x: np.ndarray[Any, Any],
        t: np.ndarray[Any, Any],
        max_epoch: int = 10,
        batch_size: int = 32,
        max_grad: float | None = None,
        eval_interval: int | None = 20,
        metrics: dict[str, Callable[[], float]] | None = None,
    ) -> list[float]:
        """Run ``max_epoch`` epochs of ``len(x) // batch_size`` iterations; return ``loss_list``.

        Every ``eval_interval`` iterations (``None``: never) the mean loss since the
        last report is appended to ``loss_list`` and printed with each of
        ``metrics`` (name -> function of no arguments, e.g. an accuracy).
        ``max_grad`` clips the joint gradient norm (:func:`clip_grads`).
        """
        owner = "Trainer.fit"
        if not isinstance(x, np.ndarray) or not isinstance(t, np.ndarray):
            raise check.fail_type(owner, "x and t", "numpy arrays", x if not isinstance(x, np.ndarray) else t)
        if x.ndim == 0 or t.ndim == 0 or len(x) != len(t):
            raise check.fail_value(
                owner, "t", f"an array with as many samples as x ({len(x)})", f"shape {t.shape}"
            )
        max_epoch = check.positive_int(owner, "max_epoch", max_epoch)
        batch_size = check.positive_int(owner, "batch_size", batch_size)
        if eval_interval is not None:
            eval_interval = check.positive_int(owner, "eval_interval", eval_interval)
        max_iters = len(x) // batch_size
        if max_iters == 0:
            raise check.fail_value(
                owner, "batch_size", f"at most the number of samples ({len(x)})", str(batch_size)
            )

        total_loss, loss_count, start = 0.0, 0, time.perf_counter()
        for epoch in range(max_epoch):
            order = self.rng.permutation(len(x))
            for iteration in range(max_iters):
                batch = order[iteration * batch_size : (iteration + 1) * batch_size]
                loss = self.model.forward(x[batch], t[batch])
                self.model.backward()
                params, grads = remove_duplicate(self.model.params, self.model.grads)
                if max_grad is not None:
                    clip_grads(grads, max_grad)
                self.optimizer.update(params, grads)
                total_loss += float(loss)
                loss_count += 1
                self.step += 1
                if eval_interval is not None and self.step % eval_interval == 0:
                    self._report(
                        epoch,
                        iteration,
                        max_iters,
                        self.step,
                        total_loss / loss_count,
                        start,
                        metrics,
                    )
                    total_loss, loss_count = 0.0, 0
        return self.loss_list

    def _report(
        self,
        epoch: int,
        iteration: int,
        max_iters: int,
        step: int,
        loss: float,
        start: float,
        metrics: dict[str, Callable[[], float]] | None,
    ) -> None:
        point = {"epoch": epoch + 1, "iteration": iteration + 1, "step": step, "loss": loss}
        point.update({name: float(fn()) for name, fn in (metrics or {}).items()})
        self.loss_list.append(loss)
        self.history.append(point)
        shown = " | ".join(
            f"{name} {value:.4f}"
            for name, value in point.items()
            if name not in ("epoch", "iteration", "step")
        )
        elapsed = time.perf_counter() - start
        print(
            f"| epoch {epoch + 1} | iter {iteration + 1} / {max_iters} | time {elapsed:.1f}[s] | {shown}",
            file=self.log,
            flush=True,
        )

    def save_plot(self, path: str | Path, ylim: tuple[float, float] | None = None) -> Path:
        """Save the loss curve as an image (format from the suffix); needs matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Trainer.save_plot needs matplotlib: pip install 'scratchnn[reports]'"
            ) from error
        path = Path(path)
        fig, ax = plt.subplots(figsize=(6, 4))
        steps = [point["step"] for point in self.history]
        ax.plot(steps, [point["loss"] for point in self.history], label="train")
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return path


class RnnlmTrainer:
    """Truncated-BPTT training of a language model: the book's ``RnnlmTrainer`` (section 5.5.3).

    ``fit(xs, ts)`` cuts the corpus into ``batch_size`` streams starting at
    ``offsets = [i * jump for i in range(batch_size)]``, ``jump = len(xs) // batch_size``,
    and feeds each iteration the next ``time_size`` words of every stream
    (a running time index, wrapping around the corpus), so a stateful model
    carries its hidden state from one block to the next. Each iteration:
    forward, backward, :func:`remove_duplicate` (shared and tied weights updated
    once), :func:`clip_grads` when ``max_grad`` is given, optimizer update.

    Every ``eval_interval`` iterations the perplexity exp(mean loss) since the
    last report is appended to ``ppl_list`` (and to ``history`` with its global
    iteration ``step``) and printed to ``log`` (default stdout).
    ``epoch_perplexities`` holds exp(mean loss) of every epoch. Calling ``fit``
    again continues: the time index, the lists and the epoch count carry on.
    """

    def __init__(self, model: Model, optimizer: Optimizer, *, log: TextIO | None = None) -> None:
        self.model = model
        self.optimizer = optimizer
        self.log = log if log is not None else sys.stdout
        self.time_idx = 0
        self.ppl_list: list[float] = []
        self.epoch_perplexities: list[float] = []
        self.history: list[dict[str, float]] = []
        self.eval_interval: int | None = None
        self.current_epoch = 0
        self.step = 0  # iterations run so far, over all calls of fit

    def get_batch(
        self, x: IntArray, t: IntArray, batch_size: int, time_size: int
    ) -> tuple[IntArray, IntArray]:
        """The next (batch_size, time_size) block of inputs and targets; advances ``time_idx``.

        Row i holds positions ``(i * jump + time_idx + k) % len(x)``, k = 0 .. time_size - 1,
        exactly the book's double loop, in one fancy index.
        """
        data_size = len(x)
        jump = data_size // batch_size
        offsets = np.arange(batch_size) * jump
        positions = (offsets[:, None] + (self.time_idx + np.arange(time_size))[None, :]) % data_size
        self.time_idx += time_size
        return x[positions], t[positions]

    def fit(
        self,
        xs: IntArray,
        ts: IntArray,
        max_epoch: int = 10,
        batch_size: int = 20,
        time_size: int = 35,
        max_grad: float | None = None,
        eval_interval: int | None = 20,
    ) -> list[float]:
        """Run ``max_epoch`` epochs of ``len(xs) // (batch_size * time_size)`` iterations.

        ``xs`` and ``ts`` are 1-D word-id arrays of the same length (the book passes
        ``corpus[:-1]`` and ``corpus[1:]``). The model's state is reset first (when it
        has ``reset_state``): whatever an evaluation left there belongs to another
        text. Returns ``ppl_list``.
        """
        owner = "RnnlmTrainer.fit"
        xs = _word_ids(owner, "xs", xs)
        ts = _word_ids(owner, "ts", ts)
        if len(ts) != len(xs):
            raise check.fail_value(owner, "ts", f"as long as xs ({len(xs)})", f"length {len(ts)}")
        max_epoch = check.positive_int(owner, "max_epoch", max_epoch)
        batch_size = check.positive_int(owner, "batch_size", batch_size)
        time_size = check.positive_int(owner, "time_size", time_size)
        if eval_interval is not None:
            eval_interval = check.positive_int(owner, "eval_interval", eval_interval)
        max_iters = len(xs) // (batch_size * time_size)
        if max_iters == 0:
            raise check.fail_value(
                owner,
                "batch_size * time_size",
                f"at most the number of words ({len(xs)})",
                f"{batch_size} * {time_size}",
            )
        self.eval_interval = eval_interval
        reset = getattr(self.model, "reset_state", None)
        if callable(reset):
            reset()

        total_loss, loss_count, start = 0.0, 0, time.perf_counter()
        for _ in range(max_epoch):
            epoch_loss = 0.0
            for iteration in range(max_iters):
                batch_x, batch_t = self.get_batch(xs, ts, batch_size, time_size)
                loss = float(self.model.forward(batch_x, batch_t))
                self.model.backward()
                params, grads = remove_duplicate(self.model.params, self.model.grads)
                if max_grad is not None:
                    clip_grads(grads, max_grad)
                self.optimizer.update(params, grads)
                total_loss += loss
                epoch_loss += loss
                loss_count += 1
                self.step += 1
                if eval_interval is not None and self.step % eval_interval == 0:
                    ppl = _exp(total_loss / loss_count)
                    self.ppl_list.append(ppl)
                    self.history.append(
                        {
                            "epoch": self.current_epoch + 1,
                            "iteration": iteration + 1,
                            "step": self.step,
                            "perplexity": ppl,
                        }
                    )
                    print(
                        f"| epoch {self.current_epoch + 1} | iter {iteration + 1} / {max_iters} "
                        f"| time {time.perf_counter() - start:.1f}[s] | perplexity {ppl:.2f}",
                        file=self.log,
                        flush=True,
                    )
                    total_loss, loss_count = 0.0, 0
            self.epoch_perplexities.append(_exp(epoch_loss / max_iters))
            self.current_epoch += 1
        return self.ppl_list

    def plot(
        self,
        path: str | Path,
        ylim: tuple[float, float] | None = None,
        *,
        series: dict[str, Sequence[tuple[float, float]]] | None = None,
        lines: dict[str, float] | None = None,
    ) -> Path:
        """Save the training perplexity against the iteration as an image (needs matplotlib).

        ``series`` adds other curves as (iteration, perplexity) points, e.g. a
        validation perplexity per epoch; ``lines`` horizontal reference lines, e.g.
        the true perplexity of the source.
        """
        plt = _pyplot("RnnlmTrainer.plot")
        path = Path(path)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([p["step"] for p in self.history], self.ppl_list, label="train")
        for name, points in (series or {}).items():
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        for name, value in (lines or {}).items():
            ax.axhline(value, linestyle="--", color="gray", label=name)
        ax.set_xlabel("iteration")
        ax.set_ylabel("perplexity")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return path


def eval_perplexity(
    model: Model,
    corpus: IntArray,
    batch_size: int = 10,
    time_size: int = 35,
    *,
    progress: TextIO | None = None,
) -> float:
    """exp(mean loss) of ``model`` predicting ``corpus[k + 1]`` from ``corpus[:k + 1]``: the book's
    ``eval_perplexity`` (section 6.4.2).

    The model's state is reset first (when it has ``reset_state``); then
    ``max_iters = (len(corpus) - 1) // (batch_size * time_size)`` blocks are fed in
    order, stream i starting at ``i * (len(corpus) - 1) // batch_size``, the state
    carried from block to block. A model whose ``forward`` takes ``train_flg`` is
    run with ``train_flg=False`` (no dropout). ``progress``, when given, receives
    the book's ``iter / max_iters`` counter.
    """
    owner = "eval_perplexity"
    corpus = _word_ids(owner, "corpus", corpus)
    batch_size = check.positive_int(owner, "batch_size", batch_size)
    time_size = check.positive_int(owner, "time_size", time_size)
    corpus_size = len(corpus)
    max_iters = (corpus_size - 1) // (batch_size * time_size)
    if max_iters == 0:
        raise check.fail_value(
            owner,
            "corpus",
            f"longer than batch_size * time_size ({batch_size} * {time_size})",
            f"{corpus_size} words",
        )
    jump = (corpus_size - 1) // batch_size
    reset = getattr(model, "reset_state", None)
    if callable(reset):
        reset()
    forward: Callable[..., Any] = model.forward
    takes_flag = "train_flg" in inspect.signature(forward).parameters
    if progress is not None:
        print("evaluating perplexity ...", file=progress, flush=True)
    total_loss = 0.0
    for iters in range(max_iters):
        positions = (
            iters * time_size + np.arange(batch_size)[:, None] * jump + np.arange(time_size)
        ) % corpus_size
        xs = corpus[positions]
        ts = corpus[(positions + 1) % corpus_size]
        loss = forward(xs, ts, train_flg=False) if takes_flag else forward(xs, ts)
        total_loss += float(loss)
        if progress is not None:
            print(f"\r{iters + 1} / {max_iters}", end="", file=progress, flush=True)
    if progress is not None:
        print("", file=progress, flush=True)
    return _exp(total_loss / max_iters)


def _word_ids(owner: str, name: str, value: object) -> IntArray:
    if not isinstance(value, np.ndarray) or value.ndim != 1 or not np.issubdtype(value.dtype, np.integer):
        raise check.fail_type(owner, name, "a 1-D numpy array of integer word ids", value)
    if value.size and int(value.min()) < 0:
        raise check.fail_value(owner, name, "non-negative word ids", f"minimum {int(value.min())}")
    return value


def _exp(mean_loss: float) -> float:
    """exp of a mean loss; inf rather than an OverflowError when training diverged."""
    return math.exp(mean_loss) if mean_loss < 709.0 else math.inf


def _pyplot(owner: str) -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(f"{owner} needs matplotlib: pip install 'scratchnn[reports]'") from error
    return plt
