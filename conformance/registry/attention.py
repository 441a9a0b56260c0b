"""Rows of ``scratchnn.attention`` (chapter 8): WeightSum, AttentionWeight, Attention, TimeAttention."""

from __future__ import annotations

from conformance.spec import Row

ROWS: tuple[Row, ...] = ()
