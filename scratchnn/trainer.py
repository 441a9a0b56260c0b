"""Mini-batch training loop (section 1.4), gradient clipping and shared-weight handling."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray
from scratchnn.optimizers import Optimizer

__all__ = ["Model", "Trainer", "clip_grads", "remove_duplicate"]


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
    """One entry per distinct parameter array, for models that share weights.

    Sharing is by identity: the same array object in several layers. The
    gradient of a shared parameter is the sum of its layers' gradients (a new
    array; the model's own grads are left as they are). Arrays that are merely
    equal in value are different parameters.
    """
    if len(params) != len(grads):
        raise check.fail_value(
            "remove_duplicate",
            "grads",
            f"a list parallel to params ({len(params)})",
            str(len(grads)),
        )
    order: list[int] = []
    groups: dict[int, tuple[FloatArray, list[FloatArray]]] = {}
    for param, grad in zip(params, grads, strict=True):
        key = id(param)
        if key not in groups:
            order.append(key)
            groups[key] = (param, [])
        if not any(grad is seen for seen in groups[key][1]):
            groups[key][1].append(grad)
    unique_params = [groups[key][0] for key in order]
    unique_grads = [g[0] if len(g) == 1 else np.sum(g, axis=0) for g in (groups[key][1] for key in order)]
    return unique_params, unique_grads


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
