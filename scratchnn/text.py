"""Chapter 2's count-based tools (and chapter 3's data preparation), vectorized.

The functions of the book's ``common/util.py``, with the book's names, arguments and
results, computed without Python loops over the corpus or the vocabulary:

- ``preprocess(text) -> (corpus, word_to_id, id_to_word)`` (section 2.3.1);
- ``create_co_matrix(corpus, vocab_size, window_size=1)`` (section 2.3.4);
- ``cos_similarity(x, y, eps=1e-8)`` and ``most_similar(...)`` (sections 2.3.5, 2.3.6);
- ``ppmi(C, verbose=False, eps=1e-8)`` (section 2.4.1);
- ``create_contexts_target(corpus, window_size=1)`` and ``convert_one_hot(corpus, vocab_size)``
  (section 3.3);
- ``analogy(a, b, c, word_to_id, id_to_word, word_matrix, top=5, answer=None)`` (section 4.4.2).

``most_similar`` and ``analogy`` print what the book prints and also return the list of
``(word, score)`` pairs. Bad input raises ``ValueError``/``TypeError`` (message format of
:mod:`scratchnn._validation`); a word missing from the vocabulary raises
:class:`UnknownWordError`, a ``KeyError``, where the book prints "... is not found".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray

__all__ = [
    "UnknownWordError",
    "analogy",
    "convert_one_hot",
    "cos_similarity",
    "create_co_matrix",
    "create_contexts_target",
    "most_similar",
    "ppmi",
    "preprocess",
]

WordToId = Mapping[str, int]
IdToWord = Mapping[int, str]

# Rows of the co-occurrence matrix that ppmi converts at a time: a bounded work space
# (at most 256 V float64 values and their indices), never a temporary of the whole matrix.
_PPMI_BLOCK_ROWS = 256


class UnknownWordError(KeyError):
    """A word that is not in the vocabulary: a ``KeyError``, as a failed dictionary lookup."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


def preprocess(text: str) -> tuple[npt.NDArray[np.int64], dict[str, int], dict[int, str]]:
    """Word ids of ``text`` (section 2.3.1).

    As the book: the text is lowercased, every '.' becomes ' .' (a word of its own), and
    the words are what lies between whitespace. Ids are given in order of first
    occurrence. Returns ``corpus`` (int64 array of ids, in text order), ``word_to_id``
    and ``id_to_word``.
    """
    if not isinstance(text, str):
        raise check.fail_type("preprocess", "text", "a str", text)
    words = text.lower().replace(".", " .").split()
    if not words:
        raise check.fail_value("preprocess", "text", "a text with at least one word", repr(text[:40]))
    word_to_id: dict[str, int] = {}
    for word in words:
        word_to_id.setdefault(word, len(word_to_id))
    id_to_word = {i: word for word, i in word_to_id.items()}
    corpus = np.fromiter((word_to_id[w] for w in words), dtype=np.int64, count=len(words))
    return corpus, word_to_id, id_to_word


def create_co_matrix(corpus: IntArray, vocab_size: int, window_size: int = 1) -> IntArray:
    """Co-occurrence counts C (vocab_size, vocab_size) (section 2.3.4).

    C[w, u] counts the positions i with corpus[i] = w and corpus[i + k] = u for some
    0 < |k| <= window_size (inside the corpus): the book's double loop, done as two
    scatter-adds per offset k. int32 like the book, int64 when a count could exceed it.
    """
    owner = "create_co_matrix"
    vocab_size = check.positive_int(owner, "vocab_size", vocab_size)
    window_size = check.positive_int(owner, "window_size", window_size)
    corpus = _corpus(owner, corpus, vocab_size)
    pairs = 2 * window_size * corpus.size  # an upper bound on any count
    dtype = np.int32 if pairs <= np.iinfo(np.int32).max else np.int64
    C = np.zeros((vocab_size, vocab_size), dtype=dtype)
    flat = C.reshape(-1)
    ids = corpus.astype(np.int64, copy=False)
    for k in range(1, min(window_size, corpus.size - 1) + 1):
        left, right = ids[:-k], ids[k:]
        # np.add.at on the flat view: about 0.25 s per million pairs at V = 10,000
        # (random access into the 400 MB matrix dominates; sorting the keys first was no faster).
        np.add.at(flat, left * vocab_size + right, 1)
        np.add.at(flat, right * vocab_size + left, 1)
    return C


