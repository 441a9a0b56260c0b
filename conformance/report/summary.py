"""The summary model of a report document: every fact Markdown, HTML and the terminal show.

The renderers (:mod:`conformance.report.markdown`, :mod:`conformance.report.html`,
the CLI's closing grid) only lay these out; nothing here is written twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance.measurement import CHECK_NAMES, FAILING, STATUS_ORDER

STATUS_LABELS = {
    "pass": "pass",
    "fail": "FAIL",
    "error": "ERROR",
    "partial": "partial",
    "unavailable": "unread",
    "not_implemented": "n/a",
    "signature_mismatch": "signature",
    "skipped": "skip",
    "nothing_checked": "nothing checked",
}

LISTED_CHANGES = 40
"""Status changes that are not regressions are listed up to this many (regressions all)."""

_REPRODUCE_DECORATOR = re.compile(r"@reproduce_failure\([^)]*\)")


def label(status: str) -> str:
    """A status as shown to readers: failures in capitals, not_implemented as n/a."""
    return STATUS_LABELS.get(status, status)


def check_columns(report: dict[str, Any]) -> list[str]:
    """The checks of the document that ran somewhere (a column of nothing but skips is left
    out: ``sampling`` applies to a handful of rows), in the usual order."""
    seen = [name for row in report["rows"] for name in row["checks"]]
    ordered = list(dict.fromkeys([*(c for c in CHECK_NAMES if c in seen), *seen]))
    ran = {
        name
        for row in report["rows"]
        for name, check in row["checks"].items()
        if check["status"] != "skipped"
    }
    return [c for c in ordered if c in ran] or ordered


def present(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the implementation has: a learner's module with three of the book's classes gets
    a table of three rows, and one line for the others (see :func:`absent_line`)."""
    return [row for row in rows if row["status"] != "not_implemented"]


def absent_line(report: dict[str, Any]) -> str:
    """``Not in mylayers (48 of 51 layers): Add, Mul, ...``, or "" when every row is present.
    A near-miss name is left to :func:`unchecked_lines`, which names what was found."""
    absent = [
        str(row["layer"])
        for row in report["rows"]
        if row["status"] == "not_implemented" and not unchecked_lines({"rows": [row]})
    ]
    if not absent:
        return ""
    where = report["environment"].get("implementation") or "the implementation"
    return f"Not in {where} ({len(absent)} of {len(report['rows'])} layers): {', '.join(absent)}"


