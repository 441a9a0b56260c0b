"""Deliberately broken classes of the word2vec chapters (2 to 4): negative sampling layers and models.

Each variant subclasses the correct scratchnn class and changes one thing, the way
a hand-written word2vec goes wrong: a scatter that drops repeated word ids, a
backward that forgets the negative samples, a sampler that ignores ``power`` or
draws the target itself, a CBOW that sums its contexts, a skip-gram that learns
from one context word only. ``caught_by`` names the checks that must catch it
under the ``ci`` profile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnn
from tests.harness.broken.variant import Variant

# --- EmbeddingDot ----------------------------------------------------------------------------


class EmbeddingDotDropsDuplicates(scratchnn.EmbeddingDot):
    def backward(self, dout: Any) -> Any:
        h, target_W, idx = self.cache  # type: ignore[misc]
        dW = self.grads[0]
        dW[...] = 0
        dW[idx] = dout[:, None] * h  # a word id that occurs twice keeps one row's gradient, not the sum
        return dout[:, None] * target_W


class EmbeddingDotKeepsOldGradient(scratchnn.EmbeddingDot):
    def backward(self, dout: Any) -> Any:
        h, target_W, idx = self.cache  # type: ignore[misc]
        np.add.at(self.grads[0], idx, dout[:, None] * h)  # dW is never zeroed: adds to the last backward's
        return dout[:, None] * target_W


# --- UnigramSampler --------------------------------------------------------------------------


class UnigramSamplerIgnoresPower(scratchnn.UnigramSampler):
    def __init__(self, corpus: Any, power: float, sample_size: int, **kwargs: Any) -> None:
        super().__init__(corpus, 1.0, sample_size, **kwargs)  # P(w) ~ count(w): power never used
        self.power = power


class UnigramSamplerFixedPower(scratchnn.UnigramSampler):
    def __init__(self, corpus: Any, power: float, sample_size: int, **kwargs: Any) -> None:
        super().__init__(corpus, 0.75, sample_size, **kwargs)  # the book's 0.75, whatever was asked
        self.power = power


class UnigramSamplerDrawsUnseenWords(scratchnn.UnigramSampler):
    def __init__(self, corpus: Any, power: float, sample_size: int, **kwargs: Any) -> None:
        super().__init__(corpus, power, sample_size, **kwargs)
        # a small floor under every count: an id absent from the corpus is drawn now and then
        weights = (np.bincount(corpus) + 0.05) ** power
        self.word_p = weights / weights.sum()

    def get_negative_sample(self, target: Any) -> Any:
        rows = np.arange(len(target))
        p = np.tile(self.word_p, (len(target), 1))
        p[rows, target] = 0.0
        cdf = np.cumsum(p, axis=1)
        u = self.rng.random((len(target), self.sample_size)) * cdf[:, -1:]
        return np.sum(u[:, :, None] >= cdf[:, None, :], axis=2)  # inverse-CDF sampling


class UnigramSamplerDrawsTarget(scratchnn.UnigramSampler):
    """The book's GPU branch: every id drawn from word_p, the row's own target included."""

    def get_negative_sample(self, target: Any) -> Any:
        size = (np.asarray(target).shape[0], self.sample_size)
        return self.rng.choice(self.vocab_size, size=size, replace=True, p=self.word_p)


# --- NegativeSamplingLoss ------------------------------------------------------------------


class NegativeSamplingLossForgetsNegativesInDh(scratchnn.NegativeSamplingLoss):
    def backward(self, dout: float = 1) -> Any:
        super().backward(dout)  # dW right
        h, rows, _, y, labels = self.cache  # type: ignore[misc]
        positive = labels == 1
        dscores = (y[:, positive] - 1) * (float(dout) / h.shape[0])
        return np.sum(dscores[:, :, None] * rows[:, positive], axis=1)  # the negatives' scores left out


class NegativeSamplingLossAveragesLosses(scratchnn.NegativeSamplingLoss):
    """Averages the sample_size + 1 binary cross-entropies where the book sums them (forward and
    backward agree with each other, so only the reference can tell)."""

    def forward(self, h: Any, target: Any) -> Any:
        return super().forward(h, target) / (self.sample_size + 1)

    def backward(self, dout: float = 1) -> Any:
        return super().backward(float(dout) / (self.sample_size + 1))


class NegativeSamplingLossNaiveLog(scratchnn.NegativeSamplingLoss):
    """The book's SigmoidWithLoss per score: 1 / (1 + exp(-s)) and log(y + 1e-7)."""

    def forward(self, h: Any, target: Any) -> Any:
        super().forward(h, target)
        _, rows, _, _, labels = self.cache  # type: ignore[misc]
        scores = np.matmul(rows, h[:, :, None])[:, :, 0]
        y = 1 / (1 + np.exp(-scores))
        return -np.sum(np.log(np.where(labels == 1, y, 1 - y) + 1e-7)) / h.shape[0]


# --- the models --------------------------------------------------------------------------------


class SimpleCBOWNoHalfInBackward(scratchnn.SimpleCBOW):
    def backward(self, dout: float = 1) -> None:
        ds = self.loss_layer.backward(dout)
        da = self.out_layer.backward(ds)  # forward averaged the two contexts; backward forgets the 1/2
        self.in_layer1.backward(da)
        self.in_layer0.backward(da)
        np.add(self.in_layer0.grads[0], self.in_layer1.grads[0], out=self.grads[0])