def cos_similarity(x: npt.NDArray[Any], y: npt.NDArray[Any], eps: float = 1e-8) -> np.floating[Any]:
    """x/(|x| + eps) . y/(|y| + eps) for two vectors of the same length (section 2.3.5).

    ``eps`` keeps a zero vector from dividing by zero (its similarity is 0). Float
    vectors keep their dtype; integer vectors (rows of a co-occurrence matrix) are
    computed in float64, where the book's x ** 2 could overflow int32.
    """
    owner = "cos_similarity"
    eps = _non_negative(owner, "eps", eps)
    x, y = _float_vectors(owner, x, y)
    nx = x / (np.sqrt(np.sum(x * x)) + eps)
    ny = y / (np.sqrt(np.sum(y * y)) + eps)
    return np.dot(nx, ny)  # type: ignore[no-any-return]


def most_similar(
    query: str,
    word_to_id: WordToId,
    id_to_word: IdToWord,
    word_matrix: npt.NDArray[Any],
    top: int = 5,
) -> list[tuple[str, float]]:
    """The ``top`` words most similar to ``query`` by cosine similarity (section 2.3.6).

    Prints them as the book does (``[query] ...`` then `` word: similarity``) and returns
    them as ``(word, similarity)`` pairs, most similar first; the query itself is left
    out. Ties keep the order of the word ids. One matrix-vector product instead of the
    book's loop over the vocabulary.
    """
    owner = "most_similar"
    top = check.positive_int(owner, "top", top)
    matrix = _word_matrix(owner, word_matrix, id_to_word)
    query_id = _word_id(owner, "query", query, word_to_id)
    similarity = _cosine_to_all(matrix, matrix[query_id])
    print(f"\n[query] {query}")
    found: list[tuple[str, float]] = []
    for i in np.argsort(-similarity, kind="stable"):
        word = id_to_word[int(i)]
        if word == query:
            continue
        print(f" {word}: {similarity[i]}")
        found.append((word, float(similarity[i])))
        if len(found) >= top:
            break
    return found


def ppmi(
    C: npt.NDArray[Any],
    verbose: bool = False,
    eps: float = 1e-8,
    *,
    dtype: type[np.floating[Any]] | np.dtype[Any] = np.float32,
) -> FloatArray:
    """Positive pointwise mutual information of a co-occurrence matrix (section 2.4.1).

    PPMI[i, j] = max(0, log2(C[i, j] N / (S[i] S[j]) + eps)) with N = C.sum() and
    S = C.sum(axis=0), the book's formula (``eps`` inside the log, as in the book, so
    a zero count gives log2(eps) < 0, hence 0). A word whose column of C is all zero
    (S = 0; the book divides by zero there) gets 0 everywhere. The result is float32 by
    default, as the book's; ``dtype=np.float64`` keeps double precision. The work is done
    in float64 on the nonzero counts, a block of rows at a time, so memory stays at the
    result plus a few megabytes (V = 10,000: about 0.5 s here). ``verbose`` prints the progress.
    """
    owner = "ppmi"
    eps = _non_negative(owner, "eps", eps)
    out_dtype = np.dtype(dtype)
    if out_dtype not in check.SUPPORTED_FLOATS:
        raise check.fail_type(owner, "dtype", "float32 or float64", dtype)
    if not isinstance(C, np.ndarray):
        raise check.fail_type(owner, "C", "a numpy.ndarray of co-occurrence counts", C)
    if not (np.issubdtype(C.dtype, np.integer) or np.issubdtype(C.dtype, np.floating)):
        raise check.fail_type(owner, "C", "an integer or float array of counts", C)
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.size == 0:
        raise check.fail_value(owner, "C", "a non-empty square matrix (V, V)", f"shape {C.shape}")
    accumulate = np.int64 if np.issubdtype(C.dtype, np.integer) else np.float64
    S = C.sum(axis=0, dtype=accumulate).astype(np.float64)
    N = float(C.sum(dtype=accumulate))
    # N / S[i] and 1 / S[j], with 0 where S is 0: those entries then get the value of a zero count.
    positive = S > 0
    safe = np.where(positive, S, 1.0)
    row_factor = np.where(positive, N / safe, 0.0)
    col_factor = np.where(positive, 1.0 / safe, 0.0)
    # A zero count gives max(0, log2(0 + eps)) (0 for eps <= 1). Only the nonzero counts
    # are computed, a block of rows at a time: a co-occurrence matrix is sparse (V = 10,000
    # and a million words: under 2 % nonzero). The result is first filled in one
    # sequential pass: the kernel maps fresh pages far faster in order than when the
    # scattered writes touch them first (V = 10,000: 0.06 s against 0.84 s, measured here).
    with np.errstate(divide="ignore"):  # eps = 0: log2(0) = -inf, which max(0, .) turns into 0
        zero_count_value = max(0.0, float(np.log2(eps)))
    M = np.empty(C.shape, dtype=out_dtype)
    M.fill(zero_count_value)
    rows = C.shape[0]
    reported = 0
    integer = np.issubdtype(C.dtype, np.integer)
    with np.errstate(divide="ignore"):
        for start in range(0, rows, _PPMI_BLOCK_ROWS):
            stop = min(start + _PPMI_BLOCK_ROWS, rows)
            block = C[start:stop]
            if (not integer and not np.all(np.isfinite(block))) or block.min() < 0:
                raise check.fail_value(
                    owner, "C", "finite non-negative counts", f"a bad value in rows {start} to {stop - 1}"
                )
            i, j = np.nonzero(block)
            value = block[i, j].astype(np.float64)
            value *= row_factor[start + i]
            value *= col_factor[j]
            value += eps
            np.log2(value, out=value)
            np.maximum(value, 0, out=value)
            M[start + i, j] = value
            if verbose and (10 * stop) // rows > reported:
                reported = (10 * stop) // rows
                print(f"{100 * stop / rows:.1f}% done")
    return M


