"""Rows of the sequence-to-sequence models of ``scratchnn.models`` (chapters 7 and 8)."""

from __future__ import annotations

from conformance.spec import Row

ROWS: tuple[Row, ...] = ()
