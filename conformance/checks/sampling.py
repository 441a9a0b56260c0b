"""Check: a stochastic component draws from the right distribution.

The row's ``sampling`` object (see :mod:`conformance.sampling`) says what to
measure: a negative sampler's frequencies against count**power, that it never
returns a row's own target, that the same seed gives the same draws; a dropout
layer's keep rate against 1 - ratio. Each statistical test has a fixed,
derived false-alarm rate (``conformance.sampling.FALSE_ALARM``), not a tuned one.
"""

from __future__ import annotations

from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.spec import Row

NAME = "sampling"
REGIMES = ("moderate",)


def applies(row: Row) -> str | None:
    return None if row.sampling is not None else "the layer draws no random numbers"


def run(ctx: Context) -> list[Measurement]:
    try:
        return list(ctx.row.sampling.measure(ctx))
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "-", error)]
