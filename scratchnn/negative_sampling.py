"""Chapter 4's negative sampling (section 4.2): EmbeddingDot, UnigramSampler, NegativeSamplingLoss.

- ``EmbeddingDot(W)``: score[n] = W[idx[n]] . h[n];
- ``UnigramSampler(corpus, power, sample_size, *, rng=None)``: negative word ids drawn
  from the unigram distribution raised to ``power``, never the row's own target;
- ``NegativeSamplingLoss(W, corpus, power=0.75, sample_size=5, *, rng=None)``: the
  binary cross-entropy of the true target (label 1) plus that of ``sample_size``
  negatives (label 0), computed for all of them at once.

Randomness comes only from the sampler's ``numpy.random.Generator`` (``rng``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray
from scratchnn.functions import sigmoid
from scratchnn.layers import _checked_indices, _scatter_add_rows
from scratchnn.protocol import LayerBase

__all__ = ["EmbeddingDot", "NegativeSamplingLoss", "UnigramSampler"]


def _hidden(owner: str, h: object, W: FloatArray) -> FloatArray:
    """h of shape (N, D), N >= 1, matching W (V, D) in width and dtype."""
    array = check.float_array_of_rank(owner, "h", h, 2, "(N, D)")
    if array.shape[1] != W.shape[1]:
        raise check.fail_value(
            owner, "h", f"of shape (N, {W.shape[1]}) to match W of shape {W.shape}", f"shape {array.shape}"
        )
    check.same_dtype(owner, "h", array, "W", W.dtype)
    return check.nonempty(owner, "h", array, "(N, D)")


class EmbeddingDot(LayerBase):
    """score[n] = W[idx[n]] . h[n] for h of shape (N, D) and word ids idx (N,) (section 4.2.4).

    backward(dout), dout of shape (N,): dh[n] = dout[n] W[idx[n]]; dW is set to zero, then
    row idx[n] receives dout[n] h[n] for every n (a word that occurs several times
    receives the sum).
    """

    def __init__(self, W: FloatArray) -> None:
        super().__init__(W)
        self._param("W", W, 2, "(V, D)")
        self.cache: tuple[FloatArray, FloatArray, IntArray] | None = None

    def forward(self, h: FloatArray, idx: IntArray) -> FloatArray:
        owner = self._owner("forward")
        (W,) = self.params
        h = _hidden(owner, h, W)
        idx = _checked_indices(owner, "idx", idx, W.shape[0])
        if idx.shape != (h.shape[0],):
            raise check.fail_value(
                owner, "idx", f"of shape ({h.shape[0]},), one id per row of h", f"shape {idx.shape}"
            )
        target_W = np.take(W, idx, axis=0)
        self.cache = (h.copy(), target_W, idx.copy())
        out: FloatArray = np.matmul(target_W[:, None, :], h[:, :, None])[:, 0, 0]
        return out

    def backward(self, dout: FloatArray) -> FloatArray:
        owner = self._owner("backward")
        h, target_W, idx = check.cached(owner, self.cache)
        dout = check.upstream_gradient(owner, dout, (h.shape[0],), h.dtype)
        column = dout[:, None]
        dW = self.grads[0]
        dW.fill(0)
        _scatter_add_rows(dW, idx, column * h)
        dh: FloatArray = column * target_W
        return dh


class UnigramSampler:
    """Negative samples from P(w) proportional to count(w) ** power (section 4.2.6).

    ``vocab_size`` is corpus.max() + 1 and ``word_p`` the probabilities; a word id that
    never occurs in the corpus has probability 0 (the book assumes every id occurs).

    ``get_negative_sample(target)``, target of shape (N,), returns (N, sample_size)
    int64 ids. Every entry is drawn independently (with replacement) from ``word_p``
    restricted to the words other than target[n] and renormalised, so a row never
    contains its own target. (The book draws each row without replacement, with a
    loop over rows; its GPU branch does not exclude the target.) One call of
    ``rng.random((N, sample_size))`` per call, turned into ids by inverse-CDF sampling
    with the target's probability mass cut out of the cumulative distribution, searched
    through a guide table.
    """

    def __init__(
        self,
        corpus: IntArray,
        power: float,
        sample_size: int,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        counts, self.power, self.sample_size = _sampler_arguments(
            "UnigramSampler.__init__", corpus, power, sample_size
        )
        self.vocab_size = int(counts.size)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

        weights = np.power(counts.astype(np.float64), self.power)  # 0 ** power = 0 for power > 0
        self.word_p: npt.NDArray[np.float64] = weights / weights.sum()
        # cdf[w] = word_p[0] + ... + word_p[w], summed left to right (np.cumsum), so
        # cdf[w] == before[w] + word_p[w] exactly in floating point, where before[w] = cdf[w - 1].
        self._cdf = np.cumsum(self.word_p)
        self._before = np.concatenate(([0.0], self._cdf[:-1]))
        self._total = float(self._cdf[-1])
        # A guide table for the search (the cutpoint method of Chen and Asau, 1974; Devroye,
        # Non-Uniform Random Variate Generation, 1986, section III.2.4): guide[j] is the first
        # word whose cdf exceeds j * total / buckets, so a search starts at most a bucket or
        # two below its answer and steps up from there. np.searchsorted on fresh random keys
        # spent about 200 ns per key here on mispredicted branches (100 us for 100 x 5
        # negatives over 10,000 words); this takes about 12 us and finds the same words.
        self._buckets = min(4 * self.vocab_size, 1 << 20)
        self._bucket_scale = self._buckets / self._total
        self._guide = np.searchsorted(self._cdf, np.arange(self._buckets) / self._bucket_scale, side="right")
        self._cdf_padded = np.append(self._cdf, np.inf)  # a scan past the last word stops there
        positive = np.flatnonzero(counts)
        self._only_word = int(positive[0]) if positive.size == 1 else None
        # Where rounding puts a draw past the end of the cdf (probability ~1e-16): the
        # last word of nonzero probability other than the target.
        last = int(positive[-1])
        second_last = int(positive[-2]) if positive.size > 1 else last
        self._last_other = np.full(self.vocab_size, last, dtype=np.int64)
        self._last_other[last] = second_last

    def get_negative_sample(self, target: IntArray) -> npt.NDArray[np.int64]:
        owner = "UnigramSampler.get_negative_sample"
        target = _checked_indices(owner, "target", target, self.vocab_size)
        if target.ndim != 1:
            raise check.fail_value(owner, "target", "a 1-D array of word ids (N,)", f"shape {target.shape}")
        if self._only_word is not None and np.any(target == self._only_word):
            raise check.fail_value(
                owner,
                "target",
                f"a word with some other word to sample: the corpus has only the word {self._only_word}",
                f"target {self._only_word}",
            )
        p_target = self.word_p[target][:, None]
        before_target = self._before[target][:, None]
        # u is uniform on [0, total - p_target): the cumulative mass of the other words.
        # Below before_target it falls on a word before the target; from there on, adding
        # p_target skips the target's interval [before_target, cdf[target]). Rounding is
        # monotone, so u + p_target >= fl(before_target + p_target) = cdf[target] and the
        # search lands after the target; the first cdf entry > u never has zero probability.
        u = self.rng.random((target.size, self.sample_size)) * (self._total - p_target)
        u = np.where(u < before_target, u, u + p_target)
        sample = self._first_above(u)
        past_end = sample >= self.vocab_size
        if np.any(past_end):
            sample[past_end] = np.broadcast_to(self._last_other[target][:, None], sample.shape)[past_end]
        return sample

    def _first_above(self, u: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """np.searchsorted(cdf, u, side="right") for u >= 0: the first word with cdf > u (V past the end)."""
        # One bucket lower than u's own: the bucket of u may round up, never down by a whole bucket.
        bucket = (u * self._bucket_scale).astype(np.int64) - 1
        np.clip(bucket, 0, self._buckets - 1, out=bucket)
        found: npt.NDArray[np.int64] = self._guide[bucket].astype(np.int64, copy=False)
        flat_found, flat_u = found.reshape(-1), u.reshape(-1)
        behind = np.flatnonzero(self._cdf_padded[flat_found] <= flat_u)
        while behind.size:  # one step up for the keys not there yet: a few rounds at most
            flat_found[behind] += 1
            behind = behind[self._cdf_padded[flat_found[behind]] <= flat_u[behind]]
        return found


class NegativeSamplingLoss(LayerBase):
    """The loss of section 4.2.7 over output word vectors W (V, D).

    forward(h, target), h (N, D), target (N,) word ids: with the sampler's negatives
    neg (N, sample_size) and sigma the logistic function,

        loss = (1/N) sum_n [ -log sigma(W[target[n]] . h[n]) - sum_k log(1 - sigma(W[neg[n, k]] . h[n])) ]

    i.e. the book's SigmoidWithLoss of the true target (label 1) plus those of the
    sample_size negatives (label 0), each a mean over the batch. Computed from the
    scores as softplus(-s) and softplus(s), which never overflows. The negatives come
    from exactly one call of ``self.sampler.get_negative_sample(target)`` per forward.

    A 2-D target (N, C) (skip-gram's context columns) gives the sum over the C columns
    of the loss above, with one sampler call per column, ``target[:, c]``.

    All sample_size + 1 scores are computed at once (one gather of W's rows, one
    batched product) rather than by the book's list of sample_size + 1 layers; ``params``
    holds W once and ``grads`` its whole gradient, repeated words accumulated.
    """

    def __init__(
        self,
        W: FloatArray,
        corpus: IntArray,
        power: float = 0.75,
        sample_size: int = 5,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__(W)
        owner = self._owner("__init__")
        self._param("W", W, 2, "(V, D)")
        # Checked here too, so that an error names this layer (the sampler checks them again).
        counts, _, self.sample_size = _sampler_arguments(owner, corpus, power, sample_size)
        if counts.size > W.shape[0]:
            raise check.fail_value(
                owner,
                "W",
                f"a row for every word id of the corpus (at least {counts.size})",
                f"shape {W.shape}",
            )
        self.sampler = UnigramSampler(corpus, power, sample_size, rng=rng)
        # h, the gathered rows W[idx] (N, K, D), idx (N, K), sigma(scores) (N, K), labels (K,)
        self.cache: tuple[FloatArray, FloatArray, IntArray, FloatArray, FloatArray] | None = None

    def forward(self, h: FloatArray, target: IntArray) -> np.floating[Any]:
        owner = self._owner("forward")
        (W,) = self.params
        h = _hidden(owner, h, W)
        n = h.shape[0]
        target = _checked_indices(owner, "target", target, W.shape[0])
        if target.ndim not in (1, 2) or target.shape[0] != n or target.size == 0:
            raise check.fail_value(
                owner,
                "target",
                f"word ids of shape ({n},) or ({n}, C), one row per row of h",
                f"shape {target.shape}",
            )
        if target.ndim == 1:
            negatives = [self._negatives(target, n, W.shape[0])]
            columns = target[:, None]
        else:
            columns = target
            negatives = [self._negatives(target[:, c].copy(), n, W.shape[0]) for c in range(target.shape[1])]
        # idx row n: [t_0, negatives of t_0..., t_1, negatives of t_1..., ...]; K = C (1 + S)
        per_column = 1 + self.sample_size
        grouped = np.empty((n, columns.shape[1], per_column), dtype=np.int64)
        grouped[:, :, 0] = columns
        grouped[:, :, 1:] = np.stack(negatives, axis=1)
        idx = grouped.reshape(n, -1)
        labels = np.zeros(idx.shape[1], dtype=W.dtype)
        labels[::per_column] = 1

        rows = np.take(W, idx, axis=0)  # (N, K, D)
        scores = np.matmul(rows, h[:, :, None])[:, :, 0]  # (N, K): one batched product
        # -log sigma(s) = softplus(-s) for the targets, -log(1 - sigma(s)) = softplus(s) for the
        # negatives; np.logaddexp(0, z) = log(1 + exp(z)) without overflow.
        signed = np.where(labels == 1, -scores, scores)
        loss: np.floating[Any] = np.logaddexp(0, signed).sum() / n
        self.cache = (h.copy(), rows, idx, sigmoid(scores), labels)
        return loss

    def _negatives(self, target: IntArray, n: int, vocab_size: int) -> IntArray:
        """The sampler's negatives for one column of targets, checked: the sampler may be replaced."""
        owner = self._owner("forward")
        negatives = self.sampler.get_negative_sample(target)
        if not isinstance(negatives, np.ndarray) or negatives.shape != (n, self.sample_size):
            raise check.fail_value(
                owner,
                "negative samples",
                f"an array of shape ({n}, {self.sample_size}) from sampler.get_negative_sample",
                check.describe(negatives),
            )
        return _checked_indices(owner, "negative samples", negatives, vocab_size)

    def backward(self, dout: float = 1) -> FloatArray:
        owner = self._owner("backward")
        h, rows, idx, y, labels = check.cached(owner, self.cache)
        n = h.shape[0]
        scale = check.upstream_scalar(owner, dout, h.dtype) / n
        dscores = (y - labels) * scale  # d loss / d score, (N, K)
        dh: FloatArray = np.matmul(dscores[:, None, :], rows)[:, 0, :]
        dW = self.grads[0]
        dW.fill(0)
        # row idx[n, k] of dW receives dscores[n, k] * h[n]
        _scatter_add_rows(dW, idx.reshape(-1), (dscores[:, :, None] * h[:, None, :]).reshape(-1, h.shape[1]))
        return dh


def _positive_real(owner: str, name: str, value: object) -> float:
    """A positive finite real number (Python or NumPy scalar; not bool) as a float."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or float(value) <= 0
    ):
        raise check.fail_value(owner, name, "a positive finite number", repr(value))
    return float(value)


def _sampler_arguments(
    owner: str, corpus: object, power: object, sample_size: object
) -> tuple[npt.NDArray[np.int64], float, int]:
    """The word counts of ``corpus``, ``power`` and ``sample_size``, checked (errors name ``owner``)."""
    counts = _word_counts(owner, corpus)
    return (
        counts,
        _positive_real(owner, "power", power),
        check.positive_int(owner, "sample_size", sample_size),
    )


def _word_counts(owner: str, corpus: object) -> npt.NDArray[np.int64]:
    """Occurrences of each id 0 .. corpus.max() in a non-empty 1-D corpus of non-negative ids."""
    if not isinstance(corpus, np.ndarray):
        raise check.fail_type(owner, "corpus", "a numpy.ndarray of word ids", corpus)
    if not np.issubdtype(corpus.dtype, np.integer):
        raise check.fail_type(owner, "corpus", "an array of integer word ids", corpus)
    if corpus.ndim != 1 or corpus.size == 0:
        raise check.fail_value(owner, "corpus", "a non-empty 1-D array of word ids", f"shape {corpus.shape}")
    if int(corpus.min()) < 0:
        raise check.fail_value(owner, "corpus", "non-negative word ids", f"the id {int(corpus.min())}")
    return np.bincount(corpus)
