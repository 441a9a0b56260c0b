"""Character sequence data of chapter 7 (section 7.2): additions and date formats, made in code.

The book ships two text files, ``addition.txt`` and ``date.txt``, one problem per
line as ``question_answer``, every line padded with spaces to one width:
``"16+75  _91  "``, ``"september 27, 1994           _1994-09-27"``.

The answer starts with ``_``, the decoder's start symbol. This module generates
data of the same format, seeded (:func:`addition`, :func:`dates`), and reads the
book's files when a user has them (``path=``). :func:`load_data` is the book's
``sequence.load_data(file_name, seed=1984)``; :func:`get_vocab` returns the
character vocabulary of the last load, as the book's ``sequence.get_vocab()``.
:func:`load` returns everything (arrays and vocabulary) in one object.

Generated questions are unique, so no question of the test split is seen in
training.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check

__all__ = [
    "ADDITION_WIDTHS",
    "DATE_WIDTHS",
    "SequenceData",
    "addition",
    "dates",
    "get_vocab",
    "load",
    "load_data",
    "read_lines",
    "to_text",
]

IdArray = npt.NDArray[np.intp]

ADDITION_WIDTHS = (7, 5)
"""Question and answer widths of addition.txt: "999+999" and "_1998"."""

DATE_WIDTHS = (29, 11)
"""Question and answer widths of date.txt: "wednesday, september 27, 1994" and "_1994-09-27"."""

DEFAULT_SIZE = 50_000
"""Lines in each of the book's files."""

# --- addition -------------------------------------------------------------------------------


def addition(n: int = DEFAULT_SIZE, seed: int | None = 0) -> list[str]:
    """``n`` distinct addition problems as lines ``"16+75  _91  "`` (no newline).

    Each operand is in 0..999, drawn as in the generator behind the book's file
    (the Keras addition example): a digit count uniform in 1..3, then that many
    random digits, so small numbers are as common as large ones. Questions are
    left-justified to 7 characters, answers ``_`` + the sum to 5. Duplicate
    questions are drawn again; once the skewed draw stops finding new ones (n
    beyond about 200,000), the rest are drawn uniformly from the unused pairs.
    """
    owner = "sequence.addition"
    n = check.positive_int(owner, "n", n)
    if n > 1000 * 1000:
        raise check.fail_value(owner, "n", "at most 1,000,000 (the distinct pairs of 0..999)", str(n))
    rng = np.random.default_rng(seed)
    codes = _distinct_codes(rng, n)
    a, b = np.divmod(codes, 1000)
    q_width, a_width = ADDITION_WIDTHS
    return [
        f"{x}+{y}".ljust(q_width) + f"_{x + y}".ljust(a_width)
        for x, y in zip(a.tolist(), b.tolist(), strict=True)
    ]


