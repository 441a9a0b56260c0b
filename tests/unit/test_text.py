"""scratchnn.text on the book's sentence, worked by hand, and against plain-loop references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchnn.text import (
    UnknownWordError,
    analogy,
    convert_one_hot,
    cos_similarity,
    create_co_matrix,
    create_contexts_target,
    most_similar,
    ppmi,
    preprocess,
)

BOOK = "You say goodbye and I say hello."
#            you say goodbye and  i  hello  .
BOOK_IDS = [0, 1, 2, 3, 4, 1, 5, 6]

# Figure 2-7: counts of the neighbours (window 1) of each word, rows and columns in id order.
FIGURE_2_7 = [
    [0, 1, 0, 0, 0, 0, 0],  # you: say
    [1, 0, 1, 0, 1, 1, 0],  # say: you, goodbye, i, hello
    [0, 1, 0, 1, 0, 0, 0],  # goodbye: say, and
    [0, 0, 1, 0, 1, 0, 0],  # and: goodbye, i
    [0, 1, 0, 1, 0, 0, 0],  # i: and, say
    [0, 1, 0, 0, 0, 0, 1],  # hello: say, .
    [0, 0, 0, 0, 0, 1, 0],  # .: hello
]


def book():
    return preprocess(BOOK)


def test_preprocess_the_books_sentence():
    corpus, word_to_id, id_to_word = book()
    assert corpus.dtype == np.int64
    np.testing.assert_array_equal(corpus, BOOK_IDS)
    assert word_to_id == {"you": 0, "say": 1, "goodbye": 2, "and": 3, "i": 4, "hello": 5, ".": 6}
    assert id_to_word == {i: w for w, i in word_to_id.items()}


def test_preprocess_splits_on_any_whitespace():
    corpus, word_to_id, _ = preprocess("A  b.\nA\tc.")
    assert list(word_to_id) == ["a", "b", ".", "c"]
    np.testing.assert_array_equal(corpus, [0, 1, 2, 0, 3, 2])


@pytest.mark.parametrize("text", ["", "   \n"])
def test_preprocess_refuses_a_text_without_words(text):
    with pytest.raises(ValueError, match="preprocess: text must be a text with at least one word"):
        preprocess(text)


def test_co_matrix_is_figure_2_7():
    corpus, word_to_id, _ = book()
    C = create_co_matrix(corpus, len(word_to_id))
    assert C.dtype == np.int32
    np.testing.assert_array_equal(C, FIGURE_2_7)


def test_co_matrix_window_two_by_hand():
    corpus = np.array([0, 1, 2, 0])
    C = create_co_matrix(corpus, 3, window_size=2)
    # position 0 (w0): 1, 2 | position 1 (w1): 0, 2, 0 | position 2 (w2): 0, 1, 0 | position 3 (w0): 1, 2
    np.testing.assert_array_equal(C, [[0, 2, 2], [2, 0, 1], [2, 1, 0]])


def loop_co_matrix(corpus, vocab_size, window_size):
    """The book's double loop, as written in section 2.3.4."""
    C = np.zeros((vocab_size, vocab_size), dtype=np.int64)
    for idx, word_id in enumerate(corpus):
        for i in range(1, window_size + 1):
            if idx - i >= 0:
                C[word_id, corpus[idx - i]] += 1
            if idx + i < len(corpus):
                C[word_id, corpus[idx + i]] += 1
    return C


def loop_ppmi(C, eps=1e-8):
    """The book's ppmi loop in float64 (columns of zeros: 0, where the book divides by zero)."""
    N, S = C.sum(), C.sum(axis=0)
    M = np.zeros(C.shape)
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            if S[i] and S[j]:
                M[i, j] = max(0.0, math.log2(C[i, j] * N / (S[j] * S[i]) + eps))
    return M


