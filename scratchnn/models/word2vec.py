"""word2vec models of chapters 3 and 4: SimpleCBOW, SimpleSkipGram, CBOW, SkipGram.

All four take the book's constructor arguments plus the keywords ``rng`` (a
``numpy.random.Generator`` or a seed; weight initialisation and negative sampling draw
from it) and ``dtype`` (float64 by default; the book makes float32). Weights start as
0.01 * N(0, 1). ``params``/``grads`` list each distinct weight array once (the book's
models list W_in once per context layer); ``word_vecs`` is W_in itself.
``forward(contexts, target)`` returns the loss, ``backward(dout=1)`` fills ``grads`` in
place and returns None, as in the book. They train with :class:`scratchnn.trainer.Trainer`:
``Trainer(model, optimizer).fit(contexts, target, ...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray
from scratchnn.layers import Embedding, SoftmaxWithLoss, _checked_indices
from scratchnn.negative_sampling import NegativeSamplingLoss, _word_counts
from scratchnn.nodes import MatMul
from scratchnn.serialization import load_params, save_params

__all__ = ["CBOW", "SimpleCBOW", "SimpleSkipGram", "SkipGram"]

DType = type[np.floating[Any]] | np.dtype[Any]


class _Word2Vec:
    """What the four models share: weights, parameter lists, saving and loading."""

    params: list[FloatArray]
    grads: list[FloatArray]
    word_vecs: FloatArray

    def _init_weights(
        self,
        vocab_size: object,
        hidden_size: object,
        out_shape: str,
        rng: np.random.Generator | int | None,
        dtype: DType,
    ) -> tuple[FloatArray, FloatArray, np.random.Generator]:
        """W_in (V, H) and W_out, (H, V) for ``out_shape="HV"`` or (V, H), as 0.01 * N(0, 1)."""
        owner = f"{type(self).__name__}.__init__"
        V = check.positive_int(owner, "vocab_size", vocab_size)
        H = check.positive_int(owner, "hidden_size", hidden_size)
        if np.dtype(dtype) not in check.SUPPORTED_FLOATS:
            raise check.fail_type(owner, "dtype", "float32 or float64", dtype)
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        W_in = (0.01 * generator.standard_normal((V, H))).astype(dtype)
        W_out = (0.01 * generator.standard_normal((H, V) if out_shape == "HV" else (V, H))).astype(dtype)
        return W_in, W_out, generator

    def save_params(self, path: str | Path) -> Path:
        """Write the parameters to an ``.npz`` file (no pickle)."""
        return save_params(self.params, path)

    def load_params(self, path: str | Path) -> None:
        """Copy the parameters saved by :meth:`save_params` into this model, in place."""
        load_params(self.params, path)


def _one_hot_input(
    owner: str, name: str, value: object, shape: tuple[int | None, ...], dtype: np.dtype[Any]
) -> FloatArray:
    """One-hot rows (integer, bool or the model's float dtype) of ``shape`` (None: any N >= 1), as dtype."""
    if not isinstance(value, np.ndarray):
        raise check.fail_type(owner, name, "a numpy.ndarray of one-hot rows", value)
    if value.ndim != len(shape) or any(
        s is not None and s != v for s, v in zip(shape, value.shape, strict=True)
    ):
        layout = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise check.fail_value(owner, name, f"one-hot rows of shape {layout}", f"shape {value.shape}")
    if value.shape[0] == 0:
        raise check.fail_value(owner, name, "a non-empty batch", f"shape {value.shape}")
    if np.issubdtype(value.dtype, np.integer) or value.dtype == np.bool_:
        return value.astype(dtype)
    if value.dtype != dtype:
        raise check.fail_type(owner, name, f"integer, bool or {dtype} one-hot rows", value)
    return value


class SimpleCBOW(_Word2Vec):
    """CBOW of section 3.4 with one-hot input and a full softmax, for a window of 1.

    contexts (N, 2, V) one-hot, target (N, V) one-hot or (N,) ids;
    h = (c0 W_in + c1 W_in) / 2, score = h W_out, loss = SoftmaxWithLoss(score, target);
    W_in (V, H), W_out (H, V).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: DType = np.float64,
    ) -> None:
        W_in, W_out, _ = self._init_weights(vocab_size, hidden_size, "HV", rng, dtype)
        self.in_layer0 = MatMul(W_in)
        self.in_layer1 = MatMul(W_in)
        self.out_layer = MatMul(W_out)
        self.loss_layer = SoftmaxWithLoss()
        # W_in is shared by the two input layers: listed once, its gradient is their sum.
        self.params = [W_in, W_out]
        self.grads = [np.zeros_like(W_in), self.out_layer.grads[0]]
        self.word_vecs = W_in

    def forward(self, contexts: npt.NDArray[Any], target: npt.NDArray[Any]) -> np.floating[Any]:
        owner = "SimpleCBOW.forward"
        W_in, W_out = self.params
        c = _one_hot_input(owner, "contexts", contexts, (None, 2, W_in.shape[0]), W_in.dtype)
        check.class_labels(owner, "target", target, c.shape[0], W_out.shape[1], W_in.dtype)
        h0 = self.in_layer0.forward(c[:, 0])
        h1 = self.in_layer1.forward(c[:, 1])
        h = (h0 + h1) * 0.5
        score = self.out_layer.forward(h)
        return self.loss_layer.forward(score, target)

    def backward(self, dout: float = 1) -> None:
        check.upstream_scalar("SimpleCBOW.backward", dout, self.params[0].dtype)
        ds = self.loss_layer.backward(dout)
        da = self.out_layer.backward(ds)
        da *= 0.5
        self.in_layer1.backward(da)
        self.in_layer0.backward(da)
        np.add(self.in_layer0.grads[0], self.in_layer1.grads[0], out=self.grads[0])


class SimpleSkipGram(_Word2Vec):
    """skip-gram of section 3.5 with one-hot input and a full softmax, for a window of 1.

    target (N, V) one-hot; contexts (N, 2, V) one-hot or (N, 2) ids;
    h = target W_in, score = h W_out,
    loss = SoftmaxWithLoss(score, contexts[:, 0]) + SoftmaxWithLoss(score, contexts[:, 1]).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: DType = np.float64,
    ) -> None:
        W_in, W_out, _ = self._init_weights(vocab_size, hidden_size, "HV", rng, dtype)
        self.in_layer = MatMul(W_in)
        self.out_layer = MatMul(W_out)
        self.loss_layer1 = SoftmaxWithLoss()
        self.loss_layer2 = SoftmaxWithLoss()
        self.params = [W_in, W_out]
        self.grads = [self.in_layer.grads[0], self.out_layer.grads[0]]
        self.word_vecs = W_in

    def forward(self, contexts: npt.NDArray[Any], target: npt.NDArray[Any]) -> np.floating[Any]:
        owner = "SimpleSkipGram.forward"
        W_in, _ = self.params
        V = W_in.shape[0]
        t = _one_hot_input(owner, "target", target, (None, V), W_in.dtype)
        n = t.shape[0]
        if not isinstance(contexts, np.ndarray) or contexts.shape not in ((n, 2), (n, 2, V)):
            got = f"shape {contexts.shape}" if isinstance(contexts, np.ndarray) else check.describe(contexts)
            raise check.fail_value(
                owner, "contexts", f"ids of shape ({n}, 2) or one-hot rows ({n}, 2, {V})", got
            )
        for column in (0, 1):
            check.class_labels(owner, f"contexts[:, {column}]", contexts[:, column], n, V, W_in.dtype)
        h = self.in_layer.forward(t)
        s = self.out_layer.forward(h)
        l1 = self.loss_layer1.forward(s, contexts[:, 0])
        l2 = self.loss_layer2.forward(s, contexts[:, 1])
        return l1 + l2

    def backward(self, dout: float = 1) -> None:
        check.upstream_scalar("SimpleSkipGram.backward", dout, self.params[0].dtype)
        dl1 = self.loss_layer1.backward(dout)
        dl2 = self.loss_layer2.backward(dout)
        ds = dl1 + dl2
        dh = self.out_layer.backward(ds)
        self.in_layer.backward(dh)


