"""Runs one check of one row, case by case, over Hypothesis-generated examples.

:func:`verify` is the whole harness for one (row, check) pair: it resolves the
class, then for every case of the row runs a Hypothesis test of its own (so a
failure in one case never stops the others from being tried), hands every
measurement to a sink as it happens, and returns an :class:`Outcome` whose
status is the worst of its cases'. The pytest suite and the harness's own tests
both call it.

Counts mean examples: an example is one draw checked during generation. When a
case fails, Hypothesis shrinks it; shrinking attempts are counted apart and
their measurements are not recorded, except the final, minimal failing
example's, which the engine records itself (marked ``minimal``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from conformance import interrupt, invoke
from conformance.cases import Case
from conformance.checks import CHECKS, Context
from conformance.dims import Draw, draw_dims
from conformance.examples import materialize
from conformance.explain import explain
from conformance.implementation import Implementation, SignatureMismatch
from conformance.measurement import FAILING, Measurement, worst_status
from conformance.spec import ExampleSpec, Row


class Sink(Protocol):
    def measurement(self, measurement: Measurement) -> None: ...

    def case(self, outcome: CaseOutcome) -> None: ...

    def outcome(self, outcome: Outcome) -> None: ...


class MemorySink:
    """Keeps everything in lists (for the harness's own tests and ``replay``)."""

    def __init__(self) -> None:
        self.measurements: list[Measurement] = []
        self.cases: list[CaseOutcome] = []
        self.outcomes: list[Outcome] = []

    def measurement(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)

    def case(self, outcome: CaseOutcome) -> None:
        self.cases.append(outcome)

    def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


@dataclass
class CaseOutcome:
    """How one case of one (row, check) ended."""

    layer: str
    check: str
    case: str  # its text: "rank 2 · moderate"
    values: dict[str, Any]
    status: str
    examples: int = 0
    shrinks: int = 0
    message: str = ""
    reproduce: str = ""
    failing: list[Measurement] = field(default_factory=list)  # the minimal failing example's
    seconds: float = 0.0
    noted: Measurement | None = None  # the first measurement that could not be read (unavailable)

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    @property
    def cause(self) -> str:
        """One line: why the case did not pass (its first failing measurement's detail, or what
        could not be read)."""
        if not self.failing:
            if self.noted is not None:
                target = f"{self.noted.target}: " if self.noted.target != "-" else ""
                return target + self.noted.detail
            return self.message.splitlines()[0] if self.message else ""
        first = self.failing[0]
        cause = _cause_of(first)
        if first.diagnosis and first.diagnosis["entry"] is not None:
            cause += f"; likely cause: {first.diagnosis['text']}"
        elif first.diagnosis:
            cause += f"; {first.diagnosis['text']}"
        return cause

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "case",
            "layer": self.layer,
            "check": self.check,
            "case": self.case,
            "values": self.values,
            "status": self.status,
            "examples": self.examples,
            "shrinks": self.shrinks,
            "cause": self.cause if self.status not in ("pass",) else "",
            "message": self.message,
            "reproduce": self.reproduce,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class Outcome:
    """How one (row, check) ended: the worst of its cases, or a status that needed no example
    (not implemented, signature mismatch, not applicable)."""

    layer: str
    check: str
    status: str
    cases: list[CaseOutcome] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    @property
    def examples(self) -> int:
        return sum(case.examples for case in self.cases)

    @property
    def failing(self) -> list[Measurement]:
        return [m for case in self.cases for m in case.failing]

    @property
    def reproduce(self) -> str:
        return "\n".join(case.reproduce for case in self.cases if case.reproduce)

    def case_lines(self) -> list[str]:
        """``rank 1 · moderate: ERROR AxisError in backward at layers.py:57``, one per case, when
        the check did not pass."""
        return [
            f"{case.case}: {case.status.upper()}" + (f" {case.cause}" if case.cause else "")
            for case in self.cases
        ]

    def describe(self) -> str:
        """The terminal message of a check that did not pass: its cases, then each failing
        case's minimal example."""
        lines = [f"{self.layer} · {self.check}: {self.status.upper()}"]
        if self.message:
            lines.append(self.message)
        lines += [f"  {line}" for line in self.case_lines()]
        for case in self.cases:
            if case.failed:
                lines.append(case.message)
                if case.reproduce:
                    lines.append(case.reproduce)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "outcome",
            "layer": self.layer,
            "check": self.check,
            "status": self.status,
            "cases": len(self.cases),
            "examples": self.examples,
            "shrinks": sum(case.shrinks for case in self.cases),
            "message": self.message,
            "seconds": round(self.seconds, 4),
        }