@pytest.mark.parametrize("window_size", [1, 2, 3])
def test_co_matrix_and_ppmi_agree_with_plain_loops_on_a_random_corpus(window_size):
    rng = np.random.default_rng(window_size)
    vocab_size = 30  # ids 27 to 29 never occur: zero rows and columns
    corpus = rng.integers(0, 27, 400)
    C = create_co_matrix(corpus, vocab_size, window_size)
    expected = loop_co_matrix(corpus, vocab_size, window_size)
    np.testing.assert_array_equal(C, expected)

    M32, M64 = ppmi(C), ppmi(C, dtype=np.float64)
    reference = loop_ppmi(expected)
    assert M32.dtype == np.float32
    assert M64.dtype == np.float64
    np.testing.assert_allclose(M64, reference, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(M32, reference, rtol=1e-6, atol=1e-6)


def test_ppmi_by_hand_on_the_books_sentence():
    corpus, word_to_id, _ = book()
    M = ppmi(create_co_matrix(corpus, len(word_to_id)))
    # N = 14 (7 neighbouring pairs, each counted both ways); S = [1, 4, 2, 2, 2, 2, 1].
    you, say, goodbye, and_, _i, hello, dot = range(7)
    expected = {
        (you, say): math.log2(1 * 14 / (1 * 4)),  # 1.807, as printed in section 2.4.1
        (say, goodbye): math.log2(1 * 14 / (4 * 2)),  # 0.807
        (goodbye, and_): math.log2(1 * 14 / (2 * 2)),  # 1.807
        (hello, dot): math.log2(1 * 14 / (2 * 1)),  # 2.807
    }
    for (row, col), value in expected.items():
        assert M[row, col] == pytest.approx(value, rel=1e-6)
        assert M[col, row] == pytest.approx(value, rel=1e-6)
    assert M[you, you] == 0  # a zero count
    assert round(float(M[hello, dot]), 3) == 2.807


def test_ppmi_verbose_prints_progress(capsys):
    ppmi(np.ones((3, 3), dtype=np.int32), verbose=True)
    assert "100.0% done" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("C", "error", "message"),
    [
        (np.ones((2, 3)), ValueError, "a non-empty square matrix"),
        (np.ones(3), ValueError, "a non-empty square matrix"),
        (np.array([[1, -1], [-1, 0]]), ValueError, "finite non-negative counts"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "finite non-negative counts"),
        (np.ones((2, 2), dtype=bool), TypeError, "an integer or float array"),
        ([[1, 0], [0, 1]], TypeError, "a numpy.ndarray"),
    ],
)
def test_ppmi_refuses_bad_matrices(C, error, message):
    with pytest.raises(error, match=f"ppmi: C must be {message}"):
        ppmi(C)


def test_cos_similarity_of_you_and_i():
    C = np.array(FIGURE_2_7, dtype=np.int32)
    # you = e_say, i = e_say + e_and: 1 / (1 * sqrt(2)) apart from eps; the book prints 0.7071067691154799
    value = cos_similarity(C[0], C[4])
    assert value.dtype == np.float64
    assert value == pytest.approx(1 / ((1 + 1e-8) * (math.sqrt(2) + 1e-8)), rel=1e-15)
    assert value == pytest.approx(0.7071067691154799, rel=1e-15)


def test_cos_similarity_keeps_float32_and_survives_a_zero_vector():
    x = np.array([3.0, 4.0], dtype=np.float32)
    assert cos_similarity(x, x).dtype == np.float32
    assert cos_similarity(x, np.zeros(2, dtype=np.float32)) == 0
    with pytest.raises(TypeError, match="cos_similarity: y must have the dtype of x"):
        cos_similarity(x, np.ones(2))
    with pytest.raises(ValueError, match="cos_similarity: y must be of shape"):
        cos_similarity(x, np.ones(3, dtype=np.float32))


def test_most_similar_prints_and_returns_the_books_answer(capsys):
    corpus, word_to_id, id_to_word = book()
    C = create_co_matrix(corpus, len(word_to_id))
    found = most_similar("you", word_to_id, id_to_word, C, top=5)
    # section 2.3.6: goodbye, i, hello at 1/sqrt(2) (each shares 'say' with 'you'), then say and and at 0
    assert [w for w, _ in found] == ["goodbye", "i", "hello", "say", "and"]
    assert [s for _, s in found[:3]] == pytest.approx([1 / math.sqrt(2)] * 3, rel=1e-7)
    assert [s for _, s in found[3:]] == [0.0, 0.0]
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "[query] you"
    assert out[2].startswith(" goodbye: 0.70710")
    assert len(out) == 7


def test_most_similar_refuses_an_unknown_word():
    _, word_to_id, id_to_word = book()
    C = np.eye(7)
    with pytest.raises(UnknownWordError, match="most_similar: query 'cat' is not in the vocabulary"):
        most_similar("cat", word_to_id, id_to_word, C)
    with pytest.raises(KeyError):
        most_similar("cat", word_to_id, id_to_word, C)
    with pytest.raises(ValueError, match=r"most_similar: word_matrix must be one row per word"):
        most_similar("you", word_to_id, id_to_word, np.eye(6))