def _context_ids(owner: str, contexts: object, columns: int, vocab_size: int) -> IntArray:
    ids = _checked_indices(owner, "contexts", contexts, vocab_size)
    if ids.ndim != 2 or ids.shape[1] != columns or ids.shape[0] == 0:
        raise check.fail_value(
            owner,
            "contexts",
            f"word ids of shape (N, {columns}) (2 * window_size columns)",
            f"shape {ids.shape}",
        )
    return ids


def _check_corpus(owner: str, corpus: object, vocab_size: int) -> None:
    """A non-empty 1-D array of ids in [0, vocab_size): what the negative sampler is built from."""
    needed = _word_counts(owner, corpus).size  # the largest id + 1
    if needed > vocab_size:
        expected = f"larger than every word id of the corpus (at least {needed})"
        raise check.fail_value(owner, "vocab_size", expected, str(vocab_size))


def _target_ids(owner: str, target: object, n: int, vocab_size: int) -> IntArray:
    ids = _checked_indices(owner, "target", target, vocab_size)
    if ids.shape != (n,):
        raise check.fail_value(
            owner, "target", f"word ids of shape ({n},), one per row of contexts", f"shape {ids.shape}"
        )
    return ids


class _NegativeSampling(_Word2Vec):
    """What CBOW and SkipGram share: an Embedding input layer and one NegativeSamplingLoss."""

    window_size: int
    in_layer: Embedding
    ns_loss: NegativeSamplingLoss

    def _init_negative_sampling(
        self,
        vocab_size: object,
        hidden_size: object,
        window_size: object,
        corpus: IntArray,
        rng: np.random.Generator | int | None,
        dtype: DType,
    ) -> None:
        """CBOW's and SkipGram's layers: an Embedding of W_in (V, H) and a NegativeSamplingLoss
        over W_out (V, H) drawing its negatives from ``corpus`` (power 0.75, 5 per target)."""
        owner = f"{type(self).__name__}.__init__"
        self.window_size = check.positive_int(owner, "window_size", window_size)
        W_in, W_out, generator = self._init_weights(vocab_size, hidden_size, "VH", rng, dtype)
        _check_corpus(owner, corpus, W_in.shape[0])
        self.in_layer = Embedding(W_in)
        self.ns_loss = NegativeSamplingLoss(W_out, corpus, power=0.75, sample_size=5, rng=generator)
        self.params = [W_in, W_out]
        self.grads = [self.in_layer.grads[0], self.ns_loss.grads[0]]
        self.word_vecs = W_in


