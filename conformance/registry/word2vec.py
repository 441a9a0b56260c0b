"""Rows of the word2vec models of ``scratchnn.models`` (chapters 3 and 4):
SimpleCBOW, SimpleSkipGram, CBOW, SkipGram.

Each row checks the whole model: its loss and the gradient of every distinct
weight array against PyTorch autograd. The book's models list a shared weight
once per layer that uses it (CBOW's W_in once per context column, W_out once
per score of each NegativeSamplingLoss); the harness groups ``params`` by
memory and sums the gradients of a shared array, so both that and scratchnn's
one entry per array are checked alike. The negative-sampling models get their
negatives from the hidden table the reference uses (``SharedNegatives``).
"""

from __future__ import annotations

from conformance.conventions import Arg, Constructor, Convention, SharedNegatives
from conformance.dims import Batch, Choice, Computed, DimsSpec, Size
from conformance.kinds import ClassLabels, Indices, NegativeTable
from conformance.malformations import dims_changed, input_resized
from conformance.references import word2vec as ref
from conformance.registry.negative_sampling import CORPUS, batch_mismatch, corpus_beyond_table, corpus_length
from conformance.spec import Row, Tensor

GROUP = "scratchnn.models"

SAMPLE_SIZE = 5
"""The book's CBOW and SkipGram build NegativeSamplingLoss(W_out, corpus, power=0.75, sample_size=5)."""

ONE_HOT_MODEL = Convention(
    model=True,
    constructor=Constructor(args=(Arg("vocab_size", "V"), Arg("hidden_size", "H")), draws_own_weights=True),
)

SAMPLING_MODEL = Convention(
    model=True,
    constructor=Constructor(
        args=(Arg("vocab_size", "V"), Arg("hidden_size", "H"), Arg("window_size", "window"), Arg("corpus")),
        draws_own_weights=True,
    ),
    randomness=(SharedNegatives("negatives"),),
)

ONE_HOT_DIMS: DimsSpec = {"N": Batch(), "V": Size("vocab"), "H": Size("hidden")}

SAMPLING_DIMS: DimsSpec = {
    "N": Batch(),
    "V": Size("vocab", low=2),  # every word needs another word to be its negative
    "H": Size("hidden"),
    "window": Choice((1, 2, 3)),
    "C": Computed(lambda dims: 2 * dims["window"]),
    "L": Computed(corpus_length),
}

SAMPLING_INPUTS = (
    Tensor("contexts", ("N", "C"), Indices("V")),
    Tensor("target", ("N",), Indices("V")),
    CORPUS,
    Tensor("negatives", ("V", SAMPLE_SIZE), NegativeTable("V"), route="hidden"),
)

SAMPLING_MALFORMED = (
    input_resized("contexts", "window_width"),
    batch_mismatch("target"),
    corpus_beyond_table(),
    dims_changed("window_size", "not_positive", window=0),
    dims_changed("hidden_size", "not_positive", H=0),
)

MATMUL_INPUT = (
    "{} the input of MatMul (h = x W_in), which is defined for any real rows (and whose gradients"
    " the rows weight); the book's one-hot encoding is a convention, not a constraint"
)

ROWS: tuple[Row, ...] = (
    Row(
        name="SimpleCBOW",
        group=GROUP,
        dims=ONE_HOT_DIMS,
        inputs=(
            Tensor("contexts", ("N", 2), ClassLabels("V", formats=("one_hot",))),
            Tensor("target", ("N",), ClassLabels("V")),
        ),
        reference=ref.simple_cbow,
        params=(Tensor("W_in", ("V", "H")), Tensor("W_out", ("H", "V"))),
        convention=ONE_HOT_MODEL,
        malformed=(input_resized("contexts", "vocab_size"), dims_changed("hidden_size", "not_positive", H=0)),
        not_applicable={
            "bad_input:contexts:one_hot_not_distribution": MATMUL_INPUT.format("the one-hot contexts are"),
        },
    ),
    Row(
        name="SimpleSkipGram",
        group=GROUP,
        dims=ONE_HOT_DIMS,
        inputs=(
            Tensor("contexts", ("N", 2), ClassLabels("V")),
            Tensor("target", ("N",), ClassLabels("V", formats=("one_hot",))),
        ),
        reference=ref.simple_skip_gram,
        params=(Tensor("W_in", ("V", "H")), Tensor("W_out", ("H", "V"))),
        convention=ONE_HOT_MODEL,
        malformed=(input_resized("target", "vocab_size"), dims_changed("hidden_size", "not_positive", H=0)),
        not_applicable={
            "bad_input:target:one_hot_not_distribution": MATMUL_INPUT.format("the one-hot target is"),
        },
    ),
    Row(
        name="CBOW",
        group=GROUP,
        dims=SAMPLING_DIMS,
        inputs=SAMPLING_INPUTS,
        reference=ref.cbow,
        params=(Tensor("W_in", ("V", "H")), Tensor("W_out", ("V", "H"))),
        convention=SAMPLING_MODEL,
        malformed=SAMPLING_MALFORMED,
    ),
    Row(
        name="SkipGram",
        group=GROUP,
        dims=SAMPLING_DIMS,
        inputs=SAMPLING_INPUTS,
        reference=ref.skip_gram,
        params=(Tensor("W_in", ("V", "H")), Tensor("W_out", ("V", "H"))),
        convention=SAMPLING_MODEL,
        malformed=SAMPLING_MALFORMED,
    ),
)
