"""Rows of the sequence-to-sequence models of ``scratchnn.models`` (chapters 7 and 8): the
encoders and decoders on their own, and the three whole models.

Every class is built as the book builds it, ``Cls(vocab_size, wordvec_size, hidden_size)``,
and draws its own weights; the harness writes the drawn ones into its ``params``. A model's
``params`` is its encoder's followed by its decoder's, so the model rows check the loss and
the gradient of every weight of both, the encoder's included: it reaches the encoder only
through the decoder's starting state (and, with attention, through every context vector).

A model's ``ts`` holds the decoder's input and its target (``ts[:, :-1]`` and ``ts[:, 1:]``):
it is drawn with ``Tdec + 1`` steps. Greedy decoding (``generate``) is not checked here.
Vocabularies, time steps and state sizes are capped by their own classes (``vocab``,
``time``, ``hidden``), so a model row stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.conventions import Arg, Constructor, Convention
from conformance.dims import Batch, Computed, DimsSpec, Size
from conformance.kinds import Indices
from conformance.malformations import dims_changed, input_resized
from conformance.references import seq2seq as ref
from conformance.registry.attention import batch_grown
from conformance.spec import Row, Tensor

GROUP = "scratchnn.models"

BUILT_AS_THE_BOOK = Constructor(
    args=(Arg("vocab_size", "V"), Arg("wordvec_size", "D"), Arg("hidden_size", "H")),
    draws_own_weights=True,
)

SIZES: DimsSpec = {
    "V": Size("vocab"),
    "D": Size(),
    "H": Size("hidden"),
    "G": Computed(lambda d: 4 * d["H"]),  # the LSTM's four gate blocks
    "HD": Computed(lambda d: d["H"] + d["D"]),  # a peeky LSTM's input: h and the embedding
    "HH": Computed(lambda d: 2 * d["H"]),  # an Affine over two concatenated states
}


def _dims(**steps: Any) -> DimsSpec:
    return {"N": Batch(), **steps, **SIZES}


ENCODER_DIMS = _dims(T=Size("time"))
DECODER_DIMS = _dims(T=Size("time"))
ATTENTION_DECODER_DIMS = _dims(T=Size("time"), Tenc=Size("time"))
MODEL_DIMS = _dims(T=Size("time"), Tdec=Size("time"), T1=Computed(lambda d: d["Tdec"] + 1))


def _lstm_params(prefix: str, inputs: str) -> tuple[Tensor, ...]:
    """TimeEmbedding W, then TimeLSTM Wx (inputs, 4H), Wh (H, 4H), b (4H,), in ``params`` order."""
    return (
        Tensor(f"{prefix}embed_W", ("V", "D")),
        Tensor(f"{prefix}lstm_Wx", (inputs, "G")),
        Tensor(f"{prefix}lstm_Wh", ("H", "G")),
        Tensor(f"{prefix}lstm_b", ("G",)),
    )


def _decoder_params(prefix: str, lstm_inputs: str, affine_inputs: str) -> tuple[Tensor, ...]:
    """The LSTM's parameters, then TimeAffine W (affine_inputs, V) and b (V,)."""
    return (
        *_lstm_params(prefix, lstm_inputs),
        Tensor(f"{prefix}affine_W", (affine_inputs, "V")),
        Tensor(f"{prefix}affine_b", ("V",)),
    )


ENCODER_PARAMS = _lstm_params("", "D")
DECODER_PARAMS = _decoder_params("", "D", "H")
PEEKY_DECODER_PARAMS = _decoder_params("", "HD", "HH")
ATTENTION_DECODER_PARAMS = _decoder_params("", "D", "HH")

XS = Tensor("xs", ("N", "T"), Indices("V"))
TS = Tensor("ts", ("N", "T1"), Indices("V"))

HIDDEN_SIZE_ZERO = dims_changed("hidden_size", "not_positive", H=0)


def _component(douts: str) -> Convention:
    return Convention(constructor=BUILT_AS_THE_BOOK, douts=(douts,))


MODEL = Convention(model=True, constructor=BUILT_AS_THE_BOOK)


def _model(name: str, reference: Callable[..., Any], decoder: tuple[Tensor, ...]) -> Row:
    """A whole model: forward(xs, ts) -> loss, backward(dout=1); every weight of its encoder
    (prefixed ``enc_``) and of its decoder (``dec_``) is checked."""
    return Row(
        name=name,
        group=GROUP,
        dims=MODEL_DIMS,
        inputs=(XS, TS),
        reference=reference,
        params=(*_lstm_params("enc_", "D"), *(Tensor(f"dec_{p.name}", p.shape) for p in decoder)),
        convention=MODEL,
        malformed=(batch_grown("ts"), HIDDEN_SIZE_ZERO),
    )


ROWS: tuple[Row, ...] = (
    # chapter 7, section 7.2: the encoder hands its last hidden state to the decoder
    Row(
        name="Encoder",
        group=GROUP,
        dims=ENCODER_DIMS,
        inputs=(XS,),
        reference=ref.encoder,
        params=ENCODER_PARAMS,
        convention=_component("dh"),
        malformed=(HIDDEN_SIZE_ZERO,),
    ),
    Row(
        name="Decoder",
        group=GROUP,
        dims=DECODER_DIMS,
        inputs=(XS, Tensor("h", ("N", "H"))),
        reference=ref.decoder,
        params=DECODER_PARAMS,
        convention=_component("dscore"),
        malformed=(input_resized("h"), batch_grown("h")),
    ),
    _model("Seq2seq", ref.seq2seq, DECODER_PARAMS),
    # section 7.3.2: the decoder sees h at every step
    Row(
        name="PeekyDecoder",
        group=GROUP,
        dims=DECODER_DIMS,
        inputs=(XS, Tensor("h", ("N", "H"))),
        reference=ref.peeky_decoder,
        params=PEEKY_DECODER_PARAMS,
        convention=_component("dscore"),
        malformed=(input_resized("h"), batch_grown("h")),
    ),
    _model("PeekySeq2seq", ref.peeky_seq2seq, PEEKY_DECODER_PARAMS),
    # chapter 8, section 8.2: every encoder state goes to the decoder's attention
    Row(
        name="AttentionEncoder",
        group=GROUP,
        dims=ENCODER_DIMS,
        inputs=(XS,),
        reference=ref.attention_encoder,
        params=ENCODER_PARAMS,
        convention=_component("dhs"),
        malformed=(HIDDEN_SIZE_ZERO,),
    ),
    Row(
        name="AttentionDecoder",
        group=GROUP,
        dims=ATTENTION_DECODER_DIMS,
        inputs=(XS, Tensor("enc_hs", ("N", "Tenc", "H"))),
        reference=ref.attention_decoder,
        params=ATTENTION_DECODER_PARAMS,
        convention=_component("dscore"),
        malformed=(input_resized("enc_hs"), batch_grown("enc_hs")),
    ),
    _model("AttentionSeq2seq", ref.attention_seq2seq, ATTENTION_DECODER_PARAMS),
)
