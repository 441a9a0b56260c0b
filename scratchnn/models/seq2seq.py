"""The sequence-to-sequence models of chapters 7 and 8 (the book's ``ch07/seq2seq.py``,
``ch07/peeky_seq2seq.py`` and ``ch08/attention_seq2seq.py``).

- ``Seq2seq``: ``Encoder`` (TimeEmbedding - TimeLSTM) hands its last hidden state h to
  ``Decoder`` (TimeEmbedding - TimeLSTM started from h - TimeAffine) (section 7.2).
- ``PeekySeq2seq``: ``Encoder`` and ``PeekyDecoder``, which also feeds h to every step's LSTM
  and Affine (section 7.3.2).
- ``AttentionSeq2seq``: ``AttentionEncoder`` hands all its hidden states to
  ``AttentionDecoder``, whose TimeAttention picks a context per step (section 8.2).

A model's ``forward(xs, ts)`` teaches the decoder with ``ts[:, :-1]`` as input and
``ts[:, 1:]`` as target (``ts[:, 0]`` is the start symbol, ``_`` in the book's data) and
returns the mean cross-entropy; ``backward(dout=1)`` fills ``grads`` in place;
``generate(xs, start_id, sample_size)`` decodes one sequence greedily (argmax at each
step) as the book; ``generate_batch`` does the same for a batch of sequences at once.

Weights follow the book's initialisation, drawn from ``rng`` in the book's order (encoder,
then decoder; embedding, LSTM Wx, LSTM Wh, Affine W): embedding N(0, 1) / 100, every other
weight N(0, 1) / sqrt(fan-in), biases 0. ``dtype`` is the dtype of every weight (the book's
are float32); inputs are integer id arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray
from scratchnn.attention import TimeAttention
from scratchnn.serialization import load_params, save_params
from scratchnn.time_layers import TimeAffine, TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss

__all__ = [
    "AttentionDecoder",
    "AttentionEncoder",
    "AttentionSeq2seq",
    "Decoder",
    "Encoder",
    "PeekyDecoder",
    "PeekySeq2seq",
    "Seq2seq",
]

IdArray = npt.NDArray[np.intp]
Rng = np.random.Generator | int | None
DType = type[np.floating[Any]] | np.dtype[Any]


# --- shared checks and initialisation -------------------------------------------------------


def _generator(rng: Rng) -> np.random.Generator:
    """The caller's Generator itself (its state advances), or a new one from a seed."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _float_dtype(owner: str, dtype: DType) -> np.dtype[Any]:
    resolved = np.dtype(dtype)
    if resolved not in check.SUPPORTED_FLOATS:
        raise check.fail_type(owner, "dtype", "float32 or float64", dtype)
    return resolved


def _sizes(owner: str, vocab_size: int, wordvec_size: int, hidden_size: int) -> tuple[int, int, int]:
    return (
        check.positive_int(owner, "vocab_size", vocab_size),
        check.positive_int(owner, "wordvec_size", wordvec_size),
        check.positive_int(owner, "hidden_size", hidden_size),
    )


def _normal(
    rng: np.random.Generator, shape: tuple[int, int], scale: float, dtype: np.dtype[Any]
) -> FloatArray:
    """N(0, 1) * scale in ``dtype``; drawn in float64 so that both dtypes see the same numbers."""
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _ids(owner: str, name: str, value: object, vocab_size: int, min_steps: int = 1) -> IntArray:
    """Integer ids of shape (N, T) with T >= min_steps, every one in [0, vocab_size)."""
    if not isinstance(value, np.ndarray):
        raise check.fail_type(owner, name, "a numpy.ndarray of integer ids", value)
    if not np.issubdtype(value.dtype, np.integer):
        raise check.fail_type(owner, name, "an array of integer ids", value)
    if value.ndim != 2 or value.shape[1] < min_steps:
        layout = "(N, T)" if min_steps <= 1 else f"(N, T) with T >= {min_steps}"
        raise check.fail_value(owner, name, f"a 2-D array {layout}", f"shape {value.shape}")
    if value.size and (int(value.min()) < 0 or int(value.max()) >= vocab_size):
        raise check.fail_value(
            owner, name, f"ids in [0, {vocab_size})", f"values from {int(value.min())} to {int(value.max())}"
        )
    return value


