"""One measurement: what one check found for one gradient (or output) on one example.

Measurements are what the records store and the reports aggregate; their
:meth:`Measurement.describe` is the one failure-message format of the harness.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

from conformance.numerics import Comparison

CORRECTNESS = ("forward", "gradient", "finite_difference", "taylor", "float32", "contract", "sampling")
"""Checks that say whether the layer computes the right thing (run these first on your own code)."""

ROBUSTNESS = ("stability", "bad_input")
"""Checks that say whether it keeps doing so at extreme values and refuses bad input."""

CHECK_NAMES = (*CORRECTNESS, *ROBUSTNESS)
"""Every check, in report order (``conformance.checks.CHECKS`` follows it)."""

GROUPS = {"correctness": CORRECTNESS, "robustness": ROBUSTNESS}


def select_checks(spec: str) -> tuple[str, ...]:
    """``correctness``, ``robustness``, ``all`` or a comma-separated list of check names."""
    chosen: list[str] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part == "all":
            chosen += CHECK_NAMES
        elif part in GROUPS:
            chosen += GROUPS[part]
        elif part in CHECK_NAMES:
            chosen.append(part)
        else:
            known = ", ".join(["all", *GROUPS, *CHECK_NAMES])
            raise ValueError(f"unknown check {part!r}; choose from {known}")
    if not chosen:
        raise ValueError("no check selected; choose from correctness, robustness, all or check names")
    return tuple(name for name in CHECK_NAMES if name in chosen)


FAILING = ("fail", "error")
"""The statuses that make a check, a row and a run fail."""

STATUS_ORDER = (
    "fail",
    "error",
    "partial",
    "unavailable",
    "pass",
    "skipped",
    "signature_mismatch",
    "not_implemented",
)
"""Worst first. ``partial``: some targets passed and others could not be read (a protocol
defect, reported under ``contract``); ``unavailable``: none could; ``skipped``: does not
apply; ``signature_mismatch``: the class's constructor does not take the row's arguments."""


def worst_status(statuses: Iterable[str]) -> str:
    """The status of a group of measurements, cases or checks: the worst of them, except that
    passes mixed with unreadable targets make ``partial``."""
    present = set(statuses)
    if not present:
        return "skipped"
    if "unavailable" in present and present & {"pass", "partial"} and not present & set(FAILING):
        return "partial"
    return next((s for s in STATUS_ORDER if s in present), "skipped")


@dataclass
class Measurement:
    layer: str
    check: str
    target: str  # "out", "loss", "dx", "dW", "x:integer_dtype", "grads_in_place" ...
    dtype: str
    status: str
    case: str = "-"  # the case's text, e.g. "rank 2 · moderate"
    example: dict[str, Any] = field(default_factory=dict)  # ExampleSpec.to_json()
    shapes: dict[str, list[int]] = field(default_factory=dict)
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    median_rel_err: float | None = None
    tolerance: float | None = None
    worst_index: list[int] | None = None
    actual: float | None = None
    expected: float | None = None
    noise_floor: float | None = None  # finite differences: reference gradient vs the same differences
    slope: float | None = None  # Taylor: fitted log-log slope of the remainder
    non_finite: bool = False  # the implementation produced NaN or inf (errors then read None in JSON)
    detail: str = ""
    impl: str = ""
    minimal: bool = False  # the minimal failing example of its case, recorded after shrinking
    diagnosis: dict[str, Any] | None = None  # the likely cause (conformance.diagnosis), failures only

    @property
    def likely_cause(self) -> str:
        """The diagnosis as one line: the cause and how closely it matches, or that none fits."""
        if not self.diagnosis:
            return ""
        if self.diagnosis["entry"] is None:
            return str(self.diagnosis["text"])
        return f"{self.diagnosis['text']} (matches to {self.diagnosis['residual']:.0e})"

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in data.items()
        } | {"type": "measurement"}

    def to_record(self) -> dict[str, Any]:
        """The JSON-lines record: like :meth:`to_json`, without the fields at their defaults
        (a passing example's record is then a third of the size)."""
        defaults = {
            name: f.default for name, f in self.__dataclass_fields__.items() if f.default is not MISSING
        }
        return {
            k: v for k, v in self.to_json().items() if not (k in defaults and v == defaults[k]) and v != {}
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measurement:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**fields)

    def with_comparison(self, comparison: Comparison) -> Measurement:
        self.max_abs_err = comparison.max_abs_err
        self.max_rel_err = comparison.max_rel_err
        self.median_rel_err = comparison.median_rel_err
        self.tolerance = comparison.tolerance
        self.worst_index = list(comparison.worst_index) if comparison.worst_index is not None else None
        self.actual = comparison.actual_at_worst
        self.expected = comparison.expected_at_worst
        self.non_finite = comparison.problem == "non-finite values"
        if comparison.problem:
            self.detail = comparison.problem + (f"; {self.detail}" if self.detail else "")
        return self

    def replay_command(self) -> str:
        """A shell command that reruns exactly this example."""
        parts = ["python", "-m", "conformance", "replay", self.layer, self.check]
        parts += ["--example", json.dumps(self.example, separators=(",", ":"))]
        if self.impl:
            parts += ["--impl", self.impl]
        return shlex.join(parts)

    def describe(self) -> str:
        """The failure message: layer, check, gradient, shapes, dtype, errors, tolerance,
        worst index with both values, and how to reproduce."""
        lines = [f"[{self.status.upper()}] {self.layer} · {self.check} · {self.target} ({self.dtype})"]
        if self.case and self.case != "-":
            lines.append(f"  case      {self.case}")
        if self.shapes:
            lines.append("  shapes    " + " · ".join(f"{k} {tuple(v)}" for k, v in self.shapes.items()))
        if self.max_rel_err is not None or self.max_abs_err is not None:
            lines.append(
                f"  error     max abs {_num(self.max_abs_err)} · max rel {_num(self.max_rel_err)}"
                f" · tolerance {_num(self.tolerance)} (relative to max(1, max|reference|))"
            )
        if self.noise_floor is not None:
            lines.append(
                f"  noise     reference gradient vs the same finite differences: {_num(self.noise_floor)}"
            )
        if self.worst_index is not None:
            lines.append(
                f"  worst     at {list(self.worst_index)}: implementation {_num(self.actual, 12)},"
                f" reference {_num(self.expected, 12)}"
            )
        if self.check == "taylor" and self.tolerance is not None:
            lines.append(
                f"  slope     {_num(self.slope, 3)} (a right gradient gives ~2, a wrong one ~1;"
                f" threshold {self.tolerance})"
            )
        if self.detail:
            lines.append(f"  detail    {self.detail}")
        if self.diagnosis:
            lines.append(f"  likely    {self.likely_cause}")
        if self.example:
            dims = " ".join(
                f"{k}={tuple(v) if isinstance(v, list) else v}"
                for k, v in self.example.get("dims", {}).items()
            )
            lines.append(f"  example   {dims} · seed {self.example.get('seed')}")
            lines.append(f"  replay    {self.replay_command()}")
        return "\n".join(lines)


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if math.isinf(value) or math.isnan(value):
        return str(value)
    return f"{value:.{digits}e}" if digits < 6 else f"{value:.{digits}g}"
