"""Renders the report document as GitHub-flavoured Markdown (``conformance.md``).

A short header, a layer × check table to take in at a glance, then for each
layer that fails or errs the minimal failing example of each failing
(check, target, dtype) with the command that replays it, and, when the run was
compared with a baseline, what changed since.

The helpers that summarise the document (the cells of the matrix, examples,
numbers, baseline changes) are public: the HTML renderer shows the same facts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from conformance.measurement import CHECK_NAMES as CHECK_ORDER
from conformance.measurement import FAILING
from conformance.report.model import STATUS_ORDER, worst_status

LISTED_CHANGES = 40
"""Status changes that are not regressions are listed up to this many (regressions all)."""

STATUS_LABELS = {
    "pass": "pass",
    "fail": "FAIL",
    "error": "ERROR",
    "not_implemented": "n/a",
    "skipped": "skip",
}

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]<~&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
"""Characters that could start markup; an underscore inside a word (``integer_dtype``) cannot."""
_REPRODUCE_DECORATOR = re.compile(r"@reproduce_failure\([^)]*\)")


@dataclass(frozen=True)
class CheckSummary:
    """One cell of the layer × check matrix: a check of one layer over all its targets."""

    check: str
    status: str
    worst_rel_err: float | None
    """Largest max relative error over the check's groups."""
    margin: float | None
    """Smallest tolerance / error ratio over the check's groups (below 1 fails)."""
    min_slope: float | None
    """Taylor only: the smallest fitted slope."""
    groups: tuple[dict[str, Any], ...]
    message: str
    """The check's outcome message (the failure report, or why it was skipped or not implemented)."""
    reproduction: str
    """The ``@reproduce_failure(...)`` decorator Hypothesis printed for the check, if any."""

    @property
    def only_linear(self) -> bool:
        """Taylor only: no slope was fitted because the loss was linear along every direction."""
        return self.check == "taylor" and self.min_slope is None and self.status == "pass"


