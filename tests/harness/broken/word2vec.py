"""Deliberately broken classes of the word2vec chapters (2 to 4): negative sampling layers and models."""

from __future__ import annotations

from tests.harness.broken.variant import Variant

VARIANTS: tuple[Variant, ...] = ()

CORRECT_ALTERNATIVES: tuple[Variant, ...] = ()
