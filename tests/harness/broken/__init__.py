"""The catalog of deliberately broken classes, one module per scratchnn module (each with its
``VARIANTS`` and ``CORRECT_ALTERNATIVES``), gathered here for the harness's tests."""

from __future__ import annotations

from tests.harness.broken import layers, seq2seq, time_layers, word2vec
from tests.harness.broken.variant import Variant

MODULES = (layers, word2vec, time_layers, seq2seq)

VARIANTS: tuple[Variant, ...] = tuple(v for module in MODULES for v in module.VARIANTS)
"""Every broken variant: each names the checks that must catch it under the ``ci`` profile."""

CORRECT_ALTERNATIVES: tuple[Variant, ...] = tuple(
    v for module in MODULES for v in module.CORRECT_ALTERNATIVES
)
"""Right implementations that differ from scratchnn where the math allows it: no check may fail them."""

__all__ = ["CORRECT_ALTERNATIVES", "VARIANTS", "Variant"]
