"""The chapter-7 sequence data: format, padding, determinism, vocabulary, reversal, reading files."""

from __future__ import annotations

import calendar
import datetime as dt
import re

import numpy as np
import pytest

from scratchnn.datasets import sequence


def test_addition_lines_have_the_books_padded_format():
    lines = sequence.addition(2000, seed=3)
    assert len(lines) == 2000
    for line in lines:
        assert len(line) == 12
        question, answer = line[:7], line[7:]
        match = re.fullmatch(r"(\d{1,3})\+(\d{1,3}) *", question)
        assert match, line
        a, b = int(match[1]), int(match[2])
        assert str(a) == match[1]  # no leading zeros
        assert str(b) == match[2]
        assert re.fullmatch(r"_\d{1,4} *", answer), line
        assert int(answer[1:]) == a + b


def test_addition_questions_are_unique_and_cover_small_and_large_operands():
    lines = sequence.addition(20_000, seed=0)
    questions = [line[:7] for line in lines]
    assert len(set(questions)) == 20_000
    operands = [int(v) for q in questions for v in q.strip().split("+")]
    assert min(operands) == 0
    assert max(operands) == 999
    # Digit counts drawn uniformly in 1..3 as the book's generator: about a third have 3 digits
    # (2-digit and 1-digit draws are fewer after duplicates are removed).
    three_digits = np.mean([v >= 100 for v in operands])
    assert 0.3 < three_digits < 0.5


def test_addition_goes_on_past_what_the_skewed_draw_finds():
    # About 200,000 distinct pairs come out of the book's digit-count draw before it
    # runs dry; the rest are drawn uniformly from the unused pairs.
    lines = sequence.addition(300_000, seed=1)
    assert len(set(lines)) == 300_000


# Every format the generator may use, as strptime patterns: an independent parser.
# %y maps 69-99 to 19yy and 00-68 to 20yy, which agrees with the 1970-2029 range.
STRPTIME_FORMATS = [
    "%B %d, %Y",
    "%b %d, %Y",
    "%A, %B %d, %Y",
    "%m/%d/%y",
    "%m/%d/%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d %b, %Y",
    "%d %B, %Y",
    "%d, %b %Y",
    "%d %m %y",
    "%B %d %Y",
    "%d.%m.%y",
    "%A, %d %B %Y",
]


def parse_all(question):
    dates = set()
    for pattern in STRPTIME_FORMATS:
        try:
            dates.add(dt.datetime.strptime(question, pattern).date())
        except ValueError:
            continue
    return dates


def test_date_lines_say_the_same_date_in_the_question_and_the_answer():
    lines = sequence.dates(3000, seed=5)
    assert len(lines) == 3000
    for line in lines:
        assert len(line) == 40
        question, answer = line[:29], line[29:]
        assert answer[0] == "_"
        target = dt.date.fromisoformat(answer[1:])
        assert dt.date(1970, 1, 1) <= target <= dt.date(2029, 12, 31)
        assert question == question.rstrip().ljust(29)
        # Every reading of the question gives the answer: never ambiguous.
        assert parse_all(question.rstrip()) == {target}, line
        words = question.split(",")[0].strip().lower()
        if words in [d.lower() for d in calendar.day_name]:
            assert words == calendar.day_name[target.weekday()].lower()


def test_dates_use_many_formats_and_cases():
    questions = [line[:29].rstrip() for line in sequence.dates(3000, seed=6)]
    assert len(set(questions)) == 3000
    assert any(q.isupper() for q in questions)
    assert any(q[0].isupper() and not q.isupper() for q in questions)
    assert any(q.islower() for q in questions)
    assert any("/" in q for q in questions)
    assert any("." in q for q in questions)
    assert any(q.count(",") == 2 for q in questions)  # weekday, month day, year


def test_the_books_example_dates():
    """27 September 1994 was a Tuesday (the book's example line)."""
    day = dt.date(1994, 9, 27)
    assert sequence.format_date(day, "{weekday}, {month} {d}, {yyyy}") == "tuesday, september 27, 1994"
    assert sequence.format_date(day, "{m}/{d}/{yy}") == "9/27/94"
    assert sequence.format_date(day, "{mon} {d}, {yyyy}").title() == "Sep 27, 1994"
    assert sequence.format_date(day, "{d} {mon} {yyyy}").upper() == "27 SEP 1994"


@pytest.mark.parametrize("generate", [sequence.addition, sequence.dates])
def test_generators_are_deterministic_per_seed(generate):
    assert generate(500, seed=11) == generate(500, seed=11)
    assert generate(500, seed=11) != generate(500, seed=12)