class CBOW(_NegativeSampling):
    """CBOW with an Embedding input and negative sampling (section 4.3.1).

    contexts (N, 2 * window_size) and target (N,) word ids; W_in, W_out both (V, H);
    h = mean over the context columns of W_in[contexts];
    loss = NegativeSamplingLoss(W_out, corpus, power=0.75, sample_size=5)(h, target),
    kept as ``ns_loss`` (its ``sampler`` draws the negatives).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        window_size: int,
        corpus: IntArray,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: DType = np.float64,
    ) -> None:
        # One Embedding for all 2 * window_size columns (the book has one layer per column).
        self._init_negative_sampling(vocab_size, hidden_size, window_size, corpus, rng, dtype)
        self._batch: tuple[int, int] | None = None  # N and the number of context columns

    def forward(self, contexts: IntArray, target: IntArray) -> np.floating[Any]:
        W_in = self.params[0]
        ids = _context_ids("CBOW.forward", contexts, 2 * self.window_size, W_in.shape[0])
        _target_ids("CBOW.forward", target, ids.shape[0], W_in.shape[0])  # before any layer changes state
        rows = self.in_layer.forward(ids)  # (N, C, H)
        # the sum over the C context rows as a batched product with a row of ones: NumPy's
        # reduction over the middle axis took 55-70 us here, this 10 us (float sums alike)
        h = np.matmul(np.ones((1, ids.shape[1]), dtype=rows.dtype), rows)[:, 0, :]
        h *= 1 / ids.shape[1]
        loss = self.ns_loss.forward(h, target)
        self._batch = ids.shape
        return loss

    def backward(self, dout: float = 1) -> None:
        n, columns = check.cached("CBOW.backward", self._batch)
        check.upstream_scalar("CBOW.backward", dout, self.params[0].dtype)
        dh = self.ns_loss.backward(dout)
        dh *= 1 / columns
        # every context column of row n receives dh[n]: a broadcast view, no copy here
        self.in_layer.backward(np.broadcast_to(dh[:, None, :], (n, columns, dh.shape[1])))


class SkipGram(_NegativeSampling):
    """skip-gram with an Embedding input and negative sampling (section 4.3.1 / 4.3.3).

    contexts (N, 2 * window_size) and target (N,) word ids; h = W_in[target];
    loss = sum over the context columns i of NegativeSamplingLoss(W_out, ...)(h, contexts[:, i]).
    One ``ns_loss`` layer scores all columns at once; its ``sampler`` is called once per
    column with that column's ids (the book has one loss layer and sampler per column).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        window_size: int,
        corpus: IntArray,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: DType = np.float64,
    ) -> None:
        self._init_negative_sampling(vocab_size, hidden_size, window_size, corpus, rng, dtype)

    def forward(self, contexts: IntArray, target: IntArray) -> np.floating[Any]:
        W_in = self.params[0]
        ids = _context_ids("SkipGram.forward", contexts, 2 * self.window_size, W_in.shape[0])
        _target_ids("SkipGram.forward", target, ids.shape[0], W_in.shape[0])
        h = self.in_layer.forward(target)
        return self.ns_loss.forward(h, ids)

    def backward(self, dout: float = 1) -> None:
        check.upstream_scalar("SkipGram.backward", dout, self.params[0].dtype)
        dh = self.ns_loss.backward(dout)
        self.in_layer.backward(dh)
