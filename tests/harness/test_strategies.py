"""What the ci profile actually draws: the example space DESIGN.md §4 asks for."""

from __future__ import annotations

import re
import types
from typing import Any

import pytest
from hypothesis import settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance.engine import MemorySink, verify
from conformance.implementation import Implementation
from conformance.registry import ROWS_BY_NAME
from conformance.settings import DEFAULT_MAX_SIZE, MAX_SIZE_ENV
from tests.harness.broken_layers import VARIANTS

CI = settings.get_profile("ci")


def drawn_examples(row: str, check: str = "forward") -> list[dict[str, Any]]:
    sink = MemorySink()
    verify(ROWS_BY_NAME[row], check, Implementation((scratchnn,)), sink, CI)
    seen = {repr(m.example): m.example for m in sink.measurements}
    return list(seen.values())


def test_affine_examples_cover_batches_and_square_weights() -> None:
    examples = drawn_examples("Affine")
    batches = [e["dims"]["N"] for e in examples]
    assert sum(n > 1 for n in batches) >= 0.6 * len(batches), "N > 1 must be common"
    assert 1 in batches, "a batch of one must be possible"
    assert any(e["dims"]["D"] == e["dims"]["H"] for e in examples), "square weights must be drawn"
    assert any(e["dims"]["D"] != e["dims"]["H"] for e in examples)
    assert any(1 in (e["dims"]["D"], e["dims"]["H"]) for e in examples), "size-1 features must be drawn"
    sizes = [v for e in examples for v in e["dims"].values()]
    assert max(sizes) <= DEFAULT_MAX_SIZE
    assert len(examples) >= 40, "the ci profile must not collapse onto a few examples"


def test_losses_draw_both_label_formats_and_extreme_logits() -> None:
    examples = drawn_examples("SoftmaxWithLoss")
    assert {e["labels"] for e in examples} == {"indices", "one_hot"}
    assert {e["regime"] for e in examples} == {"moderate", "zeros", "extreme"}


def test_extreme_values_stay_out_of_consistency_checks() -> None:
    assert {e["regime"] for e in drawn_examples("Softmax", "taylor")} == {"moderate", "zeros"}
    assert "extreme" in {e["regime"] for e in drawn_examples("Softmax", "float32")}


def test_every_row_draws_exact_zeros() -> None:
    # ReLU's kink, and the 0/0 of a careless backward, sit at exactly 0.
    for row in ("ReLU", "Tanh", "Affine", "SoftmaxWithLoss"):
        assert "zeros" in {e["regime"] for e in drawn_examples(row)}, row


def test_softmax_draws_every_rank_up_to_four() -> None:
    ranks = {len(e["dims"]["S"]) for e in drawn_examples("Softmax")}
    assert ranks == {1, 2, 3, 4}


def test_one_setting_caps_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_SIZE_ENV, "3")
    for row in ("Affine", "Softmax", "TwoLayerNet", "Repeat"):
        for example in drawn_examples(row):
            sizes = [
                v
                for value in example["dims"].values()
                for v in (value if isinstance(value, list) else [value])
            ]
            dims = {k: v for k, v in example["dims"].items() if k != "axis"}
            assert all(
                v <= 3 for value in dims.values() for v in (value if isinstance(value, list) else [value])
            ), (
                row,
                sizes,
            )


def test_every_draw_is_labelled_in_the_falsifying_example() -> None:
    variant = next(v for v in VARIANTS if v.id == "affine-missing-transpose")
    module = types.ModuleType("learner")
    module.Affine = variant.as_learner_class()  # type: ignore[attr-defined]
    outcome = verify(ROWS_BY_NAME["Affine"], "gradient", Implementation((module,)), MemorySink(), CI)
    draws = re.findall(r"^Draw \d+.*$", outcome.message, flags=re.MULTILINE)
    assert draws, outcome.message
    assert all(re.match(r"Draw \d+ \([^)]+\):", line) for line in draws), draws
    assert "@reproduce_failure" in outcome.reproduce
