"""The Penn Treebank text as the book uses it (chapters 4 to 7), read from local files.

The files are the standard ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``
(Mikolov's preprocessed PTB: one sentence per line, 10,000 words, rare words as
``<unk>``), found in the directory given as ``root`` or in the environment variable
``SCRATCHNN_PTB_DIR``. Nothing is downloaded: the book's ``dataset/ptb.py`` fetches
them from the web, this loader only reads what is there.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check

__all__ = ["ENV_VAR", "FILES", "load_data"]

ENV_VAR = "SCRATCHNN_PTB_DIR"
FILES = {"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"}
_ALIASES = {"val": "valid"}  # the book accepts 'val' too


def load_data(
    split: str = "train", root: str | os.PathLike[str] | None = None
) -> tuple[npt.NDArray[np.int64], dict[str, int], dict[int, str]]:
    """``(corpus, word_to_id, id_to_word)`` of one split, as the book's ``ptb.load_data``.

    Each line's newline becomes the word ``<eos>``; words are separated by whitespace.
    The vocabulary is built from ``ptb.train.txt`` (ids in order of first occurrence) and
    shared by the three splits, so a model trained on ``train`` reads ``valid`` and
    ``test`` with the same ids; a word of those splits missing from the training text
    raises ``ValueError``. Missing files raise ``FileNotFoundError`` saying how to
    provide them.
    """
    owner = "ptb.load_data"
    if not isinstance(split, str) or _ALIASES.get(split, split) not in FILES:
        raise check.fail_value(owner, "split", "one of 'train', 'valid' (or 'val'), 'test'", repr(split))
    split = _ALIASES.get(split, split)
    directory = _directory(root)
    needed = [FILES[name] for name in (["train"] if split == "train" else ["train", split])]
    missing = needed if directory is None else [name for name in needed if not (directory / name).is_file()]
    if directory is None or missing:
        where = f"in {directory}" if directory is not None else "(no directory given)"
        raise FileNotFoundError(
            f"{owner}: {' and '.join(missing)} not found {where}. Pass the directory holding the PTB "
            f"files as root=..., or set the environment variable {ENV_VAR} to it. Nothing is "
            "downloaded: the files come with Mikolov's simple-examples archive and the book's "
            "repository (dataset/)."
        )
    train_words = _words(directory / FILES["train"])
    word_to_id: dict[str, int] = {}
    for word in train_words:
        word_to_id.setdefault(word, len(word_to_id))
    id_to_word = {i: word for word, i in word_to_id.items()}
    words = train_words if split == "train" else _words(directory / FILES[split])
    try:
        corpus = np.fromiter((word_to_id[w] for w in words), dtype=np.int64, count=len(words))
    except KeyError as error:
        raise ValueError(
            f"{owner}: the word {error.args[0]!r} of {FILES[split]} does not occur in {FILES['train']}, "
            "whose words make the vocabulary"
        ) from None
    return corpus, word_to_id, id_to_word


def _directory(root: str | os.PathLike[str] | None) -> Path | None:
    if root is not None:
        return Path(root)
    from_env = os.environ.get(ENV_VAR)
    return Path(from_env) if from_env else None


def _words(path: Path) -> list[str]:
    """The words of a PTB file, with ``<eos>`` at the end of every line."""
    return path.read_text(encoding="utf-8").replace("\n", " <eos>\n").split()
