"""Rows of the word2vec models of ``scratchnn.models`` (chapters 3 and 4):
SimpleCBOW, SimpleSkipGram, CBOW, SkipGram."""

from __future__ import annotations

from conformance.spec import Row

ROWS: tuple[Row, ...] = ()
