"""Rows of ``scratchnn.negative_sampling`` (chapter 4): EmbeddingDot, UnigramSampler, NegativeSamplingLoss."""

from __future__ import annotations

from conformance.spec import Row

ROWS: tuple[Row, ...] = ()