class SimpleSkipGramOneLossInBackward(scratchnn.SimpleSkipGram):
    def backward(self, dout: float = 1) -> None:
        ds = self.loss_layer1.backward(dout)  # the second context word's loss is left out
        dh = self.out_layer.backward(ds)
        self.in_layer.backward(dh)


class CBOWSumsContextsInBackward(scratchnn.CBOW):
    def backward(self, dout: float = 1) -> None:
        n, columns = self._batch  # type: ignore[misc]
        dh = self.ns_loss.backward(dout)  # forward averaged the contexts; backward forgets 1 / columns
        self.in_layer.backward(np.broadcast_to(dh[:, None, :], (n, columns, dh.shape[1])))


class CBOWSumsContextsInForward(scratchnn.CBOW):
    def forward(self, contexts: Any, target: Any) -> Any:
        h = self.in_layer.forward(contexts).sum(axis=1)  # the sum of the context vectors, not their mean
        loss = self.ns_loss.forward(h, target)
        self._batch = contexts.shape
        return loss


class SkipGramFirstContextOnlyInBackward(scratchnn.SkipGram):
    def backward(self, dout: float = 1) -> None:
        loss = self.ns_loss
        h, rows, idx, y, labels = loss.cache  # type: ignore[misc]
        first = 1 + loss.sample_size
        y = y.copy()
        y[:, first:] = labels[first:]  # no error left on the other context columns' scores
        loss.cache = (h, rows, idx, y, labels)
        self.in_layer.backward(loss.backward(dout))


class SkipGramAveragesContexts(scratchnn.SkipGram):
    """Averages the context words' losses where the book sums them (consistently in backward)."""

    def forward(self, contexts: Any, target: Any) -> Any:
        return super().forward(contexts, target) / contexts.shape[1]

    def backward(self, dout: float = 1) -> None:
        super().backward(float(dout) / (2 * self.window_size))


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "embeddingdot-drops-duplicates",
        "EmbeddingDot",
        EmbeddingDotDropsDuplicates,
        ("gradient", "finite_difference"),
        "dW[idx] = dout * h keeps one gradient of a repeated word id",
        breaks=("N>1 · moderate",),
        holds=("N=1 · moderate", "N=1 · zeros"),
        diagnosis="except_duplicates",
        family=True,
    ),
    Variant(
        "embeddingdot-keeps-old-gradient",
        "EmbeddingDot",
        EmbeddingDotKeepsOldGradient,
        ("contract",),
        "dW is never zeroed: a second backward adds to the first",
    ),
    Variant(
        "sampler-ignores-power",
        "UnigramSampler",
        UnigramSamplerIgnoresPower,
        ("sampling",),
        "negatives drawn with P(w) ~ count(w), power ignored",
    ),
    Variant(
        "sampler-fixed-power",
        "UnigramSampler",
        UnigramSamplerFixedPower,
        ("sampling",),
        "power 0.75 hard-coded: right for the book's value only",
    ),
    Variant(
        "sampler-draws-unseen-words",
        "UnigramSampler",
        UnigramSamplerDrawsUnseenWords,
        ("sampling",),
        "(count + 0.05) ** power: ids absent from the corpus are drawn now and then",
    ),
    Variant(
        "sampler-draws-target",
        "UnigramSampler",
        UnigramSamplerDrawsTarget,
        ("sampling",),
        "the row's own target can be one of its negatives (the book's GPU branch)",
    ),
    Variant(
        "nsloss-dh-forgets-negatives",
        "NegativeSamplingLoss",
        NegativeSamplingLossForgetsNegativesInDh,
        ("gradient", "finite_difference", "taylor"),
        "dh from the target's score only: the negative samples' contribution is left out",
        family=True,
    ),
    Variant(
        "nsloss-averages-losses",
        "NegativeSamplingLoss",
        NegativeSamplingLossAveragesLosses,
        ("forward", "gradient"),
        "the sample_size + 1 losses averaged where the book sums them",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "nsloss-naive-log",
        "NegativeSamplingLoss",
        NegativeSamplingLossNaiveLog,
        ("forward", "stability"),
        "log(sigmoid(s) + 1e-7) biases the loss, and exp(-s) overflows",
    ),
    Variant(
        "simplecbow-no-half-in-backward",
        "SimpleCBOW",
        SimpleCBOWNoHalfInBackward,
        ("gradient", "finite_difference"),
        "forward averages the two contexts, backward does not halve their gradient",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "simpleskipgram-one-loss-in-backward",
        "SimpleSkipGram",
        SimpleSkipGramOneLossInBackward,
        ("gradient", "finite_difference"),
        "backward from the first context word's loss only",
        family=True,
    ),
    Variant(
        "cbow-sums-contexts-in-backward",
        "CBOW",
        CBOWSumsContextsInBackward,
        ("gradient", "finite_difference", "taylor"),
        "backward gives every context the whole dh instead of dh / (2 window)",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "cbow-sums-contexts-in-forward",
        "CBOW",
        CBOWSumsContextsInForward,
        ("forward", "gradient"),
        "h is the sum of the context vectors instead of their mean",
        family=True,
    ),
    Variant(
        "skipgram-first-context-only",
        "SkipGram",
        SkipGramFirstContextOnlyInBackward,
        ("gradient", "finite_difference", "taylor"),
        "backward uses only the first context word's loss",
        family=True,
    ),
    Variant(
        "skipgram-averages-contexts",
        "SkipGram",
        SkipGramAveragesContexts,
        ("forward", "gradient"),
        "the context words' losses averaged where the book sums them",
        diagnosis="scaled",
        family=True,
    ),
)

CORRECT_ALTERNATIVES: tuple[Variant, ...] = ()