def groups_of(rows: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The rows by group (the scratchnn module of the class), in order of first appearance."""
    order = list(dict.fromkeys(row.get("group", "") for row in rows))
    for group in order:
        yield group or "other", [row for row in rows if row.get("group", "") == group]


@dataclass(frozen=True)
class Cell:
    """One check of one layer: the cell of the layer × check matrix and what is behind it."""

    check: str
    status: str
    entry: dict[str, Any]

    @property
    def targets(self) -> list[dict[str, Any]]:
        return list(self.entry.get("targets", []))

    @property
    def cases(self) -> list[dict[str, Any]]:
        return list(self.entry.get("cases", []))

    @property
    def message(self) -> str:
        return str(self.entry.get("message") or "")

    @property
    def worst_rel_err(self) -> float | None:
        errors = [
            math.inf if t["non_finite"] else float(t["max_rel_err"])
            for t in self.targets
            if t["non_finite"] or t["max_rel_err"] is not None
        ]
        return max(errors) if errors else None

    @property
    def margin(self) -> float | None:
        margins = [float(t["margin"]) for t in self.targets if t["margin"] is not None]
        return min(margins) if margins else None

    @property
    def min_slope(self) -> float | None:
        slopes = [
            float(t["slope"]["min"]) for t in self.targets if t["slope"] and t["slope"]["min"] is not None
        ]
        return min(slopes) if slopes else None

    @property
    def only_linear(self) -> bool:
        """Taylor only: no slope was fitted because the loss was linear along every direction."""
        return self.check == "taylor" and self.min_slope is None and self.status == "pass"

    @property
    def failing_cases(self) -> list[dict[str, Any]]:
        return [case for case in self.cases if case["status"] in FAILING]

    @property
    def case_tally(self) -> str:
        """``3 of 8 cases fail`` for a check that did not pass; empty otherwise."""
        bad = [c for c in self.cases if c["status"] not in ("pass", "skipped")]
        if not bad or self.status == "pass":
            return ""
        return f"{len(bad)} of {len(self.cases)} cases"

    def measure(self) -> str:
        """The number shown next to a status: worst error, or for Taylor the smallest slope; for
        a check that failed without a failing number (it raised), the kind of error."""
        if self.status in ("not_implemented", "skipped", "signature_mismatch"):
            return ""
        if self.status in FAILING and not any(
            t["status"] in FAILING for t in self.targets if t["max_rel_err"] is not None or t["slope"]
        ):
            return error_kind(next((c["cause"] for c in self.failing_cases if c.get("cause")), ""))
        if any(t["non_finite"] for t in self.targets):
            return "NaN/inf"
        if self.min_slope is not None:
            return f"slope {self.min_slope:.2f}"
        if self.only_linear:
            return "linear"
        return short_number(self.worst_rel_err)

    def case_lines(self) -> list[tuple[str, str]]:
        """For a check that did not pass: (status, ``rank 1 · moderate: ERROR cause``) per case."""
        if self.status in ("pass", "skipped", "not_implemented", "signature_mismatch"):
            return []
        return [(case["status"], case_line(case)) for case in self.cases]

    def raised_example(self) -> dict[str, Any] | None:
        """The minimal example of the first failing case that raised before measuring any
        target (its failing targets do not show it)."""
        for case in self.failing_cases:
            example: dict[str, Any] | None = case.get("minimal_failing_example")
            if example is not None and example["target"] == "-":
                return example
        return None

    @property
    def reproduction(self) -> str:
        return "\n".join(
            hypothesis_reproduction(str(case.get("reproduce") or ""))
            for case in self.cases
            if case.get("reproduce")
        )


def error_kind(cause: str) -> str:
    """``overflow`` or ``AxisError``: the kind of a failure that stopped a check from measuring."""
    for word in ("overflow", "underflow", "divide by zero", "invalid value"):
        if word in cause:
            return word
    found = re.search(r"\b([A-Z]\w*(?:Error|Exception|Warning))\b", cause)
    return found.group(1) if found else ""


def case_line(case: dict[str, Any]) -> str:
    """``rank 1 · moderate: ERROR AxisError in backward: ... at layers.py:57``."""
    text = f"{case['case']}: {label(case['status'])}"
    if case["status"] not in ("pass",) and case.get("cause"):
        text += f" {case['cause']}"
    return text


def cell(row: dict[str, Any], check: str) -> Cell | None:
    """The cell of ``row`` for ``check``; None when the row has no such check."""
    entry = row["checks"].get(check)
    if entry is None:
        return None
    return Cell(check, str(entry["status"]), entry)


def short_number(value: float | None) -> str:
    """One significant digit, as in the matrix: ``3e-15``; exact zeros as ``0``."""
    if value is None:
        return ""
    if math.isinf(value):
        return "inf"
    return "0" if value == 0 else f"{value:.0e}"


def number(value: float | None) -> str:
    """Three significant digits in scientific notation; empty when absent."""
    if value is None:
        return ""
    return "0" if value == 0 else f"{value:.2e}"


def value_at_index(value: Any) -> str:
    """An implementation or reference value at the worst index, to twelve significant digits."""
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def tolerance_range(target: dict[str, Any]) -> str:
    """A target's tolerance: one value, or the strictest to the loosest of its examples."""
    strictest, loosest = target["tolerance"], target["tolerance_max"]
    if strictest is None:
        return ""
    if loosest is None or loosest == strictest:
        return number(strictest)
    return f"{number(strictest)} to {number(loosest)}"


def describe_example(example: dict[str, Any]) -> str:
    """An example spec as one line: ``N=1 D=2 H=2 · seed 0``."""
    dims = " ".join(f"{name}={_dimension(size)}" for name, size in example.get("dims", {}).items())
    parts = [dims] if dims else []
    if "seed" in example:
        parts.append(f"seed {example['seed']}")
    return " · ".join(parts)


def describe_shapes(shapes: dict[str, Any]) -> str:
    """Tensor shapes as one line: ``x (1, 2) · W (2, 2) · out (1, 2)``."""
    return " · ".join(f"{name} {_dimension(shape)}" for name, shape in shapes.items())


def failing_targets(cell: Cell) -> list[dict[str, Any]]:
    return [target for target in cell.targets if target["status"] in FAILING]


def failure_count(target: dict[str, Any]) -> str:
    """How many examples of a target failed, in words."""
    return f"on {target['failures']} of {target['examples']} examples"


def same_example(example: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Whether two minimal failing examples are the same input (bad_input targets often share one)."""
    if previous is None:
        return False
    return (previous["replay"], previous["shapes"]) == (example["replay"], example["shapes"])


def example_facts(target: dict[str, Any], example: dict[str, Any], with_input: bool) -> list[tuple[str, str]]:
    """What a failing example shows, as (name, plain text) pairs; the input only if ``with_input``."""
    facts = [
        ("case", str(example.get("case") or "") if with_input else ""),
        ("example", describe_example(example["example"]) if with_input else ""),
        ("shapes", describe_shapes(example["shapes"]) if with_input else ""),
        ("worst at", _worst_element(example)),
        ("error", _error_against_tolerance(target, example)),
        ("detail", str(example["detail"] or "")),
        ("likely cause", likely_cause(example.get("diagnosis"))),
    ]
    return [(name, text) for name, text in facts if text]


def likely_cause(diagnosis: dict[str, Any] | None) -> str:
    """The diagnosis of a failing output or gradient, with the residual that supports it, or
    the plain statement that no catalogued cause fits; empty where none was sought."""
    if diagnosis is None:
        return ""
    if diagnosis["entry"] is None:
        return str(diagnosis["text"])
    return f"{diagnosis['text']} (matches to {diagnosis['residual']:.0e})"


def run_facts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts of the header: what was checked, how, when, from which commit."""
    environment = report["environment"]
    return [
        ("implementation", str(environment.get("implementation") or "unknown")),
        ("profile", str(environment.get("profile") or "unknown")),
        ("checks", str(environment.get("checks") or "all")),
        ("seed", str(environment.get("seed") or "unknown")),
        ("run", "complete" if report["complete"] else "INCOMPLETE"),
        ("commit", short_commit(environment.get("commit"))),
        ("date", run_date(environment)),
    ]


def short_commit(commit: str | None) -> str:
    if not commit:
        return "unknown"
    sha, _, suffix = commit.partition("-")
    return sha[:12] + (f"-{suffix}" if suffix else "")


def run_date(environment: dict[str, Any]) -> str:
    stamp = environment.get("finished") or environment.get("started")
    return str(stamp).replace("T", " ") if stamp else "unknown"


def overall_status(report: dict[str, Any]) -> str:
    return str(report["summary"]["status"]).upper()


def count_line(summary: dict[str, Any]) -> str:
    """``Layers: 2 fail, 13 n/a. Checks: 6 fail, 91 pass. Cases: ... 7338 examples.``"""

    def counts(by_status: dict[str, int]) -> str:
        ordered = [*STATUS_ORDER, *(s for s in by_status if s not in STATUS_ORDER)]
        return ", ".join(f"{by_status[s]} {label(s)}" for s in ordered if by_status.get(s))

    shrinks = f" (and {summary['shrinks']} shrinking attempts)" if summary.get("shrinks") else ""
    return (
        f"Layers: {counts(summary['row_status']) or 'none'}. "
        f"Checks: {counts(summary['checks']) or 'none'}. "
        f"Cases: {counts(summary.get('cases', {})) or 'none'}. "
        f"{summary['examples']} examples{shrinks}."
    )


NOTHING_CHECKED = "overall"  # the verdicts key of a run in which no check ran at all


def verdict_line(summary: dict[str, Any]) -> str:
    """``correctness: every gradient agrees · robustness: 12 bad inputs accepted, overflow in Sigmoid``."""
    return " · ".join(
        text if name == NOTHING_CHECKED else f"{name}: {text}"
        for name, text in summary.get("verdicts", {}).items()
    )


def unchecked_lines(report: dict[str, Any]) -> list[str]:
    """Layers that were not checked and why: a constructor that does not fit, a near-miss name."""
    lines = []
    for row in report["rows"]:
        reasons = {
            str(c.get("message") or "")
            for c in row["checks"].values()
            if c["status"] in ("signature_mismatch", "not_implemented")
            and "found" in str(c.get("message") or "")
        }
        lines += [f"{row['layer']}: {reason}" for reason in sorted(reasons)]
    return lines


def declaration_lines(row: dict[str, Any]) -> list[str]:
    """What the row declares of itself: a tolerance factor and what does not apply, each with
    its reason (``bad_input x:extra_axis: not applicable, because ...``)."""
    lines = []
    tolerance = row.get("tolerance")
    if tolerance:
        lines.append(f"tolerances × {tolerance['factor']:g}, because {tolerance['reason']}")
    for key, reason in (row.get("not_applicable") or {}).items():
        check, _, target = key.partition(":")
        lines.append(f"{check}{' ' + target if target else ''}: not applicable, because {reason}")
    return lines


def not_run_line(summary: dict[str, Any]) -> str:
    """What an interrupted run left out."""
    missing = [f"{layer} · {check}" for layer, check in summary.get("not_run", [])]
    if not missing:
        return "The run was interrupted; its results may be partial."
    shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
    return f"The run was interrupted; {len(missing)} check(s) did not run: {shown}."


def baseline_changes(baseline: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Regressions (status changes first, then by growth), and the other status changes."""
    entries = baseline["entries"]
    regressions = sorted(
        (entry for entry in entries if entry["regression"]),
        key=lambda entry: (entry["old_status"] == entry["new_status"], -(entry["ratio"] or 0.0)),
    )
    changes = [e for e in entries if not e["regression"] and e["old_status"] != e["new_status"]]
    return regressions, changes


def status_change(entry: dict[str, Any]) -> str:
    old, new = entry["old_status"], entry["new_status"]
    if old == new:
        return label(new)
    return f"{label(old) if old else 'absent'} → {label(new) if new else 'absent'}"


def error_change(entry: dict[str, Any]) -> str:
    old, new = entry["old_max_rel_err"], entry["new_max_rel_err"]
    if old is None and new is None:
        return ""
    return f"{number(old) or '–'} → {number(new) or '–'}"


def hypothesis_reproduction(text: str) -> str:
    """The decorator line of Hypothesis' "You can reproduce this test case by ..." note."""
    found = _REPRODUCE_DECORATOR.search(text)
    return found.group(0) if found else text


def _dimension(size: Any) -> str:
    return str(tuple(size)) if isinstance(size, list) else str(size)


def _worst_element(example: dict[str, Any]) -> str:
    if example["worst_index"] is None:
        return ""
    return (
        f"{example['worst_index']}: implementation {value_at_index(example['actual'])}, "
        f"reference {value_at_index(example['expected'])}"
    )


def _error_against_tolerance(target: dict[str, Any], example: dict[str, Any]) -> str:
    if example["max_rel_err"] is None:
        return ""
    return (
        f"max rel {number(example['max_rel_err'])} on this example; over all examples max abs "
        f"{number(target['max_abs_err'])}, max rel {number(target['max_rel_err'])}; "
        f"tolerance {tolerance_range(target)}"
    )


def grid(report: dict[str, Any]) -> list[list[str]]:
    """The layers × checks matrix as plain text cells (header first), for the terminal."""
    checks = check_columns(report)
    rows = [["layer", *checks]]
    for row in present(report["rows"]):
        cells = []
        for check in checks:
            found = cell(row, check)
            if found is None:
                cells.append("–")
                continue
            text = label(found.status) if found.status != "skipped" else "–"
            if found.case_tally and found.status in FAILING:
                text += f" ({found.case_tally})"
            cells.append(text)
        rows.append([row["layer"], *cells])
    return rows
