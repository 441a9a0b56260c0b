"""Rows of ``scratchnn.negative_sampling`` (chapter 4, section 4.2): EmbeddingDot, UnigramSampler,
NegativeSamplingLoss; and the corpus kind these rows and the word2vec models build their samplers from.

A negative sampler draws at random. Its own row checks its draws against the
distribution they must follow (the ``sampling`` check); every layer and model
that holds one gets, on each of its samplers, a ``get_negative_sample`` that
returns the rows of a hidden table picked by the targets, so the PyTorch
reference sees the very negatives the layer used (``SharedNegatives``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from conformance.cases import Case
from conformance.conventions import Arg, Constructor, Convention, SeededDraws, SharedNegatives
from conformance.dims import Batch, Choice, Computed, Dims, Integers, Size
from conformance.kinds import Indices, Kind, NegativeTable
from conformance.malformations import Malformation, dims_changed, input_resized
from conformance.numerics import Array
from conformance.references import negative_sampling as ref
from conformance.sampling import UnigramDistribution
from conformance.spec import Row, Tensor

if TYPE_CHECKING:
    from conformance.spec import Example

GROUP = "scratchnn.negative_sampling"

TOP_COUNT = 51
"""The largest word count of a drawn corpus (the smallest is 1)."""


def corpus_counts(vocab: int) -> Array:
    """The word counts of a drawn corpus over ``vocab`` ids before they are shuffled among the
    ids: round(51 ** (k / (V - 1))) for k = 0 .. V - 1, a geometric profile from 1 to 51.

    Why so skewed: the sampling check tells count ** 0.75 from count ** 1 (a sampler that
    ignores ``power``) by the frequencies of the words other than the target, and the two laws
    differ only where counts differ. On the stock corpus (200 ids, every count 1 + Binomial(200
    - V, 1/V), nearly equal) the 1e-6 chi-square test caught that sampler in 2 % (V = 3) to
    70 % (V = 12) of the examples. Here neighbouring counts differ by a factor of about
    51 ** (1 / (V - 1)) (the rarest tie after rounding), and it was caught in every one of 298
    random examples in which
    at least two words besides the target occur (power 0.75 and 0.5), as was a sampler with
    0.75 hard-coded whenever 0.5 was asked; with one other word there is nothing to tell apart.
    Real corpora are skewed too (Zipf's law).
    """
    if vocab == 1:
        return np.ones(1, dtype=np.int64)
    k = np.arange(vocab)
    return np.round(float(TOP_COUNT) ** (k / (vocab - 1))).astype(np.int64)


def corpus_length(dims: Dims) -> int:
    return int(corpus_counts(int(dims["V"])).sum())


@dataclass(frozen=True)
class SkewedCorpus(Kind):
    """A corpus of word ids over ``table`` words (constructor data) with widely differing counts
    (:func:`corpus_counts`, shuffled among the ids), in random order.

    The largest id, ``table - 1``, always occurs, so a sampler's vocabulary (corpus.max() + 1,
    as the book computes it) is the table's. In about half the examples with at least three
    words, 1 to V - 2 ids below it never occur (their counts go to the commonest word, so the
    length stays fixed): such a word must never be drawn, and at least two words remain, so
    every target has another word to sample.
    """

    table: str = "V"
    description = "corpus of word ids with skewed counts"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        size = int(dims[self.table])
        counts = corpus_counts(size)[rng.permutation(size)]
        if size >= 3 and rng.random() < 0.5:
            absent = rng.choice(size - 1, size=int(rng.integers(1, size - 1)), replace=False)
            present = np.setdiff1d(np.arange(size), absent)
            commonest = present[np.argmax(counts[present])]
            counts[commonest] += counts[absent].sum()
            counts[absent] = 0
        corpus = rng.permutation(np.repeat(np.arange(size), counts)).astype(np.int64)
        if corpus.shape != shape:
            raise ValueError(f"SkewedCorpus: declared shape {shape}, corpus length {corpus.size}")
        return corpus

    def malformations(self, tensor: Tensor, fixed_rank: bool) -> list[Malformation]:
        name = tensor.name

        def negative_id(example: Example) -> Example:
            corpus = example.value(name).copy()
            corpus[0] = -1
            return example.with_input(name, corpus)

        return [
            Malformation(
                name,
                "float_ids",
                lambda ex: ex.with_input(name, ex.value(name).astype(np.float64)),
                "construct",
            ),
            Malformation(name, "negative_id", negative_id, "construct"),
            Malformation(
                name, "extra_axis", lambda ex: ex.with_input(name, ex.value(name)[np.newaxis]), "construct"
            ),
        ]


CORPUS = Tensor("corpus", ("L",), SkewedCorpus("V"), route="construct")
"""The corpus a sampler is built from; its length L is :func:`corpus_length` of V."""


def corpus_beyond_table(table: str = "V") -> Malformation:
    """A corpus holding the id V, which has no row in the weights (V rows) it is used with."""

    def make(example: Example) -> Example:
        corpus = example.value("corpus").copy()
        corpus[0] = example.dims[table]
        return example.with_input("corpus", corpus)

    return Malformation("corpus", "id_beyond_table", make, stage="construct")


def batch_mismatch(name: str) -> Malformation:
    """One more id in ``name`` than rows in the batch."""
    return Malformation(
        name,
        "batch_mismatch",
        lambda ex: ex.with_input(name, np.concatenate([ex.value(name), ex.value(name)[:1]])),
    )


SAMPLER_NOT_APPLICABLE = {
    **dict.fromkeys(
        ("forward", "float32", "stability"),
        "a sampler's output is a random draw, not a function of its input: its draws are tested"
        " against the distribution they must follow by the sampling check",
    ),
    **dict.fromkeys(
        ("gradient", "finite_difference", "taylor"),
        "a sampler has nothing to differentiate (no params, no backward)",
    ),
    "contract": "the layer protocol (params, grads, backward) does not apply to a sampler; that the"
    " same seed gives the same draws is part of the sampling check",
    "bad_input:dout:extra_axis": "a sampler has no backward",
}

ROWS: tuple[Row, ...] = (
    Row(
        name="EmbeddingDot",
        group=GROUP,
        dims={"N": Batch(), "V": Size("vocab"), "D": Size("hidden")},
        inputs=(Tensor("h", ("N", "D")), Tensor("idx", ("N",), Indices("V"))),
        reference=ref.embedding_dot,
        params=(Tensor("W", ("V", "D")),),
        malformed=(input_resized("h"), batch_mismatch("idx")),
    ),
    Row(
        name="UnigramSampler",
        group=GROUP,
        dims={
            "N": Size(),
            "V": Size("vocab", low=2),
            "L": Computed(corpus_length),
            "K": Integers(1, 5),
            "power": Choice((0.75, 0.5)),
        },
        inputs=(CORPUS, Tensor("target", ("N",), Indices("V"))),
        reference=ref.unigram_distribution,
        convention=Convention(
            constructor=Constructor(args=(Arg("corpus"), Arg("power"), Arg("sample_size", "K"))),
            randomness=(SeededDraws(attribute=None),),
            method="get_negative_sample",
        ),
        malformed=(
            dims_changed("power", "negative", power=-0.75),
            dims_changed("sample_size", "not_positive", K=0),
        ),
        not_applicable=SAMPLER_NOT_APPLICABLE,
        sampling=UnigramDistribution(corpus="corpus", target="target", power="power"),
    ),
    Row(
        name="NegativeSamplingLoss",
        group=GROUP,
        dims={
            "N": Batch(),
            "V": Size("vocab", low=2),
            "D": Size("hidden"),  # h and the rows of W are word vectors (H in the book)
            "L": Computed(corpus_length),
            "K": Integers(1, 5),
            "power": Choice((0.75, 0.5)),
        },
        inputs=(
            Tensor("h", ("N", "D")),
            Tensor("target", ("N",), Indices("V")),
            CORPUS,
            Tensor("negatives", ("V", "K"), NegativeTable("V"), route="hidden"),
        ),
        reference=ref.negative_sampling_loss,
        params=(Tensor("W", ("V", "D")),),
        convention=Convention(
            loss=True,
            constructor=Constructor(args=(Arg("W"), Arg("corpus"), Arg("power"), Arg("sample_size", "K"))),
            randomness=(SharedNegatives("negatives"),),
        ),
        malformed=(
            input_resized("h"),
            batch_mismatch("target"),
            corpus_beyond_table(),
            dims_changed("power", "negative", power=-0.75),
            dims_changed("sample_size", "not_positive", K=0),
        ),
        not_applicable={
            "bad_input:target:extra_axis": "a 2-D target (N, C) is valid (skip-gram's C context"
            " columns, one loss each), so with N = 1 an extra axis makes a valid (1, 1) target; a"
            " target that does not match the batch is refused (target:batch_mismatch)",
        },
    ),
)

__all__ = ["CORPUS", "ROWS", "SkewedCorpus", "batch_mismatch", "corpus_beyond_table", "corpus_counts"]
