"""Rows of the language models of ``scratchnn.models`` (chapters 5 and 6): SimpleRnnlm, Rnnlm, BetterRnnlm."""

from __future__ import annotations

from conformance.spec import Row

ROWS: tuple[Row, ...] = ()
