"""Verdicts that hold up on learners' code: each slip of tests/harness/fixtures/slips is reported
once, under the check it belongs to, and the sound part of the class passes.

Every module holds one slip (an alias, a near-miss name, a foreign constructor, a misspelt or
missing protocol attribute, an argument modified in place, labels or a class count a layer
cannot take, a forward without return, a backward returning the wrong number or shape). The
correctness checks run on it as a learner would run them first (``--checks correctness``).
"""

from __future__ import annotations

import importlib

import pytest
from hypothesis import Phase, settings

import conformance.profiles  # noqa: F401  (registers the profiles)
from conformance.engine import MemorySink, Outcome, verify
from conformance.implementation import Implementation
from conformance.measurement import CORRECTNESS
from conformance.registry import ROWS_BY_NAME

CI = settings(settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
CHECKS = [c for c in CORRECTNESS if c != "sampling"]


def slips(module: str, **aliases: str) -> Implementation:
    return Implementation((importlib.import_module(f"tests.harness.fixtures.slips.{module}"),), aliases)


def verdicts(implementation: Implementation, row: str) -> dict[str, Outcome]:
    return {check: verify(ROWS_BY_NAME[row], check, implementation, MemorySink(), CI) for check in CHECKS}


def statuses(outcomes: dict[str, Outcome]) -> dict[str, str]:
    return {check: outcome.status for check, outcome in outcomes.items()}


def only_contract_fails(outcomes: dict[str, Outcome]) -> list[str]:
    """The targets contract fails on, after checking that every other check passed."""
    assert {c: s for c, s in statuses(outcomes).items() if c != "contract"} == dict.fromkeys(
        [c for c in CHECKS if c != "contract"], "pass"
    ), statuses(outcomes)
    assert outcomes["contract"].status == "fail"
    return sorted({m.target for m in outcomes["contract"].failing})


def test_the_first_books_relu_is_checked_and_its_in_place_dout_reported_under_contract() -> None:
    outcomes = verdicts(slips("alias_name"), "ReLU")
    assert only_contract_fails(outcomes) == ["no_mutation:dout"]
    detail = outcomes["contract"].failing[0].detail
    assert detail.startswith("dout modified by backward at [")


def test_a_near_miss_name_is_named_with_the_alias_that_selects_it() -> None:
    implementation = slips("near_miss_name")
    outcome = verify(ROWS_BY_NAME["SoftmaxWithLoss"], "gradient", implementation, MemorySink(), CI)
    assert outcome.status == "not_implemented"
    assert outcome.message == (
        "not implemented: found SoftMaxWithLoss in tests.harness.fixtures.slips.near_miss_name;"
        " run with --alias SoftmaxWithLoss=SoftMaxWithLoss"
    )
    aliased = verdicts(slips("near_miss_name", SoftmaxWithLoss="SoftMaxWithLoss"), "SoftmaxWithLoss")
    assert set(statuses(aliased).values()) == {"pass"}, statuses(aliased)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("Repeat", "signature mismatch: expected Repeat(repeats, axis), found Repeat(D: int, N: int)"),
        ("Sum", "signature mismatch: expected Sum(axis), found Sum(D: int, N: int)"),
    ],
)
def test_a_foreign_constructor_is_a_signature_mismatch_not_a_failure(row: str, expected: str) -> None:
    outcomes = verdicts(slips("foreign_constructor"), row)
    assert set(statuses(outcomes).values()) == {"signature_mismatch"}
    messages = {outcome.message for outcome in outcomes.values()}
    assert messages == {expected.replace(": int", "")}
    assert not any(outcome.failed for outcome in outcomes.values())


def test_a_misspelt_params_is_named_and_hides_no_gradient() -> None:
    outcomes = verdicts(slips("misspelt_params"), "Affine")
    assert only_contract_fails(outcomes) == ["params_grads"]
    assert outcomes["contract"].failing[0].detail == "no attribute params (found parmas)"


