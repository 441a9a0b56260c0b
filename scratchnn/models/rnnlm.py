"""The RNN language models of chapters 5 and 6: SimpleRnnlm, Rnnlm and BetterRnnlm.

Each maps word ids xs (N, T) to scores (N, T, V) over the vocabulary:
embedding, recurrent layer(s) kept ``stateful`` across calls (truncated BPTT,
section 5.2.4), a time-distributed affine layer, and the softmax cross-entropy
averaged over the N*T predictions (``TimeSoftmaxWithLoss``). ``reset_state()``
makes the next call start from zero states; the trainer and ``eval_perplexity``
call it before a new text.

``generate`` is the book's ``RnnlmGen``/``BetterRnnlmGen`` (section 7.1): one word
at a time with a batch of one, each next word sampled from softmax(score).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray, IntArray
from scratchnn.functions import softmax
from scratchnn.serialization import load_params, save_params
from scratchnn.time_layers import (
    TimeAffine,
    TimeDropout,
    TimeEmbedding,
    TimeLSTM,
    TimeRNN,
    TimeSoftmaxWithLoss,
)
from scratchnn.trainer import remove_duplicate

__all__ = ["BetterRnnlm", "Rnnlm", "SimpleRnnlm"]

Dtype = type[np.floating[Any]] | np.dtype[Any]


class _LanguageModel:
    """What the three models share: the layer stack, ids checks, state, saving, generation.

    A subclass builds ``self.layers`` (all but the loss), ``self.recurrent`` (the
    stateful layers) and calls :meth:`_collect`.
    """

    layers: list[Any]
    recurrent: list[Any]
    loss_layer: TimeSoftmaxWithLoss
    params: list[FloatArray]
    grads: list[FloatArray]
    rng: np.random.Generator
    vocab_size: int

    def _start(self, rng: np.random.Generator | int | None, dtype: Dtype) -> tuple[np.random.Generator, Any]:
        owner = self._owner("__init__")
        if np.dtype(dtype) not in check.SUPPORTED_FLOATS:
            raise check.fail_type(owner, "dtype", "float32 or float64", dtype)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return self.rng, np.dtype(dtype)

    def _normal(self, shape: tuple[int, ...], scale: float, dtype: np.dtype[Any]) -> FloatArray:
        """scale * N(0, 1) draws in ``dtype`` (the book's ``(np.random.randn(...) / s).astype('f')``)."""
        return (scale * self.rng.standard_normal(shape)).astype(dtype)

    def _collect(self) -> None:
        self.loss_layer = TimeSoftmaxWithLoss()
        self.params = [p for layer in self.layers for p in layer.params]
        self.grads = [g for layer in self.layers for g in layer.grads]

    def _owner(self, method: str) -> str:
        return f"{type(self).__name__}.{method}"

    def _ids(self, owner: str, name: str, value: object) -> IntArray:
        """Word ids (N, T) in [0, V): checked here so the message names the model."""
        if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.integer):
            raise check.fail_type(owner, name, "a numpy.ndarray of integer word ids (N, T)", value)
        if value.ndim != 2 or value.size == 0:
            raise check.fail_value(
                owner, name, "a non-empty 2-D array (N, T) of word ids", f"shape {value.shape}"
            )
        low, high = int(value.min()), int(value.max())
        if low < 0 or high >= self.vocab_size:
            raise check.fail_value(
                owner, name, f"word ids in [0, {self.vocab_size})", f"values from {low} to {high}"
            )
        return value

    def _targets(self, owner: str, xs: IntArray, ts: object) -> IntArray:
        """Target ids of xs's shape, in [0, V) or the loss layer's ``ignore_label`` (-1: not scored)."""
        if not isinstance(ts, np.ndarray) or not np.issubdtype(ts.dtype, np.integer):
            raise check.fail_type(owner, "ts", "a numpy.ndarray of integer word ids (N, T)", ts)
        if ts.shape != xs.shape:
            raise check.fail_value(owner, "ts", f"of shape {xs.shape} like xs", f"shape {ts.shape}")
        low, high = int(ts.min()), int(ts.max())
        ignore = self.loss_layer.ignore_label
        if low < 0 or high >= self.vocab_size:
            bad = ((ts < 0) | (ts >= self.vocab_size)) & (ts != ignore)
            if bad.any():
                raise check.fail_value(
                    owner,
                    "ts",
                    f"word ids in [0, {self.vocab_size}) or ignore_label ({ignore})",
                    f"values from {low} to {high}",
                )
        return ts

    def _scores(self, xs: IntArray) -> FloatArray:
        out: Any = xs
        for layer in self.layers:
            out = layer.forward(out)
        scores: FloatArray = out
        return scores

    def predict(self, xs: IntArray) -> FloatArray:
        """Scores (N, T, V): the unnormalised log-probabilities of each next word."""
        return self._scores(self._ids(self._owner("predict"), "xs", xs))

    def forward(self, xs: IntArray, ts: IntArray) -> np.floating[Any]:
        """Mean cross-entropy of predicting ts (N, T) from xs (N, T)."""
        owner = self._owner("forward")
        xs = self._ids(owner, "xs", xs)
        ts = self._targets(owner, xs, ts)
        loss: np.floating[Any] = self.loss_layer.forward(self._scores(xs), ts)
        return loss

    def backward(self, dout: float = 1) -> None:
        """Fill ``grads`` in place (word ids have no gradient: returns None, as the book's)."""
        check.upstream_scalar(self._owner("backward"), dout, self.params[0].dtype)
        grad = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def reset_state(self) -> None:
        """The next forward starts every recurrent layer from zero states."""
        for layer in self.recurrent:
            layer.reset_state()

    def _unique_params(self) -> list[FloatArray]:
        """One array per buffer: a tied weight and its transposed view are saved and loaded once."""
        return remove_duplicate(self.params, self.grads)[0]

    def save_params(self, path: str | Path) -> Path:
        """Save the parameters as ``.npz`` (scratchnn.serialization, no pickle)."""
        return save_params(self._unique_params(), path)

    def load_params(self, path: str | Path) -> None:
        """Load parameters saved by ``save_params`` in place (tied views see the new values)."""
        load_params(self._unique_params(), path)

    def _state_batch(self) -> int | None:
        h = self.recurrent[0].h
        return None if h is None else int(h.shape[0])

    def generate(
        self,
        start_id: int,
        skip_ids: Iterable[int] | None = None,
        sample_size: int = 100,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> list[int]:
        """``sample_size`` word ids starting with ``start_id``, each next one sampled from
        softmax(score) of the previous one (the book's ``RnnlmGen.generate``, section 7.1.1).

        Words are fed one at a time as a batch of one, the state carried along, so a
        caller can prime the model with a few words first (``predict`` on a (1, k)
        array) as the book's ``generate_better_text.py`` does; a state left by a batch
        of another size (training, evaluation) is reset first. Ids in ``skip_ids`` are
        never emitted: their probability is set to zero and the rest renormalised,
        the distribution of the book's resampling loop (which, unlike this, feeds the
        previous word again after a rejection). ``rng``: a Generator or a seed;
        None draws from the model's own generator.
        """
        owner = self._owner("generate")
        V = self.vocab_size
        start = _word_id(owner, "start_id", start_id, V)
        sample_size = check.positive_int(owner, "sample_size", sample_size)
        skip = sorted({_word_id(owner, "skip_ids", i, V) for i in (skip_ids or ())})
        generator = (
            self.rng
            if rng is None
            else rng
            if isinstance(rng, np.random.Generator)
            else np.random.default_rng(rng)
        )
        if self._state_batch() not in (None, 1):
            self.reset_state()
        word_ids = [start]
        x = np.array([[start]], dtype=np.int64)
        while len(word_ids) < sample_size:
            score = self.predict(x).reshape(V)
            p = softmax(score).astype(np.float64)
            p[skip] = 0.0
            total = float(p.sum())
            if total <= 0:
                raise check.fail_value(
                    owner, "skip_ids", "ids that leave some word with nonzero probability", f"{len(skip)} ids"
                )
            sampled = int(generator.choice(V, p=p / total))
            word_ids.append(sampled)
            x[0, 0] = sampled
        return word_ids


def _word_id(owner: str, name: str, value: object, V: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise check.fail_type(owner, name, "integer word ids", value)
    if not 0 <= int(value) < V:
        raise check.fail_value(owner, name, f"word ids in [0, {V})", repr(value))
    return int(value)


def _sizes(owner: str, **sizes: int) -> list[int]:
    return [check.positive_int(owner, name, value) for name, value in sizes.items()]


class SimpleRnnlm(_LanguageModel):
    """TimeEmbedding -> TimeRNN (stateful) -> TimeAffine -> TimeSoftmaxWithLoss (section 5.5.1).

    Initial weights as the book's: embed_W = N(0, 1) / 100, rnn_Wx = N(0, 1) / sqrt(D),
    rnn_Wh = N(0, 1) / sqrt(H) (Xavier), affine_W = N(0, 1) / sqrt(H), biases 0; drawn
    from ``rng`` (a Generator, kept, or a seed) in ``dtype``.
    """

    def __init__(
        self,
        vocab_size: int,
        wordvec_size: int,
        hidden_size: int,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: Dtype = np.float64,
    ) -> None:
        V, D, H = _sizes(
            self._owner("__init__"), vocab_size=vocab_size, wordvec_size=wordvec_size, hidden_size=hidden_size
        )
        _, dt = self._start(rng, dtype)
        self.vocab_size = V
        embed_W = self._normal((V, D), 1 / 100, dt)
        rnn_Wx = self._normal((D, H), 1 / np.sqrt(D), dt)
        rnn_Wh = self._normal((H, H), 1 / np.sqrt(H), dt)
        rnn_b = np.zeros(H, dtype=dt)
        affine_W = self._normal((H, V), 1 / np.sqrt(H), dt)
        affine_b = np.zeros(V, dtype=dt)
        self.rnn_layer = TimeRNN(rnn_Wx, rnn_Wh, rnn_b, stateful=True)
        self.layers = [TimeEmbedding(embed_W), self.rnn_layer, TimeAffine(affine_W, affine_b)]
        self.recurrent = [self.rnn_layer]
        self._collect()


class Rnnlm(_LanguageModel):
    """TimeEmbedding -> TimeLSTM (stateful) -> TimeAffine -> TimeSoftmaxWithLoss (section 6.4).

    Initial weights as the book's: embed_W = N(0, 1) / 100, lstm_Wx = N(0, 1) / sqrt(D),
    lstm_Wh = N(0, 1) / sqrt(H), affine_W = N(0, 1) / sqrt(H), biases 0 (gate blocks
    f, g, i, o as TimeLSTM); drawn from ``rng`` (a Generator, kept, or a seed) in ``dtype``.
    """

    def __init__(
        self,
        vocab_size: int = 10000,
        wordvec_size: int = 100,
        hidden_size: int = 100,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: Dtype = np.float64,
    ) -> None:
        V, D, H = _sizes(
            self._owner("__init__"), vocab_size=vocab_size, wordvec_size=wordvec_size, hidden_size=hidden_size
        )
        _, dt = self._start(rng, dtype)
        self.vocab_size = V
        embed_W = self._normal((V, D), 1 / 100, dt)
        lstm_Wx = self._normal((D, 4 * H), 1 / np.sqrt(D), dt)
        lstm_Wh = self._normal((H, 4 * H), 1 / np.sqrt(H), dt)
        lstm_b = np.zeros(4 * H, dtype=dt)
        affine_W = self._normal((H, V), 1 / np.sqrt(H), dt)
        affine_b = np.zeros(V, dtype=dt)
        self.lstm_layer = TimeLSTM(lstm_Wx, lstm_Wh, lstm_b, stateful=True)
        self.layers = [TimeEmbedding(embed_W), self.lstm_layer, TimeAffine(affine_W, affine_b)]
        self.recurrent = [self.lstm_layer]
        self._collect()


class BetterRnnlm(_LanguageModel):
    """Two LSTM layers, dropout and weight tying (section 6.5):

    TimeEmbedding(embed_W) -> TimeDropout -> TimeLSTM -> TimeDropout -> TimeLSTM
    -> TimeDropout -> TimeAffine(embed_W.T, affine_b) -> TimeSoftmaxWithLoss.

    The output weight is the transposed **view** ``embed_W.T`` (Press and Wolf, "Using
    the Output Embedding to Improve Language Models", EACL 2017; Inan et al., ICLR 2017),
    so ``params`` holds embed_W and embed_W.T sharing memory, as the book's; the gradient
    of the tied weight is grads[0] + grads[-2].T, which :func:`scratchnn.trainer.remove_duplicate`
    forms before each update. Tying needs wordvec_size == hidden_size.

    ``predict(xs, train_flg=False)`` and ``forward(xs, ts, train_flg=True)`` switch the
    dropout layers (``TimeDropout.train_flg``); their masks come from the model's
    generator ``rng``, which also draws the initial weights (as Rnnlm's, lstm_Wx2 with
    1/sqrt(H)).
    """

    def __init__(
        self,
        vocab_size: int = 10000,
        wordvec_size: int = 650,
        hidden_size: int = 650,
        dropout_ratio: float = 0.5,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: Dtype = np.float64,
    ) -> None:
        owner = self._owner("__init__")
        V, D, H = _sizes(owner, vocab_size=vocab_size, wordvec_size=wordvec_size, hidden_size=hidden_size)
        if D != H:
            raise check.fail_value(
                owner,
                "wordvec_size",
                f"equal to hidden_size ({H}): the output weight is the embedding transposed (weight tying)",
                repr(D),
            )
        generator, dt = self._start(rng, dtype)
        self.vocab_size = V
        embed_W = self._normal((V, D), 1 / 100, dt)
        lstm_Wx1 = self._normal((D, 4 * H), 1 / np.sqrt(D), dt)
        lstm_Wh1 = self._normal((H, 4 * H), 1 / np.sqrt(H), dt)
        lstm_b1 = np.zeros(4 * H, dtype=dt)
        lstm_Wx2 = self._normal((H, 4 * H), 1 / np.sqrt(H), dt)
        lstm_Wh2 = self._normal((H, 4 * H), 1 / np.sqrt(H), dt)
        lstm_b2 = np.zeros(4 * H, dtype=dt)
        affine_b = np.zeros(V, dtype=dt)
        self.layers = [
            TimeEmbedding(embed_W),
            TimeDropout(dropout_ratio, rng=generator),
            TimeLSTM(lstm_Wx1, lstm_Wh1, lstm_b1, stateful=True),
            TimeDropout(dropout_ratio, rng=generator),
            TimeLSTM(lstm_Wx2, lstm_Wh2, lstm_b2, stateful=True),
            TimeDropout(dropout_ratio, rng=generator),
            TimeAffine(embed_W.T, affine_b),  # weight tying: a view of embed_W
        ]
        self.lstm_layers = [self.layers[2], self.layers[4]]
        self.drop_layers = [self.layers[1], self.layers[3], self.layers[5]]
        self.recurrent = self.lstm_layers
        self._collect()

    def predict(self, xs: IntArray, train_flg: bool = False) -> FloatArray:
        """Scores (N, T, V); dropout active only with ``train_flg=True``."""
        xs = self._ids(self._owner("predict"), "xs", xs)
        for layer in self.drop_layers:
            layer.train_flg = bool(train_flg)
        return self._scores(xs)

    def forward(self, xs: IntArray, ts: IntArray, train_flg: bool = True) -> np.floating[Any]:
        """Mean cross-entropy of predicting ts from xs; dropout active unless ``train_flg=False``."""
        owner = self._owner("forward")
        xs = self._ids(owner, "xs", xs)
        ts = self._targets(owner, xs, ts)
        for layer in self.drop_layers:
            layer.train_flg = bool(train_flg)
        loss: np.floating[Any] = self.loss_layer.forward(self._scores(xs), ts)
        return loss
