"""Runs one check of one row over Hypothesis-generated examples.

:func:`verify` is the whole harness for one (row, check) pair: it draws
examples, materialises them, runs the check, hands every measurement to a
sink as it happens, and returns an :class:`Outcome`. The pytest suite and the
harness's own tests both call it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from conformance import interrupt
from conformance.checks import CHECKS, Context, regimes_for
from conformance.examples import materialize
from conformance.implementation import Implementation
from conformance.measurement import FAILING, Measurement
from conformance.spec import Draw, Row
from conformance.strategies import draw_example_spec


class Sink(Protocol):
    def measurement(self, measurement: Measurement) -> None: ...

    def outcome(self, outcome: Outcome) -> None: ...


class MemorySink:
    """Keeps everything in lists (for the harness's own tests and ``replay``)."""

    def __init__(self) -> None:
        self.measurements: list[Measurement] = []
        self.outcomes: list[Outcome] = []

    def measurement(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)

    def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


@dataclass
class Outcome:
    """How one (row, check) ended: pass, fail, error, not_implemented or skipped."""

    layer: str
    check: str
    status: str
    examples: int
    message: str = ""
    reproduce: str = ""
    failing: list[Measurement] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "outcome",
            "layer": self.layer,
            "check": self.check,
            "status": self.status,
            "examples": self.examples,
            "message": self.message,
            "reproduce": self.reproduce,
            "seconds": round(self.seconds, 4),
        }


class CheckFailed(AssertionError):
    """Raised inside the Hypothesis test so that it shrinks to a minimal failing example."""

    def __init__(self, failing: list[Measurement]) -> None:
        self.failing = failing
        super().__init__(describe_all(failing))


def describe_all(measurements: Iterable[Measurement], limit: int = 4) -> str:
    shown = list(measurements)
    text = "\n".join(m.describe() for m in shown[:limit])
    if len(shown) > limit:
        text += f"\n... and {len(shown) - limit} more failing measurement(s) on this example"
    return text


def verify(
    row: Row,
    check: str,
    implementation: Implementation,
    sink: Sink,
    hypothesis_settings: settings | None = None,
) -> Outcome:
    """Check ``row`` with ``check`` on examples drawn under ``hypothesis_settings``
    (default: the loaded profile); every measurement goes to ``sink``."""
    start = time.perf_counter()
    outcome = _verify(row, check, implementation, sink, hypothesis_settings)
    outcome.seconds = time.perf_counter() - start
    sink.outcome(outcome)
    return outcome


def _verify(
    row: Row, check: str, implementation: Implementation, sink: Sink, chosen: settings | None
) -> Outcome:
    run_check = CHECKS[check]
    cls = implementation.find(row.name)
    if cls is None:
        sink.measurement(
            Measurement(
                row.name,
                check,
                "-",
                "-",
                "not_implemented",
                impl=implementation.spec,
                detail=f"no class {row.name} in {implementation.spec}",
            )
        )
        return Outcome(
            row.name, check, "not_implemented", 0, f"{row.name} is not implemented by {implementation.spec}"
        )
    if check in row.not_applicable:
        reason = row.not_applicable[check]
        sink.measurement(
            Measurement(row.name, check, "-", "-", "skipped", impl=implementation.spec, detail=reason)
        )
        return Outcome(row.name, check, "skipped", 0, f"{check} does not apply to {row.name}: {reason}")
    examples = 0
    regimes = regimes_for(check, row.regimes)

    def body(data: st.DataObject) -> None:
        nonlocal examples
        interrupt.raise_if_requested()
        example = materialize(row, draw_example_spec(row, Draw(data), regimes))
        measurements = run_check(Context(row, cls, example, implementation.spec))
        examples += 1
        for measurement in measurements:
            sink.measurement(measurement)
        failing = [m for m in measurements if m.failed]
        if failing:
            raise CheckFailed(failing)

    # A distinct name per (row, check): Hypothesis derives derandomized seeds and
    # database keys from it, and prints it in the falsifying example.
    body.__name__ = body.__qualname__ = f"{row.name}_{check}"
    test = given(data=st.data())(body)
    if chosen is not None:
        test = chosen(test)
    try:
        test()
    except CheckFailed as failure:
        status = "error" if all(m.status == "error" for m in failure.failing) else "fail"
        notes = getattr(failure, "__notes__", [])
        reproduce = "\n".join(n.strip() for n in notes if "reproduce_failure" in n)
        falsifying = "\n".join(n for n in notes if "reproduce_failure" not in n)
        message = f"{failure}\n{falsifying}".rstrip()
        return Outcome(row.name, check, status, examples, message, reproduce, failure.failing)
    except HypothesisException as error:
        message = f"Hypothesis stopped the run: {type(error).__name__}: {error}"
        return _crashed(row, check, implementation, sink, examples, message)
    except Exception as error:
        # Not a verdict on the implementation: the harness itself failed on this example.
        # Reported as an error with its traceback, never lost and never shown as "not run".
        trace = "".join(traceback.format_exception(error)).rstrip()
        message = f"the harness raised while checking:\n{trace}"
        return _crashed(row, check, implementation, sink, examples, message)
    return Outcome(row.name, check, "pass", examples)


def _crashed(
    row: Row, check: str, implementation: Implementation, sink: Sink, examples: int, message: str
) -> Outcome:
    failure = Measurement(row.name, check, "-", "-", "error", impl=implementation.spec, detail=message)
    sink.measurement(failure)
    return Outcome(row.name, check, "error", examples, message, failing=[failure])