def _cause_of(first: Measurement) -> str:
    """One line of a failing measurement: the numbers, then the detail."""
    if first.target == "-":
        return first.detail
    if first.check == "taylor" and first.slope is not None:
        return f"{first.target}: Taylor slope {first.slope:.2f}, a wrong gradient's (a right one gives 2)"
    if first.max_rel_err is not None and first.tolerance is not None:
        if first.max_rel_err <= first.tolerance and first.detail:  # right values, wrong otherwise
            within = f"max rel err {first.max_rel_err:.2e} within tolerance {first.tolerance:.2e}"
            return f"{first.target}: {first.detail} ({within})"
        numbers = f"max rel err {first.max_rel_err:.2e} > tolerance {first.tolerance:.2e}"
        return f"{first.target}: {numbers}" + (f" ({first.detail})" if first.detail else "")
    return f"{first.target}: {first.detail}" if first.detail else first.target


class CheckFailed(AssertionError):
    """Raised inside the Hypothesis test so that it shrinks to a minimal failing example."""

    def __init__(self, measurements: list[Measurement], spec: ExampleSpec) -> None:
        self.measurements = measurements
        self.spec = spec
        self.failing = [m for m in measurements if m.failed]
        super().__init__(describe_all(self.failing))


def describe_all(measurements: Iterable[Measurement], limit: int = 4) -> str:
    shown = list(measurements)
    text = "\n".join(m.describe() for m in shown[:limit])
    if len(shown) > limit:
        text += f"\n... and {len(shown) - limit} more failing measurement(s) on this example"
    return text


SHRINK_BUDGET = 40
"""Checks run while shrinking one case. Past it, every example not seen yet is taken as
passing (without running the check), so Hypothesis stops making progress and ends with the
smallest failing example found so far; an example seen before gives the same answer again,
so the search stays consistent. Without a budget, a layer failing in many cases spent about
290 check runs shrinking each (17,000 against 700 examples in a run of the book's Softmax)."""