def test_missing_grads_leaves_the_input_gradient_checked_and_the_weights_unread() -> None:
    outcomes = verdicts(slips("missing_grads"), "Affine")
    for check in ("gradient", "finite_difference", "taylor", "float32"):
        assert outcomes[check].status == "partial", (check, outcomes[check].describe())
    assert outcomes["forward"].status == "pass"
    assert outcomes["contract"].status == "fail"
    assert {m.detail for m in outcomes["contract"].failing} == {"no attribute grads"}


def test_grads_as_an_array_is_read_and_named() -> None:
    outcomes = verdicts(slips("grads_array"), "MatMul")
    assert only_contract_fails(outcomes) == ["params_grads"]
    detail = outcomes["contract"].failing[0].detail
    assert detail.startswith("MatMul.grads is a float64 array of shape (")
    assert detail.endswith("), expected a list of arrays")


def test_an_input_modified_in_place_is_reported_under_contract_only() -> None:
    outcomes = verdicts(slips("in_place_input"), "Softmax")
    assert only_contract_fails(outcomes) == ["no_mutation:x"]
    assert outcomes["contract"].failing[0].detail.startswith("x modified by forward at [")


def test_one_hot_only_labels_fail_the_index_cases_and_pass_the_others() -> None:
    outcomes = verdicts(slips("one_hot_only"), "SoftmaxWithLoss")
    for check, outcome in outcomes.items():
        by_label = {case.values["labels"]: set() for case in outcome.cases}
        for case in outcome.cases:
            by_label[case.values["labels"]].add(case.status)
        assert by_label["one_hot"] == {"pass"}, (check, outcome.describe())
        assert "pass" not in by_label["indices"], (check, outcome.describe())


def test_the_books_loss_crashes_at_one_class_and_its_bias_shows_in_forward() -> None:
    outcomes = verdicts(slips("class_one_crash"), "SoftmaxWithLoss")
    gradient = outcomes["gradient"]
    for case in gradient.cases:
        crashes = case.values["classes"] == "one"  # labels read as one-hot twice: argmax of a 1-D array
        assert case.status == ("error" if crashes else "pass"), (case.case, case.cause)
        if crashes:
            assert case.cause.startswith("AxisError in forward: axis 1 is out of bounds")
    forward = outcomes["forward"]
    ordinary = [case for case in forward.cases if case.values["classes"] == "many"]
    assert all(case.status == "fail" for case in ordinary)
    assert all("loss: max rel err" in case.cause for case in ordinary)


def test_a_forward_without_return_is_reported_once_and_backward_still_checked() -> None:
    outcomes = verdicts(slips("forward_returns_none"), "Sigmoid")
    assert outcomes["forward"].status == "error"
    assert outcomes["forward"].cases[0].cause == (
        "Sigmoid.forward returned None; expected an array (is a return statement missing?)"
    )
    assert outcomes["gradient"].status == "pass"
    assert outcomes["float32"].status == "pass"
    assert outcomes["contract"].status == "pass"
    for check in ("finite_difference", "taylor"):
        assert outcomes[check].status == "unavailable"
        assert outcomes[check].cases[0].cause.endswith("(reported under forward)")


def test_a_backward_returning_one_gradient_of_two_is_reported_under_gradient() -> None:
    outcomes = verdicts(slips("wrong_count"), "Add")
    assert outcomes["forward"].status == "pass"
    assert outcomes["gradient"].status == "error"
    assert outcomes["gradient"].cases[0].cause.startswith("Add.backward returned a float64 array")
    assert outcomes["gradient"].cases[0].cause.endswith("; expected 2 (dx, dy)")
    for check in ("finite_difference", "taylor", "float32"):
        assert outcomes[check].status == "unavailable", (check, outcomes[check].describe())
    # contract still checks what needs no gradient (params and grads are empty, parallel lists)
    assert outcomes["contract"].status == "partial"


def test_a_gradient_of_the_wrong_shape_names_the_method() -> None:
    outcome = verify(ROWS_BY_NAME["Affine"], "gradient", slips("wrong_shape"), MemorySink(), CI)
    causes = {case.cause for case in outcome.cases}
    assert any(
        cause.startswith("dx: Affine.backward gave dx of shape (") and "; x has shape (" in cause
        for cause in causes
    ), causes
