"""What the ``sampling`` check measures of a stochastic component, as objects rows carry.

Every statistical test here rejects at the false-alarm rate :data:`FALSE_ALARM`
per example. A ``ci`` run checks at most a few hundred sampling examples, so by
the union bound the chance that a correct sampler fails anywhere in a run is
below 1e-4 × (examples / 100): small, fixed and known, not tuned to the data.
The sample sizes are chosen so that the bugs the tests exist for (a sampler
that ignores ``power``, a dropout that keeps with probability ``ratio`` instead
of ``1 - ratio``) fail with certainty for practical purposes (see each class).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from conformance import invoke
from conformance.checks.context import Context
from conformance.measurement import Measurement
from conformance.numerics import Array

FALSE_ALARM = 1e-6
"""The probability that one statistical test rejects a correct component."""

Z_TWO_SIDED = 4.891638475698
"""The standard normal quantile with 1e-6 in both tails together: Phi^-1(1 - 5e-7)."""

MIN_EXPECTED = 5.0
"""Pearson's chi-square is trusted when every cell expects at least 5 draws (Cochran's rule);
rarer words are pooled into one cell."""


def chi_square_p_value(observed: Array, expected: Array) -> tuple[float, int, float]:
    """Pearson's statistic, its degrees of freedom and the upper-tail p-value
    Q(df/2, X^2/2) (the regularised upper incomplete gamma function), rare cells pooled."""
    rare = expected < MIN_EXPECTED
    if rare.any():
        observed = np.append(observed[~rare], observed[rare].sum())
        expected = np.append(expected[~rare], expected[rare].sum())
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    df = len(expected) - 1
    if df < 1:
        return statistic, df, 1.0
    p = float(
        torch.special.gammaincc(torch.tensor(df / 2.0, dtype=torch.float64), torch.tensor(statistic / 2))
    )
    return statistic, df, p


@dataclass(frozen=True)
class UnigramDistribution:
    """A negative sampler ``get_negative_sample(target) -> (N, sample_size)``.

    Called once with ``draws`` rows all asking for the same target word (the most
    frequent one, whose exclusion matters most). The first column is tested
    against p_w ∝ count_w ** power over the other words (the first draw of a row
    has that distribution whether later draws are with or without replacement).
    Every column is checked never to hold the target nor a word absent from the
    corpus; a second call must give the same draws (the harness resets the seed).

    Power: with 20,000 draws, a sampler that uses counts ** 1 instead of ** 0.75
    on the drawn corpora (counts from 1 to 51) shifts the expected count of the
    commonest word by several hundred draws (> 10 standard deviations).
    """

    corpus: str = "corpus"
    target: str = "target"
    power: str = "power"
    draws: int = 20_000

    def measure(self, ctx: Context) -> list[Measurement]:
        row, example = ctx.row, ctx.example
        corpus = example.value(self.corpus)
        counts = np.bincount(corpus)
        word = int(np.argmax(counts))
        values = invoke.cast_values(row, example, np.float64)
        values[self.target] = np.full(self.draws, word, dtype=np.int64)
        instance = invoke.construct(row, ctx.cls, example, np.float64)
        (samples,) = invoke.forward(row, instance, values)
        (again,) = invoke.forward(row, instance, values)
        same = np.array_equal(samples, again)
        found = [
            ctx.measurement(
                "sampling",
                "same_seed_same_draws",
                "-",
                "pass" if same else "fail",
                detail="" if same else "two calls with the same seed drew differently",
            )
        ]
        size = int(example.dims["K"])
        if samples.shape != (self.draws, size) or samples.dtype.kind not in "iu":
            detail = (
                f"returned {invoke.describe(samples)};"
                f" expected integer samples of shape ({self.draws}, {size})"
            )
            return [*found, ctx.measurement("sampling", "shape", "-", "fail", detail=detail)]
        own = np.argwhere(samples == word)
        found.append(
            ctx.measurement(
                "sampling",
                "never_own_target",
                "-",
                "fail" if len(own) else "pass",
                detail=f"row {int(own[0][0])} holds its own target {word}" if len(own) else "",
            )
        )
        unseen = sorted(set(np.unique(samples).tolist()) - set(np.flatnonzero(counts).tolist()))
        found.append(
            ctx.measurement(
                "sampling",
                "never_unseen_word",
                "-",
                "fail" if unseen else "pass",
                detail=f"drew word {unseen[0]}, which never occurs in the corpus" if unseen else "",
            )
        )
        weights = counts.astype(np.float64) ** float(example.dims[self.power])
        weights[word] = 0.0
        support = weights > 0
        expected = self.draws * weights[support] / weights.sum()
        observed = np.bincount(samples[:, 0], minlength=len(counts))[: len(counts)][support].astype(
            np.float64
        )
        statistic, df, p = chi_square_p_value(observed, expected)
        verdict = "pass" if p >= FALSE_ALARM else "fail"
        detail = (
            f"first column against count**{example.dims[self.power]}: chi-square {statistic:.1f} on {df} df,"
            f" p = {p:.2g} (rejected below {FALSE_ALARM:g})"
        )
        found.append(ctx.measurement("sampling", "frequencies", "-", verdict, detail=detail))
        return found


@dataclass(frozen=True)
class KeepRate:
    """A dropout layer keeps each element independently with probability 1 - ratio.

    One training forward on ``draws`` ones (shape from ``shape``): the number kept
    is Binomial(draws, 1 - ratio) for a right layer; a two-sided z-test at
    :data:`FALSE_ALARM`. A layer that keeps with probability ``ratio`` instead
    (a flipped comparison) is off by 20,000 × |1 - 2 ratio| draws: for the drawn
    ratios (0.1 to 0.8) that is at least 60 standard deviations, except at 0.5,
    where both are the same distribution and no test could tell.
    """

    ratio: str = "ratio"
    input: str = "x"
    draws: int = 20_000
    rank: int = 1

    def measure(self, ctx: Context) -> list[Measurement]:
        row, example = ctx.row, ctx.example
        if not row.convention.training(example):
            return [
                ctx.measurement(
                    "sampling", "keep_rate", "-", "skipped", detail="nothing is drawn in test mode"
                )
            ]
        values = invoke.cast_values(row, example, np.float64)
        values[self.input] = np.ones((self.draws,) + (1,) * (self.rank - 1))
        instance = invoke.construct(row, ctx.cls, example, np.float64)
        (out,) = invoke.forward(row, instance, values)
        ratio = float(example.dims[self.ratio])
        kept = int(np.count_nonzero(out))
        q = 1.0 - ratio
        spread = math.sqrt(self.draws * q * (1 - q))
        z = (kept - self.draws * q) / spread if spread > 0 else (0.0 if kept == self.draws else math.inf)
        verdict = "pass" if abs(z) <= Z_TWO_SIDED else "fail"
        detail = (
            f"kept {kept} of {self.draws} (expected {self.draws * q:.0f} for ratio {ratio}); z = {z:.2f},"
            f" rejected beyond ±{Z_TWO_SIDED:.2f}"
        )
        return [ctx.measurement("sampling", "keep_rate", "-", verdict, detail=detail)]


__all__ = ["FALSE_ALARM", "KeepRate", "UnigramDistribution", "chi_square_p_value"]