def examples_per_case(chosen: settings, cases: int) -> int:
    """Each case gets its share of the profile's examples, and never fewer than a tenth of
    them (at least 2): ``ci`` (60) gives 6 to 60 examples per case."""
    total = int(chosen.max_examples)
    return max(math.ceil(total / max(cases, 1)), max(2, total // 10))


def verify(
    row: Row,
    check: str,
    implementation: Implementation,
    sink: Sink,
    hypothesis_settings: settings | None = None,
) -> Outcome:
    """Check ``row`` with ``check`` on every case, each on examples drawn under
    ``hypothesis_settings`` (default: the loaded profile); every measurement goes to ``sink``."""
    start = time.perf_counter()
    outcome = _verify(row, check, implementation, sink, hypothesis_settings or settings())
    outcome.seconds = time.perf_counter() - start
    sink.outcome(outcome)
    return outcome


def _verify(row: Row, check: str, implementation: Implementation, sink: Sink, chosen: settings) -> Outcome:
    module = CHECKS[check]
    resolution = implementation.resolve(row)
    if resolution.cls is None:
        return _without_examples(row, check, implementation, sink, resolution.status, resolution.message)
    reason = (
        row.skip_reason(check)
        or module.applies(row)
        or invoke.fixed_weights_dtype(row, resolution.cls, module.dtype)
    )
    if reason:
        return _without_examples(row, check, implementation, sink, "skipped", f"not applicable: {reason}")
    cases = row.cases(module.REGIMES)
    per_case = settings(chosen, max_examples=examples_per_case(chosen, len(cases)))
    outcomes: list[tuple[CaseOutcome, _MinimalFailure | None]] = []
    for case in cases:
        skipped = row.convention.case_skip(check, case)
        if skipped:
            outcomes.append(
                (CaseOutcome(row.name, check, case.text, case.to_json(), "skipped", message=skipped), None)
            )
            continue
        try:
            outcomes.append(
                _verify_case(row, check, case, resolution.cls, implementation.spec, sink, per_case)
            )
        except SignatureMismatch as mismatch:
            return _without_examples(row, check, implementation, sink, "signature_mismatch", str(mismatch))
    # The likely causes, from every failing case at once: a cause must explain them all.
    failures = [failure for _, failure in outcomes if failure is not None]
    explain(row, resolution.cls, check, [(materialize(row, f.spec), f.failed) for f in failures])
    for case_outcome, failure in outcomes:
        if failure is not None:
            for measurement in failure.measurements:
                sink.measurement(measurement)
            case_outcome.message = f"{describe_all(failure.failed)}\n{failure.falsifying}".rstrip()
        sink.case(case_outcome)
    status = worst_status(case.status for case, _ in outcomes)
    return Outcome(row.name, check, status, [case for case, _ in outcomes])


@dataclasses.dataclass
class _MinimalFailure:
    """A case's minimal failing example, held back until the likely causes are known."""

    measurements: list[Measurement]  # every measurement of the example, marked minimal
    spec: ExampleSpec
    falsifying: str  # Hypothesis's notes on it

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if m.failed]


def _without_examples(
    row: Row, check: str, implementation: Implementation, sink: Sink, status: str, message: str
) -> Outcome:
    sink.measurement(Measurement(row.name, check, "-", "-", status, impl=implementation.spec, detail=message))
    return Outcome(row.name, check, status, [], message)


def _verify_case(
    row: Row, check: str, case: Case, cls: type, impl: str, sink: Sink, chosen: settings
) -> tuple[CaseOutcome, _MinimalFailure | None]:
    """The case's outcome, and its minimal failing example (not yet sent to ``sink``) if it
    failed."""
    run_check = CHECKS[check].run
    start = time.perf_counter()
    counts = {"examples": 0, "shrinks": 0}
    statuses: set[str] = set()
    failed_once = False
    failing: dict[str, tuple[list[Measurement], ExampleSpec]] = {}  # examples seen failing
    passing: set[str] = set()  # examples seen passing while shrinking
    noted: list[Measurement] = []  # the first measurement that could not be read

    def body(data: st.DataObject) -> None:
        nonlocal failed_once
        interrupt.raise_if_requested()
        draw = Draw(data)
        dims = draw_dims(row.dims, draw, case)
        seed = int(draw(st.integers(min_value=0, max_value=2**32 - 1), "seed"))
        spec = ExampleSpec(dims, case, seed)
        key = json.dumps(spec.to_json(), sort_keys=True)
        if failed_once and (key in passing or (key not in failing and counts["shrinks"] >= SHRINK_BUDGET)):
            return
        if key not in failing:
            measurements = run_check(Context(row, cls, materialize(row, spec), impl))
            if failed_once:
                counts["shrinks"] += 1
            else:
                counts["examples"] += 1
                for measurement in measurements:
                    sink.measurement(measurement)
                statuses.update(m.status for m in measurements)
                if not noted:
                    noted.extend(m for m in measurements if m.status == "unavailable")
            if not any(m.failed for m in measurements):
                if failed_once:
                    passing.add(key)
                return
            failed_once = True
            failing[key] = (measurements, spec)
        # One raise for fresh and remembered failures: Hypothesis tells failures apart by where
        # they are raised.
        raise CheckFailed(*failing[key])

    # A distinct name per (row, check, case): Hypothesis derives derandomized seeds and
    # database keys from it, and prints it in the falsifying example.
    body.__name__ = body.__qualname__ = f"{row.name}_{check}_{case.slug}"
    test = chosen(given(data=st.data())(body))
    outcome = CaseOutcome(row.name, check, case.text, case.to_json(), "pass")
    minimal_failure = None
    try:
        test()
        outcome.status = worst_status(statuses) if statuses else "pass"
    except CheckFailed as failure:
        # The minimal example, recorded once more (with the likely causes, once known).
        minimal = [dataclasses.replace(m, minimal=True) for m in failure.measurements]
        notes = getattr(failure, "__notes__", [])
        falsifying = "\n".join(n for n in notes if "reproduce_failure" not in n)
        minimal_failure = _MinimalFailure(minimal, failure.spec, falsifying)
        outcome.status = worst_status(m.status for m in minimal_failure.failed)
        outcome.failing = minimal_failure.failed
        outcome.reproduce = "\n".join(n.strip() for n in notes if "reproduce_failure" in n)
    except SignatureMismatch:
        raise
    except HypothesisException as error:
        outcome.status, outcome.message = (
            "error",
            f"Hypothesis stopped the run: {type(error).__name__}: {error}",
        )
        _crashed(row, check, case, impl, sink, outcome)
    except Exception as error:
        # Not a verdict on the implementation: the harness itself failed on this example.
        # Reported as an error with its traceback, never lost and never shown as "not run".
        trace = "".join(traceback.format_exception(error)).rstrip()
        outcome.status, outcome.message = "error", f"the harness raised while checking:\n{trace}"
        _crashed(row, check, case, impl, sink, outcome)
    outcome.examples, outcome.shrinks = counts["examples"], counts["shrinks"]
    outcome.noted = noted[0] if noted else None
    outcome.seconds = time.perf_counter() - start
    return outcome, minimal_failure


def _crashed(row: Row, check: str, case: Case, impl: str, sink: Sink, outcome: CaseOutcome) -> None:
    failure = Measurement(
        row.name, check, "-", "-", "error", case=case.text, impl=impl, detail=outcome.message
    )
    sink.measurement(failure)
    outcome.failing = [failure]