def _one_sequence(owner: str, xs: object, vocab_size: int) -> IntArray:
    """One input sequence for ``generate``: shape (1, T) as the book, or (T,)."""
    if isinstance(xs, np.ndarray) and xs.ndim == 1:
        xs = xs.reshape(1, -1)
    ids = _ids(owner, "xs", xs, vocab_size)
    if ids.shape[0] != 1:
        raise check.fail_value(
            owner,
            "xs",
            "one sequence of shape (1, T) or (T,) (generate_batch takes a batch)",
            f"shape {ids.shape}",
        )
    return ids


def _start_id(owner: str, start_id: object, vocab_size: int) -> int:
    if isinstance(start_id, bool) or not isinstance(start_id, (int, np.integer)):
        raise check.fail_type(owner, "start_id", "an integer id", start_id)
    if not 0 <= start_id < vocab_size:
        raise check.fail_value(owner, "start_id", f"an id in [0, {vocab_size})", repr(start_id))
    return int(start_id)


def _state(owner: str, name: str, value: object, hidden_size: int, dtype: np.dtype[Any]) -> FloatArray:
    """A hidden state (N, H) in the weights' dtype."""
    h = check.float_array_of_rank(owner, name, value, 2, "(N, H)")
    if h.shape[1] != hidden_size:
        raise check.fail_value(owner, name, f"of shape (N, {hidden_size})", f"shape {h.shape}")
    check.same_dtype(owner, name, h, "the weights", dtype)
    return h