def test_generators_leave_the_global_random_state_alone():
    before = np.random.get_state(legacy=False)  # noqa: NPY002 - the legacy global state is what we check
    sequence.addition(100, seed=None)
    sequence.load("date.txt", n=100, seed=None, data_seed=None)
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    assert after["state"]["pos"] == before["state"]["pos"]
    np.testing.assert_array_equal(after["state"]["key"], before["state"]["key"])


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_reading_a_book_style_file(tmp_path):
    # The vocabulary numbers characters in order of first appearance, question then answer.
    lines = ["1+2 _3 ", "9+9 _18", "12+1_13"] * 10
    file = write_lines(tmp_path / "addition.txt", lines)
    data = sequence.load(path=file, seed=0)

    expected_vocab = {"1": 0, "+": 1, "2": 2, " ": 3, "_": 4, "3": 5, "9": 6, "8": 7}
    assert data.char_to_id == expected_vocab
    assert data.id_to_char == {i: c for c, i in expected_vocab.items()}
    assert data.x_train.shape == (27, 4)  # 30 - 30 // 10 for training
    assert data.x_test.shape == (3, 4)
    assert data.t_train.shape == (27, 3)
    assert data.x_train.dtype == np.intp
    x = np.concatenate([data.x_train, data.x_test])
    t = np.concatenate([data.t_train, data.t_test])
    pairs = sorted(data.text(q) + data.text(a) for q, a in zip(x, t, strict=True))
    assert pairs == sorted(lines)
    # Shuffled: the ten copies of each line are not in file order.
    assert [data.text(q) + data.text(a) for q, a in zip(x, t, strict=True)] != lines
    # A directory holding file_name works too, and a CRLF file reads the same.
    write_lines(tmp_path / "date.txt", [line + "\r" for line in lines])
    same = sequence.load("date.txt", path=tmp_path, seed=0)
    np.testing.assert_array_equal(same.x_train, data.x_train)
    np.testing.assert_array_equal(same.t_test, data.t_test)


def test_load_data_and_get_vocab_as_the_book(tmp_path):
    file = write_lines(tmp_path / "addition.txt", ["1+2 _3 ", "9+9 _18"] * 5)
    (x_train, t_train), (x_test, _) = sequence.load_data("addition.txt", path=tmp_path)
    char_to_id, id_to_char = sequence.get_vocab()
    assert char_to_id == {"1": 0, "+": 1, "2": 2, " ": 3, "_": 4, "3": 5, "9": 6, "8": 7}
    assert len(x_train) == 9
    assert len(x_test) == 1
    # The book's decoding of a row.
    assert "".join(id_to_char[int(c)] for c in t_train[0]) in ("_3 ", "_18")
    char_to_id["x"] = 99  # a copy: the kept vocabulary is not changed
    assert "x" not in sequence.get_vocab()[0]
    assert file.exists()


def test_generated_data_split_90_10_with_unique_questions_across_splits():
    data = sequence.load("addition.txt", n=1000)
    assert data.x_train.shape == (900, 7)
    assert data.x_test.shape == (100, 7)
    assert data.t_train.shape == (900, 5)
    train = {tuple(row) for row in data.x_train.tolist()}
    test = {tuple(row) for row in data.x_test.tolist()}
    assert len(train) == 900
    assert not train & test
    assert data.vocab_size == 13  # 0-9, +, _, space
    dates = sequence.load("date.txt", n=1000)
    assert dates.x_train.shape == (900, 29)
    assert dates.t_train.shape == (900, 11)
    assert all(dates.text(row).startswith("_") for row in dates.t_test)


def test_loading_is_deterministic_and_the_seed_shuffles():
    a = sequence.load("date.txt", n=300, seed=1)
    b = sequence.load("date.txt", n=300, seed=1)
    c = sequence.load("date.txt", n=300, seed=2)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.char_to_id == b.char_to_id == c.char_to_id  # the vocabulary follows the lines, not the shuffle
    assert not np.array_equal(a.x_train, c.x_train)


def test_reverse_reverses_the_questions_only():
    plain = sequence.load("addition.txt", n=200)
    reversed_ = sequence.load("addition.txt", n=200, reverse=True)
    np.testing.assert_array_equal(reversed_.x_train, plain.x_train[:, ::-1])
    np.testing.assert_array_equal(reversed_.x_test, plain.x_test[:, ::-1])
    np.testing.assert_array_equal(reversed_.t_train, plain.t_train)
    assert reversed_.x_train.flags.c_contiguous
    assert reversed_.text(reversed_.x_train[0])[::-1] == plain.text(plain.x_train[0])


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["1+2 _3 ", "1+2 3  "], r"path must be lines of the form question_answer; got line 2"),
        (["1+2 _3 ", "12+2 _14"], r"path must be questions padded to one width"),
        (["1+2 _3 ", "1+3 _4"], r"path must be answers padded to one width"),
        ([], r"path must be a file with at least one line"),
    ],
)
def test_malformed_files_are_refused(tmp_path, lines, message):
    file = write_lines(tmp_path / "bad.txt", lines)
    with pytest.raises(ValueError, match=rf"sequence\.load: {message}"):
        sequence.load(path=file)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"sequence\.load: file_name must be one of"):
        sequence.load("ptb.train.txt")
    with pytest.raises(ValueError, match=r"sequence\.load: path must be an existing file"):
        sequence.load(path=tmp_path / "missing.txt")
    with pytest.raises(ValueError, match=r"sequence\.addition: n must be a positive integer"):
        sequence.addition(0)
    with pytest.raises(ValueError, match=r"sequence\.addition: n must be at most 1,000,000"):
        sequence.addition(1000 * 1000 + 1)
    with pytest.raises(ValueError, match=r"sequence\.dates: n must be a positive integer"):
        sequence.dates(-1)
