"""Renders the report document as GitHub-flavoured Markdown (``conformance.md``).

A short header with the verdict of each group of checks, one layer × check
table per scratchnn module, then for each layer that fails the cases of each
failing check (one line each) and the minimal failing example of each failing
target with the command that replays it, and, when the run was compared with a
baseline, what changed since. Every fact comes from :mod:`conformance.report.summary`.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.measurement import FAILING
from conformance.report.summary import (
    LISTED_CHANGES,
    Cell,
    absent_line,
    baseline_changes,
    cell,
    check_columns,
    count_line,
    declaration_lines,
    error_change,
    example_facts,
    failing_targets,
    failure_count,
    groups_of,
    label,
    not_run_line,
    overall_status,
    present,
    run_date,
    run_facts,
    same_example,
    short_commit,
    status_change,
    unchecked_lines,
    verdict_line,
)

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]<~&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
"""Characters that could start markup; an underscore inside a word (``integer_dtype``) cannot."""


def render_markdown(report: dict[str, Any]) -> str:
    """The Markdown summary of a report document."""
    checks = check_columns(report)
    sections = [
        _header(report),
        _matrix(present(report["rows"]), checks),
        _failures(report["rows"], checks),
        _baseline_changes(report.get("baseline")),
        _declarations(report["rows"]),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


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
    summary = report["summary"]
    lines = [f"# Conformance report: {overall_status(report)}", "", facts, "", count_line(summary)]
    verdict = verdict_line(summary)
    if verdict:
        lines += ["", f"**{_escape(verdict)}**"]
    unchecked = unchecked_lines(report)
    if unchecked:
        lines += ["", "Not checked:", "", *(f"- {_escape(line)}" for line in unchecked)]
    absent = absent_line(report)
    if absent:
        lines += ["", _escape(absent)]
    if not report["complete"]:
        lines += ["", f"> **INCOMPLETE**: {_escape(not_run_line(summary))}"]
    return "\n".join(lines)


def _matrix(rows: list[dict[str, Any]], checks: list[str]) -> str:
    if not rows:
        return "No layer was checked."
    parts = ["## Layers × checks"]
    for group, members in groups_of(rows):
        body = [
            [_escape(str(row["layer"])), *(_matrix_cell(cell(row, c)) for c in checks)] for row in members
        ]
        parts += [f"### {_escape(group)}", _table(["Layer", *checks], body)]
    parts.append(
        "Each cell: the check's status and its worst relative error over all targets, cases and examples "
        "(taylor: the smallest fitted slope, about 2 when the gradient is right; `linear` when the loss "
        "was linear along every direction tried); for a check that did not pass, how many of its cases did "
        "not. `n/a`: not implemented; `signature`: the constructor does not take the row's arguments; "
        "`partial`: some gradients could not be read (see `contract`); `–`: does not apply."
    )
    return "\n\n".join(parts)


def _matrix_cell(found: Cell | None) -> str:
    if found is None or found.status == "skipped":
        return "–"
    parts = [label(found.status), found.measure()]
    if found.case_tally:
        parts.append(f"({found.case_tally})")
    return " ".join(part for part in parts if part)


def _failures(rows: list[dict[str, Any]], checks: list[str]) -> str:
    failing = [row for row in rows if row["status"] in FAILING]
    if not failing:
        return ""
    return "\n\n".join(["## Failures", *(_row_failures(row, checks) for row in failing)])


def _row_failures(row: dict[str, Any], checks: list[str]) -> str:
    parts = [f"### {_escape(str(row['layer']))}: {label(row['status'])}"]
    for check in checks:
        found = cell(row, check)
        if found is not None and found.status in FAILING:
            parts.append(_check_failures(found))
    return "\n\n".join(parts)


def _check_failures(found: Cell) -> str:
    parts = [f"#### {found.check}: {label(found.status)}"]
    lines = found.case_lines()
    if lines:
        parts.append("\n".join(f"- {_escape(text)}" for _, text in lines))
    previous: dict[str, Any] | None = None
    for target in failing_targets(found):
        parts.append(_target_failure(target, previous))
        previous = target["minimal_failing_example"]
    raised = found.raised_example()
    if raised is not None:
        facts = example_facts({"max_abs_err": None, "max_rel_err": None}, raised, with_input=True)
        shown = ["**Minimal example of the first case that raised:**", ""]
        shown += [f"- {name}: {_fact(name, text)}" for name, text in facts]
        if raised["replay"]:
            shown += ["", _code_block(str(raised["replay"]), "sh")]
        parts.append("\n".join(shown))
    if not failing_targets(found) and raised is None and found.message:
        parts.append(_code_block(found.message, "text"))
    if found.reproduction:
        replay = _code_block(found.reproduction, "python")
        parts.append(f"Hypothesis replays the failing cases with:\n\n{replay}")
    return "\n\n".join(parts)


def _target_failure(target: dict[str, Any], previous: dict[str, Any] | None) -> str:
    headline = (
        f"**{_escape(target['target'])} · {_escape(target['dtype'])}**: {label(target['status'])}"
        f" {failure_count(target)}."
    )
    example = target["minimal_failing_example"]
    if example is None:
        return headline
    repeated = same_example(example, previous)
    facts = example_facts(target, example, with_input=not repeated)
    lines = [headline, "", *(f"- {name}: {_fact(name, text)}" for name, text in facts)]
    if repeated:
        lines += ["", "Same example and replay command as above."]
    elif example["replay"]:
        lines += ["", "Replay:", "", _code_block(str(example["replay"]), "sh")]
    return "\n".join(lines)


def _fact(name: str, text: str) -> str:
    """Facts quote the document literally, in code spans; the error line is prose."""
    return _escape(text) if name == "error" else _code(text)


def _declarations(rows: list[dict[str, Any]]) -> str:
    declared = [(row["layer"], declaration_lines(row)) for row in rows]
    listed = [f"- **{_escape(layer)}**: {_escape('; '.join(lines))}" for layer, lines in declared if lines]
    if not listed:
        return ""
    return "## What the rows declare\n\n" + "\n".join(listed)


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