def create_contexts_target(corpus: IntArray, window_size: int = 1) -> tuple[IntArray, IntArray]:
    """The CBOW training pairs of section 3.3.1.

    target[n] = corpus[n + window_size] for every position that has window_size words
    on each side; contexts[n] holds those 2 * window_size words, left to right without
    the target. Shapes (N, 2 * window_size) and (N,), N = len(corpus) - 2 * window_size,
    in the corpus' dtype.
    """
    owner = "create_contexts_target"
    window_size = check.positive_int(owner, "window_size", window_size)
    corpus = _corpus(owner, corpus, None)
    span = 2 * window_size + 1
    if corpus.size < span:
        raise check.fail_value(
            owner,
            "corpus",
            f"at least 2 * window_size + 1 = {span} words for window_size {window_size}",
            f"{corpus.size} words",
        )
    windows = np.lib.stride_tricks.sliding_window_view(corpus, span)
    target = windows[:, window_size].copy()
    contexts = np.delete(windows, window_size, axis=1)  # a new array
    return contexts, target


def convert_one_hot(corpus: IntArray, vocab_size: int) -> npt.NDArray[np.int32]:
    """One-hot vectors of word ids (section 3.3.2): shape corpus.shape + (vocab_size,), int32.

    ``corpus`` is 1-D (targets, (N,)) or 2-D (contexts, (N, C)), as in the book.
    """
    owner = "convert_one_hot"
    vocab_size = check.positive_int(owner, "vocab_size", vocab_size)
    if isinstance(corpus, np.ndarray) and corpus.ndim not in (1, 2):
        raise check.fail_value(owner, "corpus", "a 1-D (N,) or 2-D (N, C) array", f"shape {corpus.shape}")
    if isinstance(corpus, np.ndarray) and corpus.ndim == 2:
        _corpus(owner, corpus.reshape(-1), vocab_size)
    else:
        corpus = _corpus(owner, corpus, vocab_size)
    one_hot = np.zeros((*corpus.shape, vocab_size), dtype=np.int32)
    np.put_along_axis(one_hot, corpus[..., None].astype(np.intp), 1, axis=-1)
    return one_hot


def analogy(
    a: str,
    b: str,
    c: str,
    word_to_id: WordToId,
    id_to_word: IdToWord,
    word_matrix: npt.NDArray[Any],
    top: int = 5,
    answer: str | None = None,
) -> list[tuple[str, float]]:
    """Answers to "a : b = c : ?" by vector arithmetic (section 4.4.2, the book's ``analogy``).

    query = (b - a + c) / |b - a + c| and the score of each word is word_matrix[w] . query
    (the book does not normalise the word vectors here; normalise them first for cosine
    scores). Words a, b and c are left out. Prints as the book (with ``==>answer:score``
    when ``answer`` is given) and returns the ``top`` (word, score) pairs, best first.
    """
    owner = "analogy"
    top = check.positive_int(owner, "top", top)
    matrix = _word_matrix(owner, word_matrix, id_to_word)
    ids = [_word_id(owner, name, word, word_to_id) for name, word in (("a", a), ("b", b), ("c", c))]
    query = matrix[ids[1]] - matrix[ids[0]] + matrix[ids[2]]
    norm = np.sqrt(np.sum(query * query))
    if not norm > 0:
        raise check.fail_value(owner, "b - a + c", "a nonzero vector", f"norm {norm}")
    query = query / norm
    scores = matrix @ query
    print(f"\n[analogy] {a}:{b} = {c}:?")
    if answer is not None:
        answer_id = _word_id(owner, "answer", answer, word_to_id)
        print(f"==>{answer}:{np.dot(matrix[answer_id], query)}")
    found: list[tuple[str, float]] = []
    for i in np.argsort(-scores, kind="stable"):
        word = id_to_word[int(i)]
        if np.isnan(scores[i]) or word in (a, b, c):
            continue
        print(f" {word}: {scores[i]}")
        found.append((word, float(scores[i])))
        if len(found) >= top:
            break
    return found