def _gradient(
    owner: str, name: str, value: object, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> FloatArray:
    """An upstream gradient of exactly the forward output's shape and dtype."""
    array = check.float_array(owner, name, value)
    check.same_shape(owner, name, array, "the forward output", shape)
    check.same_dtype(owner, name, array, "the forward output", dtype)
    return array


def _batch_of(owner: str, name: str, ids: IntArray, n: int) -> None:
    if ids.shape[0] != n:
        raise check.fail_value(owner, name, f"{n} sequences like the batch", f"shape {ids.shape}")


def _greedy(scores: FloatArray) -> IdArray:
    """The id of the highest score of each row of (N, 1, V): (N, 1), the book's argmax."""
    ids: IdArray = scores.argmax(axis=2).astype(np.intp, copy=False)
    return ids


class _Component:
    """What encoders and decoders share: ``params``/``grads`` of their layers, sizes, dtype."""

    params: list[FloatArray]
    grads: list[FloatArray]
    vocab_size: int
    wordvec_size: int
    hidden_size: int
    dtype: np.dtype[Any]

    def _owner(self, method: str) -> str:
        return f"{type(self).__name__}.{method}"

    def _setup(self, vocab_size: int, wordvec_size: int, hidden_size: int, dtype: DType) -> None:
        owner = self._owner("__init__")
        self.vocab_size, self.wordvec_size, self.hidden_size = _sizes(
            owner, vocab_size, wordvec_size, hidden_size
        )
        self.dtype = _float_dtype(owner, dtype)

    def _collect(self, *layers: Any) -> None:
        self.params = [p for layer in layers for p in layer.params]
        self.grads = [g for layer in layers for g in layer.grads]

    def _embedding_and_lstm(
        self, rng: np.random.Generator, lstm_inputs: int, stateful: bool
    ) -> tuple[TimeEmbedding, TimeLSTM]:
        """The book's TimeEmbedding (V, D) ~ N(0, 0.01²) and TimeLSTM with Xavier-scaled
        weights (1/sqrt(fan_in)) and zero bias, drawn in that order from ``rng``."""
        V, D, H = self.vocab_size, self.wordvec_size, self.hidden_size
        embed_W = _normal(rng, (V, D), 1 / 100, self.dtype)
        lstm_Wx = _normal(rng, (lstm_inputs, 4 * H), 1 / np.sqrt(lstm_inputs), self.dtype)
        lstm_Wh = _normal(rng, (H, 4 * H), 1 / np.sqrt(H), self.dtype)
        lstm_b = np.zeros(4 * H, dtype=self.dtype)
        return TimeEmbedding(embed_W), TimeLSTM(lstm_Wx, lstm_Wh, lstm_b, stateful=stateful)


# --- chapter 7: Seq2seq ----------------------------------------------------------------------


class Encoder(_Component):
    """TimeEmbedding - TimeLSTM (stateful=False); ``forward(xs) -> h = hs[:, -1]`` (section 7.2.2).

    ``backward(dh)`` sends dh into the last step only (the other steps' outputs go nowhere).
    """

    def __init__(
        self,
        vocab_size: int,
        wordvec_size: int,
        hidden_size: int,
        *,
        rng: Rng = None,
        dtype: DType = np.float64,
    ) -> None:
        self._setup(vocab_size, wordvec_size, hidden_size, dtype)
        self.embed, self.lstm = self._embedding_and_lstm(_generator(rng), self.wordvec_size, stateful=False)
        self._collect(self.embed, self.lstm)
        self.hs_shape: tuple[int, ...] | None = None

    def _hidden_states(self, owner: str, xs: object) -> FloatArray:
        xs = _ids(owner, "xs", xs, self.vocab_size)
        hs: FloatArray = self.lstm.forward(self.embed.forward(xs))
        self.hs_shape = hs.shape
        return hs

    def forward(self, xs: IntArray) -> FloatArray:
        hs = self._hidden_states(self._owner("forward"), xs)
        return hs[:, -1, :].copy()

    def backward(self, dh: FloatArray) -> None:
        owner = self._owner("backward")
        N, T, H = check.cached(owner, self.hs_shape)
        dh = _gradient(owner, "dh", dh, (N, H), self.dtype)
        dhs = np.zeros((N, T, H), dtype=self.dtype)
        dhs[:, -1, :] = dh
        self.embed.backward(self.lstm.backward(dhs))


class Decoder(_Component):
    """TimeEmbedding - TimeLSTM (stateful=True, started from h) - TimeAffine (section 7.2.3).

    ``forward(xs, h) -> scores`` (N, T, V); ``backward(dscore) -> dh``, the gradient with
    respect to the starting state; ``generate(h, start_id, sample_size)``: greedy ids.
    """

    def __init__(
        self,
        vocab_size: int,
        wordvec_size: int,
        hidden_size: int,
        *,
        rng: Rng = None,
        dtype: DType = np.float64,
    ) -> None:
        self._setup(vocab_size, wordvec_size, hidden_size, dtype)
        D, H, generator = self.wordvec_size, self.hidden_size, _generator(rng)
        self._build(generator, lstm_inputs=D, affine_inputs=H)

    def _build(self, rng: np.random.Generator, lstm_inputs: int, affine_inputs: int) -> None:
        V = self.vocab_size
        self.embed, self.lstm = self._embedding_and_lstm(rng, lstm_inputs, stateful=True)
        affine_W = _normal(rng, (affine_inputs, V), 1 / np.sqrt(affine_inputs), self.dtype)
        affine_b = np.zeros(V, dtype=self.dtype)
        self.affine = TimeAffine(affine_W, affine_b)
        self._collect(self.embed, self.lstm, self.affine)
        self.forwarded = False
        self.score_shape: tuple[int, int, int] = (0, 0, V)

    def _inputs(self, owner: str, xs: object, h: object) -> tuple[IntArray, FloatArray]:
        xs = _ids(owner, "xs", xs, self.vocab_size)
        h = _state(owner, "h", h, self.hidden_size, self.dtype)
        if h.shape[0] != xs.shape[0]:
            raise check.fail_value(
                owner, "h", f"of shape ({xs.shape[0]}, {self.hidden_size})", f"shape {h.shape}"
            )
        return xs, h

    def forward(self, xs: IntArray, h: FloatArray) -> FloatArray:
        xs, h = self._inputs(self._owner("forward"), xs, h)
        self.lstm.set_state(h)
        score: FloatArray = self.affine.forward(self.lstm.forward(self.embed.forward(xs)))
        self.forwarded = True
        self.score_shape = (xs.shape[0], xs.shape[1], self.vocab_size)
        return score

    def backward(self, dscore: FloatArray) -> FloatArray:
        dscore = self._upstream(dscore)
        dout = self.lstm.backward(self.affine.backward(dscore))
        self.embed.backward(dout)
        dh: FloatArray = np.array(self.lstm.dh, copy=True)
        return dh

    def _upstream(self, dscore: object) -> FloatArray:
        """dscore, once forward has run, of the shape and dtype of the scores it returned."""
        owner = self._owner("backward")
        if not self.forwarded:
            raise RuntimeError(f"{owner}: call forward before backward")
        return _gradient(owner, "dscore", dscore, self.score_shape, self.dtype)

    def _step(self, x: IntArray) -> FloatArray:
        """Scores (N, 1, V) of one step from ids (N, 1), carrying the LSTM's state."""
        score: FloatArray = self.affine.forward(self.lstm.forward(self.embed.forward(x)))
        return score

    def _start(self, h: FloatArray) -> None:
        self.lstm.set_state(h)

    def generate_batch(self, h: FloatArray, start_id: int, sample_size: int) -> IdArray:
        """Greedy ids (N, sample_size) from states h (N, H), every row starting from ``start_id``."""
        owner = self._owner("generate")
        h = _state(owner, "h", h, self.hidden_size, self.dtype)
        start_id = _start_id(owner, start_id, self.vocab_size)
        sample_size = check.positive_int(owner, "sample_size", sample_size)
        self._start(h)
        x = np.full((h.shape[0], 1), start_id, dtype=np.intp)
        sampled = np.empty((h.shape[0], sample_size), dtype=np.intp)
        for t in range(sample_size):
            x = _greedy(self._step(x))
            sampled[:, t] = x[:, 0]
        self.forwarded = False  # generating ran the layers' forward: no backward from here
        return sampled

    def generate(self, h: FloatArray, start_id: int, sample_size: int) -> list[int]:
        """The book's greedy decoding of one sequence: h of shape (1, H)."""
        owner = self._owner("generate")
        h = _state(owner, "h", h, self.hidden_size, self.dtype)
        if h.shape[0] != 1:
            raise check.fail_value(owner, "h", f"of shape (1, {self.hidden_size})", f"shape {h.shape}")
        return [int(i) for i in self.generate_batch(h, start_id, sample_size)[0]]


class PeekyDecoder(Decoder):
    """Decoder that also feeds the encoder's h to every step (section 7.3.2, fig. 7-26).

    The LSTM sees concat(h, embedding) (D + H inputs) and the Affine concat(h, LSTM output)
    (2H inputs), h first as the book. backward adds both paths, summed over the steps, to
    the gradient with respect to the starting state.
    """

    def __init__(
        self,
        vocab_size: int,
        wordvec_size: int,
        hidden_size: int,
        *,
        rng: Rng = None,
        dtype: DType = np.float64,
    ) -> None:
        self._setup(vocab_size, wordvec_size, hidden_size, dtype)
        D, H, generator = self.wordvec_size, self.hidden_size, _generator(rng)
        self._build(generator, lstm_inputs=H + D, affine_inputs=H + H)
        self.peek: FloatArray | None = None

    def _with_peek(self, out: FloatArray) -> FloatArray:
        """concat(h repeated over the steps, out) along the features."""
        peek = check.cached(self._owner("forward"), self.peek)
        N, T, _ = out.shape
        joined = np.empty((N, T, self.hidden_size + out.shape[2]), dtype=self.dtype)
        joined[:, :, : self.hidden_size] = peek[:, None, :]
        joined[:, :, self.hidden_size :] = out
        return joined

    def forward(self, xs: IntArray, h: FloatArray) -> FloatArray:
        xs, h = self._inputs(self._owner("forward"), xs, h)
        self._start(h)
        self.forwarded = True
        self.score_shape = (xs.shape[0], xs.shape[1], self.vocab_size)
        return self._step(xs)

    def _start(self, h: FloatArray) -> None:
        self.lstm.set_state(h)
        self.peek = h.copy()

    def _step(self, x: IntArray) -> FloatArray:
        out = self.lstm.forward(self._with_peek(self.embed.forward(x)))
        score: FloatArray = self.affine.forward(self._with_peek(out))
        return score

    def backward(self, dscore: FloatArray) -> FloatArray:
        dscore = self._upstream(dscore)
        H = self.hidden_size
        dout = self.affine.backward(dscore)
        dx = self.lstm.backward(np.ascontiguousarray(dout[:, :, H:]))
        self.embed.backward(np.ascontiguousarray(dx[:, :, H:]))
        dh: FloatArray = self.lstm.dh + dout[:, :, :H].sum(axis=1) + dx[:, :, :H].sum(axis=1)
        return dh


class Seq2seq:
    """Encoder - Decoder - TimeSoftmaxWithLoss (section 7.2.4).

    ``forward(xs, ts)``: h = encoder(xs); scores = decoder(ts[:, :-1], h); mean cross-entropy
    of scores against ts[:, 1:]. ``backward(dout=1)`` fills ``grads``.
    """

    encoder_type: ClassVar[type[Encoder]] = Encoder
    decoder_type: ClassVar[type[Decoder]] = Decoder

    def __init__(
        self,
        vocab_size: int,
        wordvec_size: int,
        hidden_size: int,
        *,
        rng: Rng = None,
        dtype: DType = np.float64,
    ) -> None:
        owner = f"{type(self).__name__}.__init__"
        V, D, H = _sizes(owner, vocab_size, wordvec_size, hidden_size)
        self.dtype = _float_dtype(owner, dtype)
        self.vocab_size = V
        generator = _generator(rng)
        self.encoder: Any = self.encoder_type(V, D, H, rng=generator, dtype=self.dtype)
        self.decoder: Any = self.decoder_type(V, D, H, rng=generator, dtype=self.dtype)
        self.softmax = TimeSoftmaxWithLoss()
        self.params: list[FloatArray] = self.encoder.params + self.decoder.params
        self.grads: list[FloatArray] = self.encoder.grads + self.decoder.grads

    def _owner(self, method: str) -> str:
        return f"{type(self).__name__}.{method}"

    def forward(self, xs: IntArray, ts: IntArray) -> np.floating[Any]:
        owner = self._owner("forward")
        xs = _ids(owner, "xs", xs, self.vocab_size)
        ts = _ids(owner, "ts", ts, self.vocab_size, min_steps=2)
        _batch_of(owner, "ts", ts, xs.shape[0])
        decoder_xs, decoder_ts = ts[:, :-1], ts[:, 1:]
        encoded = self.encoder.forward(xs)
        score = self.decoder.forward(decoder_xs, encoded)
        loss: np.floating[Any] = self.softmax.forward(score, decoder_ts)
        return loss

    def backward(self, dout: float = 1) -> None:
        check.upstream_scalar(self._owner("backward"), dout, self.dtype)
        dscore = self.softmax.backward(dout)
        self.encoder.backward(self.decoder.backward(dscore))

    def generate_batch(self, xs: IntArray, start_id: int, sample_size: int) -> IdArray:
        """Greedy ids (N, sample_size) for a batch of inputs xs (N, T), all steps batched."""
        owner = self._owner("generate")
        xs = _ids(owner, "xs", xs, self.vocab_size)
        sampled: IdArray = self.decoder.generate_batch(self.encoder.forward(xs), start_id, sample_size)
        return sampled

    def generate(self, xs: IntArray, start_id: int, sample_size: int) -> list[int]:
        """The book's greedy decoding of one input sequence xs of shape (1, T) (or (T,))."""
        xs = _one_sequence(self._owner("generate"), xs, self.vocab_size)
        return [int(i) for i in self.generate_batch(xs, start_id, sample_size)[0]]

    def save_params(self, path: str | Path) -> Path:
        return save_params(self.params, path)

    def load_params(self, path: str | Path) -> None:
        load_params(self.params, path)


class PeekySeq2seq(Seq2seq):
    """Encoder - PeekyDecoder - TimeSoftmaxWithLoss (section 7.3.2)."""

    decoder_type = PeekyDecoder


# --- chapter 8: attention --------------------------------------------------------------------


class AttentionEncoder(Encoder):
    """Encoder whose ``forward(xs)`` returns all hidden states hs (N, T, H) (section 8.2.1);
    ``backward(dhs)`` takes their gradient."""

    def forward(self, xs: IntArray) -> FloatArray:
        return self._hidden_states(self._owner("forward"), xs)

    def backward(self, dhs: FloatArray) -> None:
        owner = self._owner("backward")
        shape = check.cached(owner, self.hs_shape)
        dhs = _gradient(owner, "dhs", dhs, shape, self.dtype)
        self.embed.backward(self.lstm.backward(dhs))


class AttentionDecoder(Decoder):
    """TimeEmbedding - TimeLSTM - TimeAttention - TimeAffine (section 8.2.2, fig. 8-21).

    ``forward(xs, enc_hs)``: the LSTM starts from enc_hs[:, -1]; dec_hs = lstm(embed(xs));
    c = TimeAttention(enc_hs, dec_hs); scores = affine(concat(c, dec_hs)) (2H inputs).
    ``backward(dscore) -> denc_hs``: the attention's gradient with the starting state's
    gradient added to the last step. ``generate`` keeps each step's attention weights in
    ``attention_weights``.
    """

    def __init__(
        self,
        vocab_size: int,
        wordvec_size: int,
        hidden_size: int,
        *,
        rng: Rng = None,
        dtype: DType = np.float64,
    ) -> None:
        self._setup(vocab_size, wordvec_size, hidden_size, dtype)
        D, H, generator = self.wordvec_size, self.hidden_size, _generator(rng)
        self._build(generator, lstm_inputs=D, affine_inputs=H + H)
        self.attention = TimeAttention()
        self.enc_hs: FloatArray | None = None
        self.attention_weights: FloatArray | None = None

    def _encoder_states(self, owner: str, enc_hs: object) -> FloatArray:
        enc_hs = check.float_array_of_rank(owner, "enc_hs", enc_hs, 3, "(N, Tenc, H)")
        if enc_hs.shape[1] == 0 or enc_hs.shape[2] != self.hidden_size:
            raise check.fail_value(
                owner,
                "enc_hs",
                f"of shape (N, Tenc, {self.hidden_size}) with Tenc >= 1",
                f"shape {enc_hs.shape}",
            )
        check.same_dtype(owner, "enc_hs", enc_hs, "the weights", self.dtype)
        return enc_hs

    def forward(self, xs: IntArray, enc_hs: FloatArray) -> FloatArray:
        owner = self._owner("forward")
        enc_hs = self._encoder_states(owner, enc_hs)
        xs = _ids(owner, "xs", xs, self.vocab_size)
        if enc_hs.shape[0] != xs.shape[0]:
            raise check.fail_value(
                owner, "enc_hs", f"{xs.shape[0]} sequences like xs", f"shape {enc_hs.shape}"
            )
        self._start(enc_hs)
        self.forwarded = True
        self.score_shape = (xs.shape[0], xs.shape[1], self.vocab_size)
        return self._step(xs)

    def _start(self, enc_hs: FloatArray) -> None:
        self.enc_hs = enc_hs.copy()
        self.lstm.set_state(self.enc_hs[:, -1, :].copy())

    def _step(self, x: IntArray) -> FloatArray:
        enc_hs = check.cached(self._owner("forward"), self.enc_hs)
        dec_hs = self.lstm.forward(self.embed.forward(x))
        c = self.attention.forward(enc_hs, dec_hs)
        score: FloatArray = self.affine.forward(np.concatenate((c, dec_hs), axis=2))
        return score

    def backward(self, dscore: FloatArray) -> FloatArray:
        dscore = self._upstream(dscore)
        H = self.hidden_size
        dout = self.affine.backward(dscore)
        dc, ddec_hs0 = dout[:, :, :H], dout[:, :, H:]
        denc_hs, ddec_hs1 = self.attention.backward(np.ascontiguousarray(dc))
        dout = self.lstm.backward(ddec_hs0 + ddec_hs1)
        self.embed.backward(dout)
        denc_hs[:, -1, :] += check.cached(self._owner("backward"), self.lstm.dh)
        return denc_hs

    def generate_batch(self, enc_hs: FloatArray, start_id: int, sample_size: int) -> IdArray:
        """Greedy ids (N, sample_size); ``attention_weights`` becomes (N, sample_size, Tenc)."""
        owner = self._owner("generate")
        enc_hs = self._encoder_states(owner, enc_hs)
        start_id = _start_id(owner, start_id, self.vocab_size)
        sample_size = check.positive_int(owner, "sample_size", sample_size)
        N, Tenc, _ = enc_hs.shape
        self._start(enc_hs)
        x = np.full((N, 1), start_id, dtype=np.intp)
        sampled = np.empty((N, sample_size), dtype=np.intp)
        weights = np.empty((N, sample_size, Tenc), dtype=self.dtype)
        for t in range(sample_size):
            x = _greedy(self._step(x))
            sampled[:, t] = x[:, 0]
            weights[:, t, :] = self.attention.attention_weights[0]
        self.attention_weights = weights
        self.forwarded = False  # generating ran the layers' forward: no backward from here
        return sampled

    def generate(self, enc_hs: FloatArray, start_id: int, sample_size: int) -> list[int]:
        """The book's greedy decoding of one sequence: enc_hs of shape (1, Tenc, H);
        ``attention_weights`` becomes (sample_size, Tenc)."""
        owner = self._owner("generate")
        enc_hs = self._encoder_states(owner, enc_hs)
        if enc_hs.shape[0] != 1:
            raise check.fail_value(
                owner, "enc_hs", "one sequence of shape (1, Tenc, H)", f"shape {enc_hs.shape}"
            )
        sampled = self.generate_batch(enc_hs, start_id, sample_size)
        assert self.attention_weights is not None
        self.attention_weights = self.attention_weights[0]
        return [int(i) for i in sampled[0]]


class AttentionSeq2seq(Seq2seq):
    """AttentionEncoder - AttentionDecoder - TimeSoftmaxWithLoss (section 8.2.3).

    After ``generate``, ``attention_weights`` holds the weights of each output step over the
    input steps, (sample_size, Tenc) (after ``generate_batch``: (N, sample_size, Tenc)), for
    plotting as the book's fig. 8-26.
    """

    encoder_type = AttentionEncoder
    decoder_type = AttentionDecoder

    @property
    def attention_weights(self) -> FloatArray | None:
        weights: FloatArray | None = self.decoder.attention_weights
        return weights

    def generate(self, xs: IntArray, start_id: int, sample_size: int) -> list[int]:
        xs = _one_sequence(self._owner("generate"), xs, self.vocab_size)
        sampled = super().generate_batch(xs, start_id, sample_size)
        assert self.decoder.attention_weights is not None
        self.decoder.attention_weights = self.decoder.attention_weights[0]
        return [int(i) for i in sampled[0]]
