"""Text from a known random source: a seeded Markov chain over a made-up vocabulary.

A language model trained on real text (PTB) can only be compared with other
models; here the source is known, so the best perplexity any model can reach
is known exactly and a model's validation perplexity can be read as a ratio to
it (chapters 5-6 of the book measure models by perplexity, section 5.5.3).

The source of order ``n`` draws each word from ``P(x_t | x_{t-n}, ..., x_{t-1})``.
Every context has a few possible successors (``branching``) with
Dirichlet(``concentration``) probabilities, so the per-word entropy is moderate;
optionally an end-of-sentence word ``<eos>`` (id 0) follows any other word with
probability ``eos_probability``, which splits the text into sentences.

Two ways to the source's perplexity, which agree on long samples:

- the **entropy rate** of the chain (Cover and Thomas, *Elements of Information
  Theory*, 2nd ed., Theorem 4.2.4): ``H = -sum_c pi_c sum_w P(w | c) log P(w | c)``
  with ``pi`` the stationary distribution over contexts ``c``; the true
  perplexity is ``exp(H)``;
- the **empirical perplexity** of one sequence, ``exp(mean_t -log P(x_t | context_t))``
  over the words that have a full context (t >= n), which converges to ``exp(H)``
  as the sequence grows (the ergodic theorem; the Shannon-McMillan-Breiman theorem).
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check

__all__ = ["EOS", "MarkovCorpus", "MarkovSource", "load_data"]

EOS = "<eos>"

IntVector = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.floating[Any]]

# Pronounceable words: consonant-vowel syllables, two per word (14 x 5 = 70 syllables,
# 4,900 two-syllable words).
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_SYLLABLES = [c + v for c, v in itertools.product(_CONSONANTS, _VOWELS)]
_MAX_WORDS = len(_SYLLABLES) ** 2

# At most this many contexts (vocab_size ** order): order 2 over 500 words is 250,000.
_MAX_CONTEXTS = 1_000_000


class MarkovSource:
    """A fixed random Markov chain of order ``order`` over ``vocab_size`` words.

    Built from ``seed`` (the same seed gives the same chain, words and
    probabilities); nothing is drawn from NumPy's global random state.

    - ``branching``: successors per context. One of them is the context's last
      word's successor on a fixed random cycle through all words, which makes the
      chain reach every word (one closed class, a unique stationary distribution);
      the others are drawn at random, all distinct.
    - ``concentration``: the Dirichlet parameter of the successors' probabilities
      (smaller: more peaked rows, lower entropy).
    - ``eos_probability``: if positive, word 0 is ``<eos>`` and follows every
      other word with this probability (the successors share the rest); ``<eos>``
      never follows itself.

    Attributes: ``words`` (id -> string), ``successors`` and ``probabilities``
    (contexts x k: the possible next words of each context and their
    probabilities; context ``(x_{t-n}, ..., x_{t-1})`` has index
    ``sum_i x_{t-n+i} * vocab_size ** (n - 1 - i)``).
    """

    vocab_size: int
    order: int
    words: list[str]
    successors: IntVector
    probabilities: Float64Array

    def __init__(
        self,
        vocab_size: int = 200,
        order: int = 1,
        seed: int = 0,
        *,
        branching: int = 8,
        concentration: float = 0.5,
        eos_probability: float = 0.0,
    ) -> None:
        owner = "MarkovSource.__init__"
        vocab_size = check.positive_int(owner, "vocab_size", vocab_size)
        order = check.positive_int(owner, "order", order)
        branching = check.positive_int(owner, "branching", branching)
        if not 2 <= vocab_size <= _MAX_WORDS:
            raise check.fail_value(owner, "vocab_size", f"in [2, {_MAX_WORDS}]", repr(vocab_size))
        if vocab_size**order > _MAX_CONTEXTS:
            raise check.fail_value(
                owner,
                "order",
                f"such that vocab_size ** order <= {_MAX_CONTEXTS:,} (the table of contexts)",
                f"{vocab_size} ** {order}",
            )
        if not (isinstance(concentration, (int, float)) and 0.05 <= concentration < math.inf):
            raise check.fail_value(owner, "concentration", "a finite number >= 0.05", repr(concentration))
        if not (isinstance(eos_probability, (int, float)) and 0 <= eos_probability < 1):
            raise check.fail_value(owner, "eos_probability", "a number in [0, 1)", repr(eos_probability))
        first_word = 1 if eos_probability > 0 else 0  # ids of ordinary words: first_word .. vocab_size - 1
        pool = vocab_size - first_word
        if branching > pool:
            raise check.fail_value(
                owner, "branching", f"at most the number of ordinary words ({pool})", repr(branching)
            )
        rng = np.random.default_rng(seed)

        # A random cycle through the ordinary words: next_on_cycle[w] always follows w.
        cycle = first_word + rng.permutation(pool)
        next_on_cycle = np.zeros(vocab_size, dtype=np.int64)
        next_on_cycle[cycle] = np.roll(cycle, -1)
        n_contexts = vocab_size**order
        last_word = np.arange(n_contexts) % vocab_size
        if first_word:
            # after <eos>: a random ordinary word starts the sentence
            next_on_cycle[0] = cycle[0]

        successors = _distinct_successors(rng, next_on_cycle[last_word], first_word, pool, branching)
        probabilities = rng.dirichlet(np.full(branching, float(concentration)), size=n_contexts)
        if first_word:
            eos = np.where(last_word == 0, 0.0, float(eos_probability))
            probabilities = np.concatenate([probabilities * (1 - eos[:, None]), eos[:, None]], axis=1)
            successors = np.concatenate([successors, np.zeros((n_contexts, 1), dtype=np.int64)], axis=1)
        if np.any(probabilities[:, 0] <= 0):  # pragma: no cover - needs a Dirichlet draw below 1e-300
            raise ValueError(f"{owner}: seed {seed} gave a zero probability on the cycle; use another seed")

        words = rng.choice(_MAX_WORDS, size=pool, replace=False)
        names = [_SYLLABLES[w // len(_SYLLABLES)] + _SYLLABLES[w % len(_SYLLABLES)] for w in words]
        self._setup(order, ([EOS] if first_word else []) + names, successors, probabilities)

    @classmethod
    def from_transitions(cls, matrix: npt.ArrayLike, words: list[str] | None = None) -> MarkovSource:
        """An order-1 source with the given transition matrix ``P[i, j] = P(x_t = j | x_{t-1} = i)``.

        Rows must be probability vectors. Words default to ``"w0"``, ``"w1"``, ...
        """
        owner = "MarkovSource.from_transitions"
        P = np.array(matrix, dtype=np.float64)
        if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 1:
            raise check.fail_value(owner, "matrix", "a square (V, V) matrix", f"shape {P.shape}")
        if not np.all(np.isfinite(P)) or np.any(P < 0):
            raise check.fail_value(owner, "matrix", "finite non-negative probabilities", "other values")
        row_sums = P.sum(axis=1)
        if np.any(np.abs(row_sums - 1) > 1e-9):
            raise check.fail_value(owner, "matrix", "rows that sum to 1", f"sums {row_sums}")
        V = P.shape[0]
        names = [f"w{i}" for i in range(V)] if words is None else list(words)
        if len(names) != V or len(set(names)) != V:
            raise check.fail_value(owner, "words", f"{V} distinct strings", repr(words)[:80])
        source = cls.__new__(cls)
        successors = np.broadcast_to(np.arange(V, dtype=np.int64), (V, V)).copy()
        source._setup(1, names, successors, P / row_sums[:, None])
        return source

    def _setup(
        self, order: int, words: list[str], successors: IntVector, probabilities: Float64Array
    ) -> None:
        self.order = order
        self.vocab_size = len(words)
        self.words = words
        self.successors = successors
        self.probabilities = probabilities
        # Inverse-CDF sampling tables; the last positive entry of each row takes what
        # rounding leaves above the cumulative sum.
        self._cumulative = np.cumsum(probabilities, axis=1)
        positive = probabilities > 0
        self._last_positive = probabilities.shape[1] - 1 - np.argmax(positive[:, ::-1], axis=1)
        # Context reached after word w: drop the oldest word, append w.
        shortened = np.arange(self.vocab_size**order) % (self.vocab_size ** (order - 1))
        self._next_context = shortened[:, None] * self.vocab_size + successors
        self._stationary: Float64Array | None = None

    # --- the exact values --------------------------------------------------------------

    def transition_matrix(self) -> Float64Array:
        """The dense (V, V) matrix P[i, j] = P(j | i) of an order-1 source."""
        if self.order != 1:
            raise check.fail_value(
                "MarkovSource.transition_matrix", "order", "1 (a dense matrix of contexts)", str(self.order)
            )
        P = np.zeros((self.vocab_size, self.vocab_size))
        np.add.at(P, (np.arange(self.vocab_size)[:, None], self.successors), self.probabilities)
        return P

    def stationary_distribution(self, tol: float = 1e-13, max_iter: int = 100_000) -> Float64Array:
        """The stationary distribution over contexts (length ``vocab_size ** order``).

        Power iteration on the lazy chain (P + I) / 2, which has the same
        stationary distribution as P and converges even if P were periodic;
        stops when an iteration changes pi by less than ``tol`` in L1 norm.
        """
        if self._stationary is not None:
            return self._stationary
        n_contexts = self._next_context.shape[0]
        pi = np.full(n_contexts, 1.0 / n_contexts)
        targets = self._next_context.ravel()
        for _ in range(max_iter):
            moved = np.bincount(
                targets, weights=(pi[:, None] * self.probabilities).ravel(), minlength=n_contexts
            )
            new = 0.5 * (pi + moved)
            new /= new.sum()
            change = float(np.abs(new - pi).sum())
            pi = new
            if change < tol:
                break
        else:  # pragma: no cover - the chains built here mix in tens of iterations
            raise RuntimeError(
                f"MarkovSource.stationary_distribution: no convergence in {max_iter} iterations"
            )
        self._stationary = pi
        return pi

    def context_entropies(self) -> Float64Array:
        """H(X_t | context) in nats for each context, with 0 log 0 = 0."""
        p = self.probabilities
        logs = np.log(np.where(p > 0, p, 1.0))
        return -np.sum(p * logs, axis=1)  # type: ignore[no-any-return]

    def entropy_rate(self) -> float:
        """H = sum_c pi_c H(X | c) in nats per word (Cover and Thomas, Theorem 4.2.4)."""
        return float(np.dot(self.stationary_distribution(), self.context_entropies()))

    def entropy_rate_perplexity(self) -> float:
        """exp(H): the per-word perplexity of the best possible model of this source."""
        return math.exp(self.entropy_rate())

    # --- sequences ---------------------------------------------------------------------

    def sample(self, n_words: int, seed: int | np.random.Generator | None = None) -> IntVector:
        """``n_words`` word ids of the chain, started from its stationary distribution.

        The first ``order`` words are the start context drawn from the stationary
        distribution, so the whole sequence is stationary. ``seed`` as in
        ``np.random.default_rng``; a Generator passed in is used (and advanced).
        """
        n_words = check.positive_int("MarkovSource.sample", "n_words", n_words)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        pi = self.stationary_distribution()
        context = int(np.searchsorted(np.cumsum(pi), rng.random() * pi.sum(), side="right"))
        context = min(context, pi.size - 1)
        out = np.empty(n_words, dtype=np.int64)
        start = [
            (context // self.vocab_size ** (self.order - 1 - i)) % self.vocab_size for i in range(self.order)
        ]
        head = min(n_words, self.order)
        out[:head] = start[:head]
        uniforms = rng.random(n_words - head).tolist()
        cumulative, successors, last, following = (
            self._cumulative,
            self.successors,
            self._last_positive.tolist(),
            self._next_context,
        )
        for t, u in enumerate(uniforms, start=head):
            row = cumulative[context]
            # Inverse CDF: the first entry whose cumulative probability exceeds u * total.
            j = min(bisect.bisect_right(row, u * row[-1]), last[context])
            out[t] = successors[context, j]
            context = int(following[context, j])
        return out

    def log_probabilities(self, sequence: npt.ArrayLike) -> Float64Array:
        """log P(x_t | x_{t-n}, ..., x_{t-1}) for t = n, ..., len - 1 (-inf where impossible)."""
        owner = "MarkovSource.log_probabilities"
        x = np.asarray(sequence)
        if x.ndim != 1 or not np.issubdtype(x.dtype, np.integer):
            raise check.fail_type(owner, "sequence", "a 1-D sequence of integer word ids", x)
        if x.size <= self.order:
            raise check.fail_value(
                owner, "sequence", f"longer than the order ({self.order})", f"{x.size} words"
            )
        if int(x.min()) < 0 or int(x.max()) >= self.vocab_size:
            raise check.fail_value(
                owner,
                "sequence",
                f"word ids in [0, {self.vocab_size})",
                f"values from {int(x.min())} to {int(x.max())}",
            )
        x = x.astype(np.int64)
        n = x.size - self.order
        context = np.zeros(n, dtype=np.int64)
        for i in range(self.order):
            context = context * self.vocab_size + x[i : i + n]
        target = x[self.order :]
        p = np.sum(self.probabilities[context] * (self.successors[context] == target[:, None]), axis=1)
        logs = np.full(n, -np.inf)
        np.log(p, out=logs, where=p > 0)
        return logs

    def perplexity(self, sequence: npt.ArrayLike) -> float:
        """exp(mean_t -log P(x_t | context_t)) over t >= order: the source's own perplexity
        on this sequence (inf if the source cannot produce it)."""
        logs = self.log_probabilities(sequence)
        if np.any(np.isneginf(logs)):
            return math.inf
        return math.exp(-float(np.mean(logs)))

    def decode(self, ids: npt.ArrayLike) -> list[str]:
        """The words of a sequence of ids."""
        return [self.words[int(i)] for i in np.asarray(ids).ravel()]


def _distinct_successors(
    rng: np.random.Generator, first: IntVector, offset: int, pool: int, branching: int
) -> IntVector:
    """Per row: ``first[row]`` then ``branching - 1`` other distinct ids from offset .. offset + pool - 1."""
    n_rows = first.size
    successors = np.empty((n_rows, branching), dtype=np.int64)
    successors[:, 0] = first
    if branching * branching <= pool:
        # Few successors: draw with replacement and redraw the rows with a repeat; a row
        # repeats with probability below about branching^2 / (2 pool) <= 1/2 per round.
        rows = np.arange(n_rows)
        while rows.size:
            successors[rows, 1:] = offset + rng.integers(0, pool, size=(rows.size, branching - 1))
            ordered = np.sort(successors[rows], axis=1)
            rows = rows[np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)]
        return successors
    # Many successors: the smallest of random keys, the first successor's key forced lowest,
    # in chunks of rows so the keys stay below about 4 million numbers.
    chunk = max(1, 4_000_000 // pool)
    for start in range(0, n_rows, chunk):
        stop = min(n_rows, start + chunk)
        keys = rng.random((stop - start, pool))
        keys[np.arange(stop - start), first[start:stop] - offset] = -1.0
        chosen = np.argpartition(keys, branching - 1, axis=1)[:, :branching]
        chosen = np.take_along_axis(chosen, np.argsort(np.take_along_axis(keys, chosen, axis=1)), axis=1)
        successors[start:stop] = offset + chosen
    return successors


@dataclass(frozen=True)
class MarkovCorpus:
    """Train, validation and test sequences of one source, with its vocabulary.

    ``word_to_id``/``id_to_word`` as ``ptb.load_data`` returns them; ``source``
    knows the exact probabilities (``source.perplexity(valid)`` is the best any
    model can do on ``valid``).
    """

    train: IntVector
    valid: IntVector
    test: IntVector
    word_to_id: dict[str, int]
    id_to_word: dict[int, str]
    source: MarkovSource


def load_data(
    vocab_size: int = 200,
    order: int = 1,
    n_train: int = 200_000,
    n_valid: int = 20_000,
    n_test: int = 20_000,
    seed: int = 0,
    **source_options: Any,
) -> MarkovCorpus:
    """A corpus drawn from ``MarkovSource(vocab_size, order, seed, **source_options)``.

    The three splits are independent stationary samples (seeds derived from
    ``seed``), as int64 word-id arrays.
    """
    source = MarkovSource(vocab_size, order, seed, **source_options)
    splits = np.random.SeedSequence(seed).spawn(3)
    sizes = {"n_train": n_train, "n_valid": n_valid, "n_test": n_test}
    train, valid, test = (
        source.sample(check.positive_int("markov.load_data", name, size), np.random.default_rng(child))
        for (name, size), child in zip(sizes.items(), splits, strict=True)
    )
    word_to_id = {word: i for i, word in enumerate(source.words)}
    id_to_word = dict(enumerate(source.words))
    return MarkovCorpus(train, valid, test, word_to_id, id_to_word, source)