def render_markdown(report: dict[str, Any]) -> str:
    """The Markdown summary of a report document."""
    checks = check_columns(report)
    sections = [
        _header(report),
        _matrix(report["rows"], checks),
        _failures(report["rows"], checks),
        _baseline_changes(report.get("baseline")),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def label(status: str) -> str:
    """A status as shown to readers: failures in capitals, not_implemented as n/a."""
    return STATUS_LABELS.get(status, status)


def check_columns(report: dict[str, Any]) -> list[str]:
    """The checks of the document: the usual order first, then any others as they appear."""
    seen = [
        check
        for row in report["rows"]
        for check in [*row["outcomes"], *(group["check"] for group in row["checks"])]
    ]
    return list(dict.fromkeys([*(c for c in CHECK_ORDER if c in seen), *seen]))


def summarize_check(row: dict[str, Any], check: str) -> CheckSummary | None:
    """The cell of ``row`` for ``check``; None when the row has no such check."""
    groups = tuple(group for group in row["checks"] if group["check"] == check)
    outcome = row["outcomes"].get(check)
    if outcome is None and not groups:
        return None
    status = str(outcome["status"]) if outcome else worst_status(group["status"] for group in groups)
    errors = [
        math.inf if g["non_finite"] else float(g["max_rel_err"])
        for g in groups
        if g["non_finite"] or g["max_rel_err"] is not None
    ]
    margins = [float(g["margin"]) for g in groups if g["margin"] is not None]
    slopes = [float(g["slope"]["min"]) for g in groups if g["slope"] and g["slope"]["min"] is not None]
    return CheckSummary(
        check=check,
        status=status,
        worst_rel_err=max(errors) if errors else None,
        margin=min(margins) if margins else None,
        min_slope=min(slopes) if slopes else None,
        groups=groups,
        message=str((outcome or {}).get("message") or ""),
        reproduction=_hypothesis_reproduction(str((outcome or {}).get("reproduce") or "")),
    )


def cell_measure(summary: CheckSummary) -> str:
    """The number shown next to a status: worst error, or for Taylor the smallest slope."""
    if summary.status in ("not_implemented", "skipped"):
        return ""
    if any(group["non_finite"] for group in summary.groups):
        return "NaN/inf"
    if summary.min_slope is not None:
        return f"slope {summary.min_slope:.2f}"
    if summary.only_linear:
        return "linear"
    return short_number(summary.worst_rel_err)


def short_number(value: float | None) -> str:
    """One significant digit, as in the matrix: ``3e-15``; exact zeros as ``0``."""
    if value is None:
        return ""
    return "0" if value == 0 else f"{value:.0e}"


def number(value: float | None) -> str:
    """Three significant digits in scientific notation; empty when absent."""
    if value is None:
        return ""
    return "0" if value == 0 else f"{value:.2e}"


def value_at_index(value: Any) -> str:
    """An implementation or reference value at the worst index, to twelve significant digits."""
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def tolerance_range(group: dict[str, Any]) -> str:
    """A group's tolerance: one value, or the strictest to the loosest of its examples."""
    strictest, loosest = group["tolerance"], group["tolerance_max"]
    if strictest is None:
        return ""
    if loosest is None or loosest == strictest:
        return number(strictest)
    return f"{number(strictest)} to {number(loosest)}"


def describe_example(example: dict[str, Any]) -> str:
    """An example spec as one line: ``N=1 D=2 H=2 · regime moderate · labels - · seed 0``."""
    dims = " ".join(f"{name}={_dimension(size)}" for name, size in example.get("dims", {}).items())
    parts = [dims] if dims else []
    parts += [f"{key} {value}" for key, value in example.items() if key != "dims"]
    return " · ".join(parts)


def describe_shapes(shapes: dict[str, Any]) -> str:
    """Tensor shapes as one line: ``x (1, 2) · W (2, 2) · out (1, 2)``."""
    return " · ".join(f"{name} {_dimension(shape)}" for name, shape in shapes.items())


def describe_group(group: dict[str, Any]) -> str:
    """Which measurements a group holds: ``dx · float64``, or the whole check for target ``-``."""
    if group["target"] == "-":
        return "whole check"
    return f"{group['target']} · {group['dtype']}"


def failing_groups(summary: CheckSummary) -> list[dict[str, Any]]:
    return [group for group in summary.groups if group["status"] in FAILING]


def failure_count(group: dict[str, Any]) -> str:
    """How many examples of a group failed, in words."""
    if group["target"] == "-":
        return f"on {group['failures']} example(s) where the check could not measure any target"
    return f"on {group['failures']} of {group['examples']} examples"


def same_example(example: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Whether two minimal failing examples are the same input (bad_input targets often share one)."""
    if previous is None:
        return False
    return (previous["replay"], previous["shapes"]) == (example["replay"], example["shapes"])


def example_facts(group: dict[str, Any], example: dict[str, Any], with_input: bool) -> list[tuple[str, str]]:
    """What a failing example shows, as (name, plain text) pairs; the input only if ``with_input``."""
    facts = [
        ("example", describe_example(example["example"]) if with_input else ""),
        ("shapes", describe_shapes(example["shapes"]) if with_input else ""),
        ("worst at", _worst_element(example)),
        ("error", _error_against_tolerance(group, example)),
        ("detail", str(example["detail"] or "")),
    ]
    return [(name, text) for name, text in facts if text]


def run_facts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts of the header: what was checked, how, when, from which commit."""
    environment = report["environment"]
    return [
        ("implementation", str(environment.get("implementation") or "unknown")),
        ("profile", str(environment.get("profile") or "unknown")),
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
    """``Layers: 2 fail, 13 n/a. Checks: 6 fail, 4 error, 4 pass, 91 n/a. 7338 measurements.``"""

    def counts(by_status: dict[str, int]) -> str:
        ordered = [*STATUS_ORDER, *(s for s in by_status if s not in STATUS_ORDER)]
        return ", ".join(f"{by_status[s]} {label(s)}" for s in ordered if by_status.get(s))

    return (
        f"Layers: {counts(summary['row_status']) or 'none'}. "
        f"Checks: {counts(summary['checks']) or 'none'}. "
        f"{summary['measurements']} measurements."
    )


def not_run_line(summary: dict[str, Any]) -> str:
    """What an interrupted run left out."""
    missing = [f"{layer} · {check}" for layer, check in summary.get("not_run", [])]
    if not missing:
        return "The run was interrupted; its results may be partial."
    return f"The run was interrupted; {len(missing)} check(s) did not run: {', '.join(missing)}."


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


def _hypothesis_reproduction(text: str) -> str:
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


def _error_against_tolerance(group: dict[str, Any], example: dict[str, Any]) -> str:
    if example["max_rel_err"] is None:
        return ""
    return (
        f"max rel {number(example['max_rel_err'])} on this example; over all examples max abs "
        f"{number(group['max_abs_err'])}, max rel {number(group['max_rel_err'])}; "
        f"tolerance {tolerance_range(group)}"
    )


def _escape(text: str) -> str:
    """Document text as literal Markdown: punctuation that could start markup is escaped."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text).replace("\n", " ")


def _code(text: str) -> str:
    """Document text as an inline code span."""
    flat = text.replace("\n", " ")
    fence = "`" * (_longest_backtick_run(flat) + 1)
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{padding}{flat}{padding}{fence}"


def _code_block(text: str, language: str) -> str:
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall("`+", text)), default=0)


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A GFM table; a pipe inside a cell, even inside a code span, is escaped to stay in its cell."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in lines)


def _header(report: dict[str, Any]) -> str:
    facts = " · ".join(f"{name} **{_escape(value)}**" for name, value in run_facts(report))
    lines = [f"# Conformance report: {overall_status(report)}", "", facts, "", count_line(report["summary"])]
    if not report["complete"]:
        lines += ["", f"> **INCOMPLETE**: {_escape(not_run_line(report['summary']))}"]
    return "\n".join(lines)


def _matrix(rows: list[dict[str, Any]], checks: list[str]) -> str:
    if not rows:
        return "No layer was checked."
    body = [
        [_escape(str(row["layer"])), *(_matrix_cell(summarize_check(row, c)) for c in checks)] for row in rows
    ]
    legend = (
        "Each cell: the check's status and its worst relative error over all targets and examples "
        "(taylor: the smallest fitted slope, about 2 when the gradient is right; `linear` when the loss "
        "was linear along every direction tried). `n/a`: not implemented; `skip`: skipped; `–`: not part "
        "of this layer's checks."
    )
    return "## Layers × checks\n\n" + _table(["Layer", *checks], body) + "\n\n" + legend


def _matrix_cell(summary: CheckSummary | None) -> str:
    if summary is None:
        return "–"
    return " ".join(part for part in (label(summary.status), cell_measure(summary)) if part)


def _failures(rows: list[dict[str, Any]], checks: list[str]) -> str:
    failing = [row for row in rows if row["status"] in FAILING]
    if not failing:
        return ""
    return "\n\n".join(["## Failures", *(_row_failures(row, checks) for row in failing)])


def _row_failures(row: dict[str, Any], checks: list[str]) -> str:
    parts = [f"### {_escape(str(row['layer']))}: {label(row['status'])}"]
    for check in checks:
        summary = summarize_check(row, check)
        if summary is not None and summary.status in FAILING:
            parts.append(_check_failures(summary))
    return "\n\n".join(parts)


def _check_failures(summary: CheckSummary) -> str:
    parts = [f"#### {summary.check}: {label(summary.status)}"]
    groups = failing_groups(summary)
    previous: dict[str, Any] | None = None
    for group in groups:
        parts.append(_group_failure(group, previous))
        previous = group["minimal_failing_example"]
    if not groups and summary.message:
        parts.append(_code_block(summary.message, "text"))
    if summary.reproduction:
        replay = _code_block(summary.reproduction, "python")
        parts.append(f"Hypothesis replays this check's failure with:\n\n{replay}")
    return "\n\n".join(parts)


def _group_failure(group: dict[str, Any], previous: dict[str, Any] | None) -> str:
    headline = f"**{_escape(describe_group(group))}**: {label(group['status'])} {failure_count(group)}."
    example = group["minimal_failing_example"]
    if example is None:
        return headline
    repeated = same_example(example, previous)
    facts = example_facts(group, example, with_input=not repeated)
    lines = [headline, "", *(f"- {name}: {_fact(name, text)}" for name, text in facts)]
    if repeated:
        lines += ["", "Same example and replay command as above."]
    elif example["replay"]:
        lines += ["", "Replay:", "", _code_block(str(example["replay"]), "sh")]
    return "\n".join(lines)


def _fact(name: str, text: str) -> str:
    """Facts quote the document literally, in code spans; the error line is prose."""
    return _escape(text) if name == "error" else _code(text)


def _baseline_changes(baseline: dict[str, Any] | None) -> str:
    if baseline is None:
        return ""
    regressions, changes = baseline_changes(baseline)
    old = baseline["environment"]
    intro = (
        f"Compared with {_code(str(baseline['path']))} (commit {_code(short_commit(old.get('commit')))}, "
        f"{_escape(run_date(old))}): {baseline['regressions']} regression(s), "
        f"{baseline['status_changes']} status change(s)."
    )
    parts = ["## Changes since baseline", intro]
    if regressions:
        parts += ["### Regressions", _changes_table(regressions, with_reason=True)]
    if changes:
        parts += ["### Other status changes", _changes_table(changes[:LISTED_CHANGES], with_reason=False)]
    if len(changes) > LISTED_CHANGES:
        parts.append(f"… and {len(changes) - LISTED_CHANGES} more; `conformance.json` lists them all.")
    if not regressions and not changes:
        parts.append("No regression and no status change.")
    return "\n\n".join(parts)


def _changes_table(entries: list[dict[str, Any]], with_reason: bool) -> str:
    header = ["Layer", "Check", "Target", "dtype", "Status", "Worst rel err"]
    rows = [
        [
            _escape(str(entry["layer"])),
            _escape(str(entry["check"])),
            _code(str(entry["target"])),
            _escape(str(entry["dtype"])),
            status_change(entry),
            error_change(entry),
        ]
        for entry in entries
    ]
    if with_reason:
        header.append("Why")
        for cells, entry in zip(rows, entries, strict=True):
            cells.append(_escape(str(entry["reason"])))
    return _table(header, rows)