def test_contexts_and_target_of_figure_3_17():
    corpus, _, _ = book()
    contexts, target = create_contexts_target(corpus, window_size=1)
    np.testing.assert_array_equal(contexts, [[0, 2], [1, 3], [2, 4], [3, 1], [4, 5], [1, 6]])
    np.testing.assert_array_equal(target, [1, 2, 3, 4, 1, 5])
    assert contexts.dtype == target.dtype == np.int64


def test_contexts_and_target_window_two_and_dtype():
    corpus = np.arange(6, dtype=np.int32)
    contexts, target = create_contexts_target(corpus, window_size=2)
    np.testing.assert_array_equal(contexts, [[0, 1, 3, 4], [1, 2, 4, 5]])
    np.testing.assert_array_equal(target, [2, 3])
    assert contexts.dtype == np.int32
    contexts[0, 0] = 99  # a fresh array, not a view of the corpus
    assert corpus[0] == 0


def test_convert_one_hot_of_targets_and_contexts():
    corpus, _, _ = book()
    contexts, target = create_contexts_target(corpus)
    t = convert_one_hot(target, 7)
    c = convert_one_hot(contexts, 7)
    assert t.shape == (6, 7)
    assert c.shape == (6, 2, 7)
    assert t.dtype == c.dtype == np.int32
    np.testing.assert_array_equal(t[0], [0, 1, 0, 0, 0, 0, 0])  # 'say'
    np.testing.assert_array_equal(c[0], [[1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0]])  # you, goodbye
    np.testing.assert_array_equal(c.argmax(axis=-1), contexts)
    assert c.sum() == contexts.size


def test_analogy_by_hand(capsys):
    words = ["man", "woman", "king", "queen", "apple"]
    word_to_id = {w: i for i, w in enumerate(words)}
    id_to_word = dict(enumerate(words))
    W = np.array([[1.0, 0.0], [1.0, 1.0], [3.0, 0.0], [3.0, 1.0], [0.0, -1.0]])
    # query = woman - man + king = (3, 1), normalised by sqrt(10); scores W @ query
    found = analogy("man", "woman", "king", word_to_id, id_to_word, W, top=2, answer="queen")
    assert found == [
        ("queen", pytest.approx(10 / math.sqrt(10))),
        ("apple", pytest.approx(-1 / math.sqrt(10))),
    ]
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "[analogy] man:woman = king:?"
    assert out[2].startswith("==>queen:3.162")
    with pytest.raises(UnknownWordError, match="analogy: c 'prince' is not in the vocabulary"):
        analogy("man", "woman", "prince", word_to_id, id_to_word, W)
    with pytest.raises(ValueError, match="analogy: b - a \\+ c must be a nonzero vector"):
        analogy("man", "woman", "man", word_to_id, id_to_word, W * [[1], [0], [1], [1], [1]])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: create_co_matrix(np.array([0, 5]), 5), ValueError, "vocab_size must be larger than every"),
        (lambda: create_co_matrix(np.array([], dtype=np.int64), 5), ValueError, "corpus must be a non-empty"),
        (lambda: create_co_matrix(np.array([0, 1]), 5, window_size=0), ValueError, "window_size must be a"),
        (lambda: create_co_matrix(np.array([0.0, 1.0]), 5), TypeError, "corpus must be an array of integer"),
        (lambda: create_co_matrix(np.array([0, -1]), 5), ValueError, "corpus must be non-negative word ids"),
        (lambda: create_contexts_target(np.array([0, 1]), 1), ValueError, "corpus must be at least 2"),
        (lambda: create_contexts_target(np.array([0, 1, 2]), 0), ValueError, "window_size must be a"),
        (lambda: create_contexts_target(np.zeros((2, 3), int)), ValueError, "corpus must be a 1-D"),
        (lambda: convert_one_hot(np.array([0, 3]), 3), ValueError, "vocab_size must be larger"),
        (lambda: convert_one_hot(np.array([[0, 3]]), 3), ValueError, "vocab_size must be larger"),
        (lambda: convert_one_hot(np.zeros((1, 1, 1), int), 3), ValueError, "corpus must be a 1-D"),
    ],
)
def test_bad_input_is_refused_with_the_function_and_argument_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
