"""Cases and what the ci profile draws in each: the example space DESIGN.md §4 asks for."""

from __future__ import annotations

import re
import types
from typing import Any

import pytest
from hypothesis import settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance.engine import MemorySink, examples_per_case, verify
from conformance.implementation import Implementation
from conformance.registry import ROWS_BY_NAME
from conformance.settings import CAPS_ENV, DEFAULT_MAX_SIZE, MAX_SIZE_ENV, PROFILE_ENV, cap
from tests.harness.broken import VARIANTS

CI = settings.get_profile("ci")


def drawn(row: str, check: str = "forward") -> list[dict[str, Any]]:
    """The distinct examples (dims, case, seed) the check drew, over all cases."""
    sink = MemorySink()
    verify(ROWS_BY_NAME[row], check, Implementation((scratchnn,)), sink, CI)
    seen = {repr(m.example): m.example for m in sink.measurements if m.example}
    return list(seen.values())


def case_texts(row: str, check: str = "forward") -> set[str]:
    sink = MemorySink()
    verify(ROWS_BY_NAME[row], check, Implementation((scratchnn,)), sink, CI)
    return {case.case for case in sink.cases}


def test_affine_cases_are_a_batch_of_one_and_a_batch_of_many() -> None:
    examples = drawn("Affine")
    batches = [e["dims"]["N"] for e in examples]
    ones = [e for e in examples if e["case"]["batch"] == "one"]
    assert ones
    assert all(e["dims"]["N"] == 1 for e in ones)
    assert all(n > 1 for e, n in zip(examples, batches, strict=True) if e["case"]["batch"] == "many")
    assert any(e["dims"]["D"] == e["dims"]["H"] for e in examples), "square weights must be drawn"
    assert any(e["dims"]["D"] != e["dims"]["H"] for e in examples)
    assert any(1 in (e["dims"]["D"], e["dims"]["H"]) for e in examples), "size-1 features must be drawn"
    assert max(v for e in examples for v in e["dims"].values()) <= DEFAULT_MAX_SIZE
    assert case_texts("Affine") == {"N>1 · moderate", "N>1 · zeros", "N=1 · moderate", "N=1 · zeros"}


def test_every_case_gets_its_own_examples() -> None:
    sink = MemorySink()
    outcome = verify(ROWS_BY_NAME["SoftmaxWithLoss"], "gradient", Implementation((scratchnn,)), sink, CI)
    assert len(outcome.cases) == 16  # batch x classes x labels x regime
    per_case = examples_per_case(CI, 16)
    assert per_case >= 6
    assert all(case.examples == per_case for case in outcome.cases), [c.examples for c in outcome.cases]
    assert outcome.examples == sum(case.examples for case in outcome.cases)


def test_losses_have_label_formats_and_degenerate_cases() -> None:
    texts = case_texts("SoftmaxWithLoss")
    assert "N=1 · C=1 · one-hot · moderate" in texts
    assert "N>1 · C>1 · indices · zeros" in texts
    examples = drawn("SoftmaxWithLoss")
    assert {e["case"]["labels"] for e in examples} == {"indices", "one_hot"}
    assert all(e["dims"]["C"] == 1 for e in examples if e["case"]["classes"] == "one")


def test_extreme_values_live_in_the_stability_check_only() -> None:
    for check in ("forward", "gradient", "taylor", "float32", "contract"):
        assert {e["case"]["regime"] for e in drawn("Softmax", check)} == {"moderate", "zeros"}, check
    assert {e["case"]["regime"] for e in drawn("Softmax", "stability")} == {"extreme"}


def test_every_row_with_real_inputs_draws_exact_zeros() -> None:
    # ReLU's kink, and the 0/0 of a careless backward, sit at exactly 0.
    for row in ("ReLU", "Tanh", "Affine", "SoftmaxWithLoss"):
        assert "zeros" in {e["case"]["regime"] for e in drawn(row)}, row


def test_softmax_has_a_case_for_every_rank_up_to_four() -> None:
    ranks = {len(e["dims"]["S"]) for e in drawn("Softmax")}
    assert ranks == {1, 2, 3, 4}
    assert all(len(e["dims"]["S"]) == e["case"]["rank"] for e in drawn("Softmax"))


def test_one_setting_caps_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_SIZE_ENV, "3")
    for row in ("Affine", "Softmax", "TwoLayerNet", "Repeat"):
        for example in drawn(row):
            sizes = {k: v for k, v in example["dims"].items() if k != "axis"}
            assert all(
                n <= 3 for value in sizes.values() for n in (value if isinstance(value, list) else [value])
            ), (row, sizes)


def test_caps_per_class_of_dimension_follow_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, "ci")
    assert (cap("size"), cap("time"), cap("vocab")) == (8, 4, 12)
    monkeypatch.setenv(PROFILE_ENV, "thorough")
    assert cap("time") > 4
    monkeypatch.setenv(CAPS_ENV, "time=6")
    assert cap("time") == 6
    monkeypatch.setenv(MAX_SIZE_ENV, "2")
    assert cap("time") == 2
    monkeypatch.setenv(CAPS_ENV, "weird=6")
    with pytest.raises(ValueError, match="CLASS=N"):
        cap("time")


def test_every_draw_is_labelled_in_the_falsifying_example() -> None:
    variant = next(v for v in VARIANTS if v.id == "affine-missing-transpose")
    module = types.ModuleType("learner")
    module.Affine = variant.as_learner_class()  # type: ignore[attr-defined]
    outcome = verify(ROWS_BY_NAME["Affine"], "gradient", Implementation((module,)), MemorySink(), CI)
    message = outcome.describe()
    draws = re.findall(r"^Draw \d+.*$", message, flags=re.MULTILINE)
    assert draws, message
    assert all(re.match(r"Draw \d+ \([^)]+\):", line) for line in draws), draws
    assert "@reproduce_failure" in outcome.reproduce