def _distinct_codes(rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
    """n distinct codes 1000 a + b, in order of first draw."""
    chosen: list[npt.NDArray[np.int64]] = []
    seen = np.zeros(1000 * 1000, dtype=bool)
    count = 0
    while count < n:
        size = 2 * (n - count) + 64
        digits = rng.integers(1, 4, size=(2, size))
        operands = rng.integers(0, 10**digits)
        candidates = operands[0] * 1000 + operands[1]
        # First occurrence of each new code, in draw order.
        _, first = np.unique(candidates, return_index=True)
        fresh = candidates[np.sort(first)]
        fresh = fresh[~seen[fresh]][: n - count]
        seen[fresh] = True
        chosen.append(fresh)
        count += fresh.size
        if fresh.size < size // 20:
            break  # the skewed draw has run dry: fill up uniformly below
    if count < n:
        unused = np.flatnonzero(~seen)
        chosen.append(rng.choice(unused, size=n - count, replace=False))
    return np.concatenate(chosen)


# --- dates ----------------------------------------------------------------------------------

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# The formats of the generator behind the book's date.txt (Babel's short, medium,
# long and full formats and a few day-first patterns), with one convention per
# separator so that no question is ambiguous: slashes are month/day/year (US),
# dots and numeric spaces day.month.year. Fields: month and weekday names (and
# their 3-letter abbreviations), d and m without padding, dd and mm zero-padded,
# yyyy and yy (two-digit years are 1970-2029: 70-99 -> 19yy, 00-29 -> 20yy).
DATE_FORMATS = (
    ("{month} {d}, {yyyy}", True),  # september 27, 1994 (long)
    ("{mon} {d}, {yyyy}", True),  # sep 27, 1994 (medium)
    ("{weekday}, {month} {d}, {yyyy}", True),  # tuesday, september 27, 1994 (full)
    ("{m}/{d}/{yy}", False),  # 9/27/94 (short)
    ("{m}/{d}/{yyyy}", False),  # 9/27/1994
    ("{mm}/{dd}/{yy}", False),  # 09/27/94
    ("{d} {mon} {yyyy}", True),  # 27 sep 1994
    ("{dd} {mon} {yyyy}", True),  # 07 sep 1994
    ("{d} {month} {yyyy}", True),  # 27 september 1994
    ("{d} {mon}, {yyyy}", True),  # 27 sep, 1994
    ("{d} {month}, {yyyy}", True),  # 27 september, 1994
    ("{dd}, {mon} {yyyy}", True),  # 27, sep 1994
    ("{d} {mm} {yy}", False),  # 27 09 94
    ("{month} {d} {yyyy}", True),  # september 27 1994
    ("{dd}.{mm}.{yy}", False),  # 27.09.94
    ("{weekday}, {d} {month} {yyyy}", True),  # tuesday, 27 september 1994
)
FIRST_DATE = dt.date(1970, 1, 1)
LAST_DATE = dt.date(2029, 12, 31)


def format_date(date: dt.date, pattern: str) -> str:
    """``date`` written with one of the DATE_FORMATS patterns, in lower case."""
    month = MONTHS[date.month - 1]
    weekday = WEEKDAYS[date.weekday()]
    return pattern.format(
        month=month,
        mon=month[:3],
        weekday=weekday,
        d=date.day,
        dd=f"{date.day:02d}",
        m=date.month,
        mm=f"{date.month:02d}",
        yyyy=date.year,
        yy=f"{date.year % 100:02d}",
    )


def dates(n: int = DEFAULT_SIZE, seed: int | None = 0) -> list[str]:
    """``n`` distinct date questions as lines ``"september 27, 1994           _1994-09-27"``.

    Dates are uniform over 1970-01-01..2029-12-31, each written in a random one of
    DATE_FORMATS; formats with words come in lower, Title or UPPER case, as in the
    book's file. Questions are left-justified to 29 characters, answers are
    ``_`` + the ISO date (11 characters). Duplicate questions are drawn again.
    """
    owner = "sequence.dates"
    n = check.positive_int(owner, "n", n)
    days = (LAST_DATE - FIRST_DATE).days + 1
    worded = sum(1 for _, has_words in DATE_FORMATS if has_words)
    possible = days * (3 * worded + len(DATE_FORMATS) - worded)
    if n > possible // 2:
        raise check.fail_value(owner, "n", f"at most {possible // 2:,}", f"{n:,}")
    rng = np.random.default_rng(seed)
    q_width, _ = DATE_WIDTHS
    lines: dict[str, str] = {}  # question -> line, in order of first draw
    while len(lines) < n:
        size = n - len(lines) + 16
        offsets = rng.integers(0, days, size).tolist()
        formats = rng.integers(0, len(DATE_FORMATS), size).tolist()
        cases = rng.integers(0, 3, size).tolist()
        for offset, which, case in zip(offsets, formats, cases, strict=True):
            date = FIRST_DATE + dt.timedelta(days=offset)
            pattern, has_words = DATE_FORMATS[which]
            question = format_date(date, pattern)
            if has_words:
                question = (str.lower, str.title, str.upper)[case](question)
            if question not in lines and len(lines) < n:
                lines[question] = question.ljust(q_width) + "_" + date.isoformat()
    return list(lines.values())


# --- reading and encoding -------------------------------------------------------------------


def read_lines(path: str | Path) -> list[str]:
    """The lines of a book-style file (``question_answer`` per line), newlines removed."""
    with Path(path).open(encoding="utf-8") as file:
        return [line.rstrip("\r\n") for line in file if line.rstrip("\r\n")]


def split_lines(lines: Sequence[str], source: str = "lines") -> tuple[list[str], list[str]]:
    """Questions and answers (the answer keeps its leading ``_``), as the book's load_data."""
    owner = "sequence.load"
    questions, answers = [], []
    for number, line in enumerate(lines, start=1):
        idx = line.find("_")
        if idx < 0:
            raise check.fail_value(
                owner, source, "lines of the form question_answer", f"line {number}: {line!r}"
            )
        questions.append(line[:idx])
        answers.append(line[idx:])
    for name, texts in (("questions", questions), ("answers", answers)):
        widths = {len(text) for text in texts}
        if len(widths) > 1:
            first = next(i for i, text in enumerate(texts) if len(text) != len(texts[0]))
            raise check.fail_value(
                owner,
                source,
                f"{name} padded to one width, as in the book's files",
                f"{len(texts[0])} characters on line 1 and {len(texts[first])} on line {first + 1}",
            )
    return questions, answers


def build_vocab(texts: Iterable[str]) -> tuple[dict[str, int], dict[int, str]]:
    """char_to_id and id_to_char, ids in order of first appearance (the book's _update_vocab)."""
    char_to_id: dict[str, int] = {}
    for text in texts:
        for char in text:
            if char not in char_to_id:
                char_to_id[char] = len(char_to_id)
    return char_to_id, {i: c for c, i in char_to_id.items()}


def to_text(ids: Iterable[Any], id_to_char: dict[int, str]) -> str:
    """The characters of a sequence of ids (e.g. a row of x or the output of ``generate``)."""
    return "".join(id_to_char[int(i)] for i in ids)


@dataclass(frozen=True)
class SequenceData:
    """Train and test arrays of character ids, and the vocabulary they use."""

    x_train: IdArray
    t_train: IdArray
    x_test: IdArray
    t_test: IdArray
    char_to_id: dict[str, int]
    id_to_char: dict[int, str]

    @property
    def vocab_size(self) -> int:
        return len(self.char_to_id)

    def text(self, ids: Iterable[Any]) -> str:
        return to_text(ids, self.id_to_char)


GENERATORS = {"addition.txt": addition, "date.txt": dates}


def load(
    file_name: str = "addition.txt",
    seed: int | None = 1984,
    *,
    path: str | Path | None = None,
    n: int = DEFAULT_SIZE,
    data_seed: int | None = 0,
    reverse: bool = False,
) -> SequenceData:
    """Questions x and answers t as int arrays, split 90/10 after a seeded shuffle.

    Without ``path``, ``file_name`` names the book's file whose data are generated
    here: ``"addition.txt"`` (:func:`addition`) or ``"date.txt"`` (:func:`dates`),
    ``n`` problems drawn with ``data_seed``. With ``path`` (a file, or a directory
    holding ``file_name``), the lines are read from it. The vocabulary numbers the
    characters in order of first appearance, line by line, question then answer,
    as the book. ``seed`` shuffles before the split (the last tenth is the test set);
    ``reverse`` reverses each question (``x[:, ::-1]``, section 7.3.1).
    """
    owner = "sequence.load"
    if path is not None:
        source = Path(path)
        if source.is_dir():
            source = source / file_name
        if not source.is_file():
            raise check.fail_value(
                owner, "path", "an existing file or a directory holding file_name", str(source)
            )
        lines = read_lines(source)
        if not lines:
            raise check.fail_value(owner, "path", "a file with at least one line", f"an empty {source}")
    elif file_name in GENERATORS:
        lines = GENERATORS[file_name](n, data_seed)
    else:
        raise check.fail_value(
            owner,
            "file_name",
            f"one of {sorted(GENERATORS)} to generate (or pass path= to read a file)",
            repr(file_name),
        )
    questions, answers = split_lines(lines, "path" if path is not None else "file_name")
    char_to_id, id_to_char = build_vocab(
        text for pair in zip(questions, answers, strict=True) for text in pair
    )
    x = _encode(questions, char_to_id)
    t = _encode(answers, char_to_id)

    # The book shuffles with np.random.seed(seed); a local Generator leaves NumPy's
    # global state alone (so the order differs from the book's for the same seed).
    order = np.random.default_rng(seed).permutation(len(x))
    x, t = x[order], t[order]
    if reverse:
        x = np.ascontiguousarray(x[:, ::-1])
    split_at = len(x) - len(x) // 10
    return SequenceData(x[:split_at], t[:split_at], x[split_at:], t[split_at:], char_to_id, id_to_char)


def _encode(texts: Sequence[str], char_to_id: dict[str, int]) -> IdArray:
    width = len(texts[0])
    flat = np.fromiter(
        (char_to_id[c] for text in texts for c in text), dtype=np.intp, count=len(texts) * width
    )
    return flat.reshape(len(texts), width)


_last_vocab: tuple[dict[str, int], dict[int, str]] | None = None


def load_data(
    file_name: str = "addition.txt",
    seed: int | None = 1984,
    *,
    path: str | Path | None = None,
    n: int = DEFAULT_SIZE,
    data_seed: int | None = 0,
    reverse: bool = False,
) -> tuple[tuple[IdArray, IdArray], tuple[IdArray, IdArray]]:
    """The book's ``(x_train, t_train), (x_test, t_test)``; see :func:`load` for the arguments.

    The vocabulary is kept for :func:`get_vocab`, as the book's module does.
    """
    global _last_vocab
    data = load(file_name, seed, path=path, n=n, data_seed=data_seed, reverse=reverse)
    _last_vocab = (data.char_to_id, data.id_to_char)
    return (data.x_train, data.t_train), (data.x_test, data.t_test)


def get_vocab() -> tuple[dict[str, int], dict[int, str]]:
    """``(char_to_id, id_to_char)`` of the last :func:`load_data` (copies)."""
    if _last_vocab is None:
        raise RuntimeError("sequence.get_vocab: call load_data first")
    char_to_id, id_to_char = _last_vocab
    return dict(char_to_id), dict(id_to_char)