# --- helpers ------------------------------------------------------------------------------


def _corpus(owner: str, corpus: object, vocab_size: int | None) -> IntArray:
    """A non-empty 1-D integer array of non-negative ids (below ``vocab_size`` when given)."""
    if not isinstance(corpus, np.ndarray):
        raise check.fail_type(owner, "corpus", "a numpy.ndarray of word ids", corpus)
    if not np.issubdtype(corpus.dtype, np.integer):
        raise check.fail_type(owner, "corpus", "an array of integer word ids", corpus)
    if corpus.ndim != 1:
        raise check.fail_value(owner, "corpus", "a 1-D array of word ids", f"shape {corpus.shape}")
    if corpus.size == 0:
        raise check.fail_value(owner, "corpus", "a non-empty array of word ids", "an empty array")
    low, high = int(corpus.min()), int(corpus.max())
    if low < 0:
        raise check.fail_value(owner, "corpus", "non-negative word ids", f"the id {low}")
    if vocab_size is not None and high >= vocab_size:
        raise check.fail_value(
            owner,
            "vocab_size",
            f"larger than every word id of the corpus (at least {high + 1})",
            str(vocab_size),
        )
    return corpus


def _non_negative(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise check.fail_value(owner, name, "a finite non-negative number", repr(value))
    if float(value) < 0:
        raise check.fail_value(owner, name, "a finite non-negative number", repr(value))
    return float(value)


def _as_float(owner: str, name: str, value: object, ndim: int, layout: str) -> FloatArray:
    """Float arrays as they are; integer (count) arrays as float64."""
    if not isinstance(value, np.ndarray):
        raise check.fail_type(owner, name, "a numpy.ndarray", value)
    if np.issubdtype(value.dtype, np.integer):
        value = value.astype(np.float64)
    elif value.dtype not in check.SUPPORTED_FLOATS:
        raise check.fail_type(owner, name, "a float32, float64 or integer array", value)
    if value.ndim != ndim:
        raise check.fail_value(owner, name, f"a {ndim}-D array {layout}", f"shape {value.shape}")
    return value


def _float_vectors(owner: str, x: object, y: object) -> tuple[FloatArray, FloatArray]:
    x_is_int = isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.integer)
    y_is_int = isinstance(y, np.ndarray) and np.issubdtype(y.dtype, np.integer)
    fx = _as_float(owner, "x", x, 1, "(D,)")
    fy = _as_float(owner, "y", y, 1, "(D,)")
    # An integer vector takes the dtype of a float partner, so only two floats can clash.
    if x_is_int and not y_is_int:
        fx = fx.astype(fy.dtype)
    elif y_is_int and not x_is_int:
        fy = fy.astype(fx.dtype)
    check.same_shape(owner, "y", fy, "x", fx.shape)
    check.same_dtype(owner, "y", fy, "x", fx.dtype)
    return fx, fy


def _word_matrix(owner: str, word_matrix: object, id_to_word: IdToWord) -> FloatArray:
    matrix = _as_float(owner, "word_matrix", word_matrix, 2, "(V, D)")
    if matrix.shape[0] != len(id_to_word):
        raise check.fail_value(
            owner,
            "word_matrix",
            f"one row per word of id_to_word ({len(id_to_word)})",
            f"shape {matrix.shape}",
        )
    return matrix


def _word_id(owner: str, name: str, word: object, word_to_id: WordToId) -> int:
    if not isinstance(word, str):
        raise check.fail_type(owner, name, "a str", word)
    if word not in word_to_id:
        raise UnknownWordError(f"{owner}: {name} {word!r} is not in the vocabulary (word_to_id)")
    return int(word_to_id[word])


def _cosine_to_all(matrix: FloatArray, vector: FloatArray, eps: float = 1e-8) -> FloatArray:
    """cos_similarity(matrix[i], vector) for every row i, as one matrix-vector product."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    query = vector / (np.sqrt(np.sum(vector * vector)) + eps)
    similarity: FloatArray = (matrix @ query) / (norms + eps)
    return similarity
