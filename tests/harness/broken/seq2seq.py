"""Deliberately broken classes of the attention layers and sequence-to-sequence models (chapters 7 and 8)."""

from __future__ import annotations

from tests.harness.broken.variant import Variant

VARIANTS: tuple[Variant, ...] = ()

CORRECT_ALTERNATIVES: tuple[Variant, ...] = ()
