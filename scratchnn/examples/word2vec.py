"""Chapter 4's training run: CBOW with negative sampling, trained with Adam.

    python -m scratchnn.examples.word2vec [--epochs 5] [--window 5] [--hidden-size 50]
    python -m scratchnn.examples.word2vec --ptb DIR [--epochs 10] [--hidden-size 100]

By default the corpus is generated (:mod:`scratchnn.datasets.synthetic`): synonyms and
analogies are planted in it, so the word vectors can be scored. Prints the loss as it
goes, the scores after each epoch and the nearest words of a few queries; the last line
gives synonym recall@5, analogy accuracy and the wall time. Exits with status 1 when the
recall is below ``--min-recall`` (0.9).

With ``--ptb DIR`` it trains on the Penn Treebank files in DIR (``ptb.train.txt``; see
:mod:`scratchnn.datasets.ptb`) as the book's ``ch04/train.py`` does, and prints the nearest
words of the book's queries (you, year, car, toyota); nothing is planted there to score, so
the last line gives the final loss and the wall time.

``--save PATH`` writes the word vectors and the vocabulary to an ``.npz`` file
(``word_vecs``, and ``words`` in id order; no pickle).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scratchnn.datasets import ptb, synthetic
from scratchnn.models import CBOW
from scratchnn.optimizers import Adam
from scratchnn.text import analogy, create_contexts_target, most_similar
from scratchnn.trainer import Trainer

SYNTHETIC_QUERIES = ("fast", "drives", "king", "car")
PTB_QUERIES = ("you", "year", "car", "toyota")  # section 4.3.2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scratchnn.examples.word2vec",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ptb", type=Path, default=None, metavar="DIR", help="train on the PTB files in DIR")
    parser.add_argument("--epochs", type=int, default=None, help="default: 5 (generated corpus), 10 (PTB)")
    parser.add_argument("--hidden-size", type=int, default=None, help="default: 50 (generated), 100 (PTB)")
    parser.add_argument("--window", type=int, default=5, help="context words on each side (default 5)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.001, help="Adam's learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sentences", type=int, default=20000, help="size of the generated corpus")
    parser.add_argument("--eval-interval", type=int, default=500, help="iterations between progress lines")
    parser.add_argument("--min-recall", type=float, default=0.9, help="exit 1 below this synonym recall@5")
    parser.add_argument("--save", type=Path, default=None, metavar="PATH.npz", help="save the word vectors")
    return parser


def train(
    corpus: np.ndarray[Any, Any], vocab_size: int, args: argparse.Namespace, epochs: int, hidden: int
) -> tuple[CBOW, Trainer, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The model (float32, as the book's) and its trainer, before any epoch."""
    contexts, target = create_contexts_target(corpus, args.window)
    model = CBOW(vocab_size, hidden, args.window, corpus, rng=args.seed, dtype=np.float32)
    trainer = Trainer(model, Adam(lr=args.lr), rng=args.seed, log=sys.stdout)
    return model, trainer, contexts, target


def save_vectors(path: Path, word_vecs: np.ndarray[Any, Any], id_to_word: dict[int, str]) -> None:
    words = np.array([id_to_word[i] for i in range(len(id_to_word))])  # a unicode array, no pickle
    with path.open("wb") as file:
        np.savez(file, word_vecs=word_vecs, words=words)
    print(f"word vectors saved to {path}")


def show_neighbours(
    queries: Sequence[str], word_to_id: dict[str, int], id_to_word: dict[int, str], vecs: Any
) -> None:
    for query in queries:
        if query in word_to_id:
            most_similar(query, word_to_id, id_to_word, vecs, top=5)
        else:
            print(f"\n[query] {query} is not in the vocabulary")


def run_synthetic(args: argparse.Namespace, start: float) -> int:
    epochs = args.epochs or 5
    hidden = args.hidden_size or 50
    planted = synthetic.generate(args.sentences, seed=args.seed)
    vocab_size = len(planted.word_to_id)
    print(
        f"generated corpus: {planted.corpus.size:,} words, vocabulary {vocab_size}, "
        f"{len(planted.synonym_groups)} synonym groups, {len(planted.analogies)} analogy questions"
    )
    model, trainer, contexts, target = train(planted.corpus, vocab_size, args, epochs, hidden)
    recall = accuracy = 0.0
    for epoch in range(epochs):
        trainer.fit(
            contexts, target, max_epoch=1, batch_size=args.batch_size, eval_interval=args.eval_interval
        )
        recall = synonym_recall(model, planted)
        accuracy = synthetic.analogy_accuracy(model.word_vecs, planted)
        print(
            f"epoch {epoch + 1}: synonym recall@5 {recall:.3f}, analogy accuracy {accuracy:.3f}", flush=True
        )

    show_neighbours(SYNTHETIC_QUERIES, planted.word_to_id, planted.id_to_word, model.word_vecs)
    analogy(
        "king", "queen", "boy", planted.word_to_id, planted.id_to_word, normalized(model.word_vecs), top=3
    )
    analogy(
        "car", "cars", "house", planted.word_to_id, planted.id_to_word, normalized(model.word_vecs), top=3
    )
    if args.save is not None:
        save_vectors(args.save, model.word_vecs, planted.id_to_word)
    seconds = time.perf_counter() - start
    print(f"final: synonym recall@5 {recall:.2f}, analogy accuracy {accuracy:.2f}, {seconds:.1f} s")
    if recall < args.min_recall:
        print(f"synonym recall@5 below {args.min_recall}", file=sys.stderr)
        return 1
    return 0


def synonym_recall(model: CBOW, planted: synthetic.PlantedCorpus) -> float:
    return synthetic.synonym_recall_at_k(model.word_vecs, planted, k=5)


def normalized(vecs: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows of norm 1: analogy() then scores by cosine similarity."""
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.where(norms > 0, norms, 1)


def run_ptb(args: argparse.Namespace, start: float) -> int:
    epochs = args.epochs or 10
    hidden = args.hidden_size or 100
    corpus, word_to_id, id_to_word = ptb.load_data("train", root=args.ptb)
    print(f"PTB: {corpus.size:,} words, vocabulary {len(word_to_id):,}")
    model, trainer, contexts, target = train(corpus, len(word_to_id), args, epochs, hidden)
    trainer.fit(
        contexts, target, max_epoch=epochs, batch_size=args.batch_size, eval_interval=args.eval_interval
    )
    show_neighbours(PTB_QUERIES, word_to_id, id_to_word, model.word_vecs)
    if args.save is not None:
        save_vectors(args.save, model.word_vecs, id_to_word)
    # the mean loss of the last progress interval (or of one more pass over a batch, if none was printed)
    loss = trainer.loss_list[-1] if trainer.loss_list else float(model.forward(contexts[:100], target[:100]))
    print(f"final: loss {loss:.3f} after {epochs} epochs, {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    if args.ptb is not None:
        return run_ptb(args, start)
    return run_synthetic(args, start)


if __name__ == "__main__":
    sys.exit(main())
