"""The harness catches every deliberately broken variant, names the check that caught it, and
says in which cases.

Each variant is run through the harness as the implementation under test (a
module holding just the broken class), with the ``ci`` profile's examples. The
shrink phase is left out: it changes which failing example is reported, not
whether one is found. The control: correct scratchnn passes every check the
catalog relies on, under the same settings.
"""

from __future__ import annotations

import types

import pytest
from hypothesis import Phase, settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance.checks import CHECKS
from conformance.engine import MemorySink, verify
from conformance.explain import COMPARED
from conformance.implementation import Implementation
from conformance.registry import ROWS_BY_NAME
from tests.harness.broken import CORRECT_ALTERNATIVES, VARIANTS, Variant

CI_WITHOUT_SHRINKING = settings(settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])


def implementation_of(variant: Variant) -> Implementation:
    module = types.ModuleType(f"broken_{variant.id.replace('-', '_')}")
    setattr(module, variant.row, variant.as_learner_class())
    return Implementation((module,))


def test_the_catalog_is_large_and_covers_every_row() -> None:
    assert len(VARIANTS) >= 30
    assert len({v.id for v in VARIANTS}) == len(VARIANTS)
    sampled = {name for name, row in ROWS_BY_NAME.items() if row.sampling is not None and not row.params}
    assert {v.row for v in VARIANTS} >= set(ROWS_BY_NAME) - sampled


CASES = [
    pytest.param(variant, check, id=f"{variant.id}-caught-by-{check}")
    for variant in VARIANTS
    for check in variant.caught_by
]


@pytest.mark.parametrize(("variant", "check"), CASES)
def test_variant_is_caught(variant: Variant, check: str) -> None:
    sink = MemorySink()
    outcome = verify(ROWS_BY_NAME[variant.row], check, implementation_of(variant), sink, CI_WITHOUT_SHRINKING)
    assert outcome.status in ("fail", "error"), f"{variant.id} ({variant.bug}) escaped the {check} check"
    assert outcome.failing, "a failed outcome carries its failing measurements"
    assert all(m.layer == variant.row and m.check == check for m in outcome.failing)
    message = outcome.describe()
    assert message.startswith(f"{variant.row} · {check}: ")
    by_case = {case.case: case.status for case in outcome.cases}
    for case in variant.breaks:
        assert by_case[case] in ("fail", "error"), f"{variant.id}: case {case} reads {by_case[case]}"
    for case in variant.holds:
        assert by_case[case] == "pass", (
            f"{variant.id}: case {case} reads {by_case[case]}, the bug is elsewhere"
        )
    if check in COMPARED:
        reported = {m.diagnosis["entry"] for m in outcome.failing if m.diagnosis and m.diagnosis["entry"]}
        wrong = reported - variant.diagnoses
        assert not wrong, f"{variant.id} ({variant.bug}) diagnosed as {sorted(wrong)}:\n{message}"
        missing = variant.diagnoses - reported
        assert not missing, f"{variant.id}: no {sorted(missing)} diagnosis:\n{message}"


def test_most_bugs_of_the_family_get_the_right_diagnosis() -> None:
    """The share is read off the declarations, which test_variant_is_caught holds every variant
    to: a declared diagnosis is reported by each output or gradient check that catches it, and
    a variant declared without one gets none (a wrong diagnosis is worse than none)."""
    family = [v for v in VARIANTS if v.family]
    right = [v for v in family if v.diagnoses]
    missed = sorted(v.id for v in family if not v.diagnoses)
    share = len(right) / len(family)
    print(
        f"\nright diagnosis: {len(right)} of {len(family)} variants of the family ({share:.0%}); "
        f"wrong: 0; none: {', '.join(missed)}"
    )
    assert share >= 0.7, f"only {share:.0%} of the family's variants get the right diagnosis; missed {missed}"


CONTROL = sorted({(variant.row, check) for variant in VARIANTS for check in variant.caught_by})


@pytest.mark.parametrize(("row", "check"), CONTROL, ids=[f"{r}-{c}" for r, c in CONTROL])
def test_correct_scratchnn_passes_the_same_checks(row: str, check: str) -> None:
    outcome = verify(
        ROWS_BY_NAME[row], check, Implementation((scratchnn,)), MemorySink(), CI_WITHOUT_SHRINKING
    )
    assert outcome.status == "pass", outcome.describe()


@pytest.mark.parametrize("variant", CORRECT_ALTERNATIVES, ids=[v.id for v in CORRECT_ALTERNATIVES])
@pytest.mark.parametrize("check", list(CHECKS))
def test_a_correct_alternative_is_not_a_false_alarm(variant: Variant, check: str) -> None:
    outcome = verify(
        ROWS_BY_NAME[variant.row], check, implementation_of(variant), MemorySink(), CI_WITHOUT_SHRINKING
    )
    assert outcome.status in ("pass", "skipped"), outcome.describe()
