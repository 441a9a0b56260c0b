"""Rows of the language models of ``scratchnn.models`` (chapters 5 and 6): SimpleRnnlm, Rnnlm, BetterRnnlm.

Each model is built with the book's sizes (``vocab_size, wordvec_size, hidden_size``), draws
its own weights (the harness writes the drawn ones into its ``params``), and is called as a
loss: ``forward(xs, ts)`` with word ids xs (N, T) and next-word labels ts (N, T), some of
them the ignore_label -1 as TimeSoftmaxWithLoss allows, then ``backward()``; the parameter
gradients are checked. ``reset_state()`` is called before every forward, so each call
starts from zero states: the carried state is the time layers' business (their rows check
it), and a model's truncated BPTT is exactly theirs.
"""

from __future__ import annotations

from conformance.conventions import Arg, Constructor, Convention, Mode
from conformance.dims import Batch, Computed, DimsSpec, Size
from conformance.kinds import ClassLabels, Indices
from conformance.malformations import Malformation, dims_changed
from conformance.references import rnnlm as ref
from conformance.registry.time_layers import IGNORE_LABEL_IS_VALID
from conformance.spec import Example, Row, Tensor

GROUP = "scratchnn.models"

SIZES = (Arg("vocab_size", "V"), Arg("wordvec_size", "D"), Arg("hidden_size", "H"))

MODEL = Convention(model=True, constructor=Constructor(args=SIZES, draws_own_weights=True), reset_state=True)

DIMS: DimsSpec = {
    "N": Batch(),
    "T": Size("time"),
    "V": Size("vocab", low=2),
    "D": Size(),
    "H": Size("hidden"),
}
"""D (the word vectors) and H (the hidden state) drawn independently."""

TIED: DimsSpec = {
    "N": Batch(),
    "T": Size("time"),
    "V": Size("vocab", low=2),
    "H": Size("hidden"),
    "D": Computed(lambda dims: dims["H"]),
}
"""BetterRnnlm ties the output weights to the embedding (embed_W.T), so D = H."""

INPUTS = (
    Tensor("xs", ("N", "T"), Indices("V")),
    Tensor("ts", ("N", "T"), ClassLabels("V", formats=("indices",), ignore_label=-1)),
)

NOT_APPLICABLE = {
    "bad_input:ts:negative_index": IGNORE_LABEL_IS_VALID,
}


def _untied(example: Example) -> Example:
    return example.with_dims(D=example.dims["H"] + 1)


UNTIED_SIZES = Malformation("wordvec_size", "not_hidden_size", _untied, stage="construct")
"""wordvec_size != hidden_size: the tied output weight embed_W.T would not fit the LSTM's output."""

HIDDEN_ZERO = dims_changed("hidden_size", "not_positive", H=0)

ROWS: tuple[Row, ...] = (
    # section 5.5.1: TimeEmbedding -> TimeRNN -> TimeAffine -> TimeSoftmaxWithLoss
    Row(
        name="SimpleRnnlm",
        group=GROUP,
        dims=DIMS,
        inputs=INPUTS,
        reference=ref.simple_rnnlm,
        params=(
            Tensor("embed_W", ("V", "D")),
            Tensor("rnn_Wx", ("D", "H")),
            Tensor("rnn_Wh", ("H", "H")),
            Tensor("rnn_b", ("H",)),
            Tensor("affine_W", ("H", "V")),
            Tensor("affine_b", ("V",)),
        ),
        convention=MODEL,
        malformed=(HIDDEN_ZERO,),
        not_applicable=NOT_APPLICABLE,
    ),
    # section 6.4: the same with a TimeLSTM
    Row(
        name="Rnnlm",
        group=GROUP,
        dims=DIMS,
        inputs=INPUTS,
        reference=ref.rnnlm,
        params=(
            Tensor("embed_W", ("V", "D")),
            Tensor("lstm_Wx", lambda d: (d["D"], 4 * d["H"])),
            Tensor("lstm_Wh", lambda d: (d["H"], 4 * d["H"])),
            Tensor("lstm_b", lambda d: (4 * d["H"],)),
            Tensor("affine_W", ("H", "V")),
            Tensor("affine_b", ("V",)),
        ),
        convention=MODEL,
        malformed=(HIDDEN_ZERO,),
        not_applicable=NOT_APPLICABLE,
    ),
    # section 6.5: two LSTM layers, dropout, the output weights tied to the embedding
    Row(
        name="BetterRnnlm",
        group=GROUP,
        dims=TIED,
        inputs=INPUTS,
        reference=ref.better_rnnlm,
        # params holds embed_W first and embed_W.T (a view) at the TimeAffine; the harness
        # merges the two occurrences and checks grads[0] + grads[i].T against the reference.
        params=(
            Tensor("embed_W", ("V", "D")),
            Tensor("lstm_Wx1", lambda d: (d["D"], 4 * d["H"])),
            Tensor("lstm_Wh1", lambda d: (d["H"], 4 * d["H"])),
            Tensor("lstm_b1", lambda d: (4 * d["H"],)),
            Tensor("lstm_Wx2", lambda d: (d["H"], 4 * d["H"])),
            Tensor("lstm_Wh2", lambda d: (d["H"], 4 * d["H"])),
            Tensor("lstm_b2", lambda d: (4 * d["H"],)),
            Tensor("affine_b", ("V",)),
        ),
        # Test mode only: the three TimeDropout layers draw their masks from the model's own
        # generator, and a model exposes no mask the harness could read back for the reference.
        convention=Convention(
            model=True,
            constructor=Constructor(args=SIZES, draws_own_weights=True),
            reset_state=True,
            mode=Mode(keyword="train_flg", values=("test",)),
        ),
        malformed=(HIDDEN_ZERO, UNTIED_SIZES),
        not_applicable={
            **NOT_APPLICABLE,
            "sampling": "the model is checked with train_flg=False only: its three TimeDropout layers"
            " draw their masks inside it, where the reference cannot see them (TimeDropout's own row"
            " checks the masks, read back, and the keep rate)",
        },
    ),
)
