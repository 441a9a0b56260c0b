"""Renders the report document as one self-contained HTML5 page (``index.html``).

Everything is inline: the style sheet, and the plots as SVG elements (see
:mod:`conformance.report.plots`). The page loads nothing from anywhere, so it
can be archived, mailed or opened offline. All text that comes from the
document is escaped.

Sections: the overall status (with a banner when the run was interrupted), the
layer × check matrix, the changes since a baseline, one collapsible section per
layer (failing layers open) with its error distribution, its groups and its
minimal failing examples, the Taylor slopes, the errors against the
finite-difference noise floor, the environment, and how to read it all.
"""

from __future__ import annotations

import html
from typing import Any

from conformance.measurement import FAILING
from conformance.report import plots
from conformance.report.summary import (
    Cell,
    absent_line,
    baseline_changes,
    case_line,
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
    number,
    overall_status,
    present,
    run_date,
    run_facts,
    same_example,
    short_commit,
    status_change,
    tolerance_range,
    unchecked_lines,
    verdict_line,
)
from conformance.report.svg import STYLE as PLOT_STYLE

KNOWN_STATUSES = (
    "pass",
    "fail",
    "error",
    "partial",
    "unavailable",
    "not_implemented",
    "signature_mismatch",
    "skipped",
    "incomplete",
    "nothing_checked",
)

STYLE = """
:root { --pass: #1e7b34; --pass-bg: #dcf1e1; --fail: #a61b1b; --fail-bg: #f9d9d9;
  --error: #9a4a00; --error-bg: #ffe3c2; --grey: #5f6368; --grey-bg: #eceff1; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2328;
  max-width: 1240px; margin: 0 auto; padding: 0 16px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; } h4 { margin: 14px 0 6px; }
header { padding: 16px 20px; margin: 16px 0; border-radius: 6px; border-left: 8px solid var(--grey);
  background: var(--grey-bg); }
header.s-pass { border-color: var(--pass); background: var(--pass-bg); }
header.s-fail { border-color: var(--fail); background: var(--fail-bg); }
header.s-incomplete { border-color: #b58100; background: #fff4ce; }
.meta { margin: 4px 0; } .meta span { margin-right: 14px; white-space: nowrap; }
.banner { background: #fff4ce; border: 2px solid #b58100; padding: 10px 16px; border-radius: 6px;
  font-size: 16px; margin: 12px 0; }
nav a { margin-right: 14px; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; max-width: 100%; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.matrix { table-layout: fixed; width: 100%; font-size: 12px; }
table.matrix th { overflow-wrap: anywhere; }
table.matrix col.layer { width: 170px; }
table.matrix td { text-align: center; line-height: 1.2; padding: 3px 4px; overflow-wrap: anywhere; }
table.matrix td a { color: inherit; text-decoration: none; display: block; }
table.matrix th.layer, table.matrix td.layer { text-align: left; }
.measure, .margin { display: block; font-size: 12px; }
.margin { color: var(--grey); }
.s-pass { background: var(--pass-bg); color: var(--pass); }
.s-fail { background: var(--fail-bg); color: var(--fail); font-weight: 600; }
.s-error { background: var(--error-bg); color: var(--error); font-weight: 600; }
.s-partial, .s-unavailable, .s-signature_mismatch { background: #fff4ce; color: #7a5b00; }
.s-not_implemented, .s-skipped, .s-nothing_checked, .s-other, .s-absent {
  background: var(--grey-bg); color: var(--grey); }
ul.cases { margin: 4px 0 8px; padding-left: 20px; font-size: 13px; }
ul.cases li.s-pass { background: none; }
h3.group { margin-top: 20px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; }
tr.regression td { background: var(--fail-bg); }
details.layer { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 0 12px; }
details.layer > summary { cursor: pointer; padding: 8px 0; font-size: 15px; }
.muted { color: var(--grey); }
.failure { border-left: 4px solid var(--fail); padding: 2px 12px; margin: 10px 0; background: #fffafa; }
.failure.s-error { border-color: var(--error); background: #fffbf5; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dt { color: var(--grey); } dd { margin: 0; }
pre { background: #f6f8fa; padding: 8px 10px; border-radius: 4px; overflow-x: auto; font-size: 12.5px;
  white-space: pre-wrap; word-break: break-all; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
figure { margin: 10px 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--grey); font-size: 13px; }
.note { color: var(--grey); font-style: italic; }
.changed { background: #fff4ce; }
.verdict { font-size: 15px; margin: 6px 0; }
""".strip()


def render_html(report: dict[str, Any]) -> str:
    """The self-contained HTML page of a report document."""
    checks = check_columns(report)
    baseline = report.get("baseline")
    body = [
        _header(report),
        _incomplete_banner(report),
        _navigation(baseline is not None),
        _matrix_section(present(report["rows"]), checks),
        _baseline_section(baseline) if baseline is not None else "",
        _layers_section(present(report["rows"]), checks),
        _taylor_section(report),
        _noise_floor_section(report),
        _environment_section(report["environment"], baseline),
        _reading_guide(report["tolerances"]),
    ]
    title = f"Conformance {overall_status(report)}: {report['environment'].get('implementation') or ''}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text(title)}</title>\n<style>\n{STYLE}\n{PLOT_STYLE}\n</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body>\n</html>\n"
    )


def _text(value: object) -> str:
    """Document text, escaped for element content and quoted attribute values alike."""
    return html.escape(str(value), quote=True)


def _class(name: str) -> str:
    """A class attribute, or nothing for no class."""
    return f' class="{name}"' if name else ""


def _status_class(status: str | None) -> str:
    """A CSS class for a status; statuses are document text, so unknown ones get a fixed class."""
    if status is None:
        return "s-absent"
    return f"s-{status}" if status in KNOWN_STATUSES else "s-other"


def _badge(status: str) -> str:
    return f'<span class="badge {_status_class(status)}">{_text(label(status))}</span>'


def _margin(value: float | None) -> str:
    """Tolerance over error: how far inside (above 1) or outside (below 1) the tolerance."""
    if value is None:
        return ""
    if value >= 1e6:  # far inside: the digits say nothing (a stable sigmoid's can be 1e47)
        return f"{value:.0e}".replace("e+0", "e").replace("e+", "e")
    if value >= 10:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 0.01 else f"{value:.1e}"


def _table(header: list[str], rows: list[str], css_class: str = "", columns: str = "") -> str:
    """A table from a header of plain words and rows already rendered as ``<tr>`` elements."""
    head = "".join(f"<th>{_text(name)}</th>" for name in header)
    return (
        f'<div class="wide"><table{_class(css_class)}>{columns}\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _figure(svg: str | None, caption: str) -> str:
    """A plot with its caption (nothing when there was nothing to draw)."""
    if svg is None:
        return ""
    return f"<figure>\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>"


def _header(report: dict[str, Any]) -> str:
    status = str(report["summary"]["status"])
    facts = " ".join(f"<span>{_text(name)} <b>{_text(value)}</b></span>" for name, value in run_facts(report))
    verdict = verdict_line(report["summary"])
    unchecked = unchecked_lines(report)
    absent = absent_line(report)
    return (
        f'<header class="{_status_class(status)}">\n'
        f"<h1>Conformance report: {_text(overall_status(report))}</h1>\n"
        f'<p class="meta">{facts}</p>\n<p class="meta">{_text(count_line(report["summary"]))}</p>\n'
        + (f'<p class="verdict"><b>{_text(verdict)}</b></p>\n' if verdict else "")
        + (
            "<p>Not checked:</p><ul>" + "".join(f"<li>{_text(line)}</li>" for line in unchecked) + "</ul>\n"
            if unchecked
            else ""
        )
        + (f'<p class="muted">{_text(absent)}</p>\n' if absent else "")
        + "</header>"
    )


def _incomplete_banner(report: dict[str, Any]) -> str:
    if report["complete"]:
        return ""
    return (
        f'<div class="banner" role="alert"><b>INCOMPLETE</b>: {_text(not_run_line(report["summary"]))}</div>'
    )


def _navigation(with_baseline: bool) -> str:
    links = [("matrix", "Layers × checks"), ("layers", "Layers"), ("taylor", "Taylor slopes")]
    links += [("noise-floor", "Noise floor"), ("environment", "Environment"), ("reading", "How to read this")]
    if with_baseline:
        links.insert(1, ("baseline", "Changes since baseline"))
    return "<nav>" + "".join(f'<a href="#{anchor}">{name}</a>' for anchor, name in links) + "</nav>"


def _anchor(row: dict[str, Any]) -> str:
    return "layer-" + "".join(ch if ch.isalnum() else "-" for ch in str(row["layer"]))


def _matrix_section(rows: list[dict[str, Any]], checks: list[str]) -> str:
    columns = '<colgroup><col class="layer">' + "<col>" * len(checks) + "</colgroup>"
    parts = []
    for group, members in groups_of(rows):
        body = [
            f'<tr><td class="layer"><a href="#{_anchor(row)}">{_text(row["layer"])}</a></td>'
            + "".join(_matrix_cell(cell(row, check), row) for check in checks)
            + "</tr>"
            for row in members
        ]
        parts.append(
            f'<h3 class="group">{_text(group)}</h3>\n' + _table(["Layer", *checks], body, "matrix", columns)
        )
    legend = (
        "Each cell: the check's status, its worst relative error over all targets, cases and examples, and "
        "the smallest margin (tolerance ÷ error; below 1 fails); for a check that did not pass, how many of "
        "its cases did not. Taylor shows the smallest fitted slope. Hover a cell for each target; click to "
        "open the layer. n/a: not implemented; signature: the constructor does not take the row's "
        "arguments; partial: some gradients could not be read (see contract); –: does not apply."
    )
    return (
        '<section id="matrix">\n<h2>Layers × checks</h2>\n'
        + "\n".join(parts)
        + f'\n<p class="muted">{legend}</p>\n</section>'
    )


def _matrix_cell(found: Cell | None, row: dict[str, Any]) -> str:
    if found is None or found.status == "skipped":
        title = f' title="{_text(found.message)}"' if found is not None and found.message else ""
        return f'<td class="s-other"{title}>–</td>'
    measure = found.measure()
    margin = _margin(found.margin)
    content = _text(label(found.status))
    content += f'<span class="measure">{_text(measure)}</span>' if measure else ""
    content += f'<span class="margin">{_text(found.case_tally)}</span>' if found.case_tally else ""
    content += (
        f'<span class="margin">margin {_text(margin)}</span>' if margin and not found.case_tally else ""
    )
    title = _cell_title(found)
    return (
        f'<td class="{_status_class(found.status)}" title="{_text(title)}">'
        f'<a href="#{_anchor(row)}">{content}</a></td>'
    )


def _cell_title(found: Cell) -> str:
    """The tooltip of a matrix cell: each case that did not pass, each target, or why not run."""
    if found.status in ("not_implemented", "skipped", "signature_mismatch") and found.message:
        return found.message
    lines = [text for status, text in found.case_lines() if status != "pass"]
    return "\n".join([*lines, *(_target_line(found.check, target) for target in found.targets)])


def _error_text(target: dict[str, Any], key: str) -> str:
    """An error column; the maxima read NaN/inf when an example produced non-finite values."""
    if target["non_finite"] and key != "median_rel_err":
        return "NaN/inf"
    return number(target[key])


def _target_line(check: str, target: dict[str, Any]) -> str:
    """One target in a tooltip: ``gradient dx · float64: FAIL on 184 of 191 examples; max rel 4.05e+00 …``."""
    parts = [f"{check} {target['target']} · {target['dtype']}: {label(target['status'])}"]
    parts[0] += f" {failure_count(target)}" if target["failures"] else f" ({target['examples']} examples)"
    if target["non_finite"]:
        parts.append(f"NaN or inf on {target['non_finite']} examples")
    elif target["max_rel_err"] is not None:
        parts.append(f"max rel {number(target['max_rel_err'])}")
    if target["tolerance"] is not None and check != "taylor":
        parts.append(f"tolerance {tolerance_range(target)}")
    if target["margin"] is not None:
        parts.append(f"margin {_margin(target['margin'])}")
    if target["slope"] and target["slope"]["min"] is not None:
        parts.append(f"slope min {target['slope']['min']:.2f}")
    return "; ".join(parts)


def _layers_section(rows: list[dict[str, Any]], checks: list[str]) -> str:
    parts = []
    for group, members in groups_of(rows):
        parts.append(f'<h3 class="group">{_text(group)}</h3>')
        parts += [_layer_details(row, checks) for row in members]
    return '<section id="layers">\n<h2>Layers</h2>\n' + "\n".join(parts) + "\n</section>"


def _layer_details(row: dict[str, Any], checks: list[str]) -> str:
    status = str(row["status"])
    opened = " open" if status in FAILING else ""
    summary = (
        f"<summary>{_badge(status)} <b>{_text(row['layer'])}</b> "
        f'<span class="muted">· {_text(_tally(row))}</span></summary>'
    )
    body = _layer_body(row, checks)
    return f'<details class="layer" id="{_anchor(row)}"{opened}>\n{summary}\n{body}\n</details>'


def _tally(row: dict[str, Any]) -> str:
    """``5 of 7 checks pass · up to 12 cases per check · 9.7 s``."""
    if row["status"] in ("not_implemented", "signature_mismatch"):
        return label(row["status"])
    checks = [c for c in row["checks"].values() if c["status"] != "skipped"]
    passed = sum(c["status"] == "pass" for c in checks)
    cases = max((len(c["cases"]) for c in checks), default=0)
    return f"{passed} of {len(checks)} checks pass · up to {cases} cases per check · {row['seconds']:.1f} s"


def _layer_body(row: dict[str, Any], checks: list[str]) -> str:
    if row["status"] in ("not_implemented", "signature_mismatch", "skipped"):
        messages = dict.fromkeys(str(c["message"]) for c in row["checks"].values() if c.get("message"))
        return "".join(f"<p>{_text(message)}</p>" for message in messages) or "<p>Nothing was measured.</p>"
    caption = (
        "Each dot is one example's largest relative error; orange lines are the tolerances; grey "
        "dots (finite differences) are the reference's own error against the same differences."
    )
    declared = declaration_lines(row)
    parts = [
        ('<p class="muted">Declared: ' + "; ".join(_text(line) for line in declared) + "</p>")
        if declared
        else "",
        _cases_of_layer(row, checks),
        _figure(plots.layer_error_distribution(row), caption),
        _targets_table(row, checks),
        _row_failures(row, checks),
    ]
    return "\n".join(part for part in parts if part)


def _cases_of_layer(row: dict[str, Any], checks: list[str]) -> str:
    """For each check that did not pass, its cases, one line each."""
    parts = []
    for check in checks:
        found = cell(row, check)
        if found is None or not found.case_lines():
            continue
        items = "".join(
            f'<li><span class="badge {_status_class(c["status"])}">{_text(label(c["status"]))}</span> '
            f"{_text(case_line(c).split(': ', 1)[0])}"
            + (f": {_text(c['cause'])}" if c["status"] != "pass" and c.get("cause") else "")
            + "</li>"
            for c in found.cases
        )
        parts.append(
            f'<p><b>{_text(check)}</b> {_badge(found.status)} by case:</p><ul class="cases">{items}</ul>'
        )
    return "\n".join(parts)


def _targets_table(row: dict[str, Any], checks: list[str]) -> str:
    header = ["check · target", "examples", "status", "max rel (median)", "tolerance", "margin"]
    header += ["noise floor (median / max)", "slope (min / median)"]
    rows = []
    for check in checks:
        found = cell(row, check)
        if found is None:
            continue
        rows += [_target_row(check, target) for target in found.targets]
    return _table(header, rows) if rows else ""


def _target_row(check: str, target: dict[str, Any]) -> str:
    status = str(target["status"])
    failures = f" {target['failures']}/{target['examples']}" if target["failures"] else ""
    noise = target["noise_floor"]
    median = _error_text(target, "median_rel_err")
    cells = [
        f"<td>{_text(check)} <code>{_text(target['target'])}</code> {_text(target['dtype'])}</td>",
        f'<td class="num">{target["examples"]}</td>',
        f'<td class="{_status_class(status)}">{_text(label(status) + failures)}</td>',
        f'<td class="num">{_error_text(target, "max_rel_err")}'
        + (f" ({median})" if median else "")
        + "</td>",
        f'<td class="num">{_tolerance_text(check, target)}</td>',
        f'<td class="num">{_margin(target["margin"])}</td>',
        f'<td class="num">{number(noise["median"])} / {number(noise["max"])}</td>' if noise else "<td></td>",
        f"<td>{_slope_text(target['slope'])}</td>",
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def _tolerance_text(check: str, target: dict[str, Any]) -> str:
    """The Taylor check's "tolerance" is the slope threshold; the others' a relative error."""
    if check == "taylor" and target["tolerance"] is not None:
        return f"slope &gt; {target['tolerance']:g}"
    return tolerance_range(target)


def _slope_text(slope: dict[str, Any] | None) -> str:
    if not slope:
        return ""
    fitted = f"{slope['min']:.2f} / {slope['median']:.2f}" if slope["min"] is not None else "none fitted"
    return f"{fitted}; {slope['linear']} linear" if slope["linear"] else fitted


def _row_failures(row: dict[str, Any], checks: list[str]) -> str:
    parts = []
    for check in checks:
        found = cell(row, check)
        if found is not None and found.status in FAILING:
            parts.append(_check_failures(found))
    if not parts:
        return ""
    return "<h3>Minimal failing examples</h3>\n" + "\n".join(parts)


def _check_failures(found: Cell) -> str:
    parts = [f"<h4>{_text(found.check)} {_badge(found.status)}</h4>"]
    targets = failing_targets(found)
    previous: dict[str, Any] | None = None
    for target in targets:
        parts.append(_target_failure(found.check, target, previous))
        previous = target["minimal_failing_example"]
    raised = found.raised_example()
    if raised is not None:
        facts = example_facts({"max_abs_err": None, "max_rel_err": None}, raised, with_input=True)
        body = "<dl>" + "".join(_fact(fact, text) for fact, text in facts) + "</dl>"
        if raised["replay"]:
            body += f"<pre><code>{_text(raised['replay'])}</code></pre>"
        parts.append(
            f'<div class="failure s-error">\n<p><b>minimal example of the first case that raised</b></p>\n'
            f"{body}\n</div>"
        )
    if not targets and raised is None and found.message:
        parts.append(f"<pre>{_text(found.message)}</pre>")
    if found.reproduction:
        code = f"<pre><code>{_text(found.reproduction)}</code></pre>"
        parts.append(f"<p>Hypothesis replays the failing cases with:</p>\n{code}")
    return "\n".join(parts)


def _target_failure(check: str, target: dict[str, Any], previous: dict[str, Any] | None) -> str:
    status = str(target["status"])
    name = f"{check} · {target['target']} · {target['dtype']}"
    heading = f"<p><b>{_text(name)}</b> {_badge(status)} {_text(failure_count(target))}</p>"
    example = target["minimal_failing_example"]
    body = ""
    if example is not None:
        repeated = same_example(example, previous)
        facts = example_facts(target, example, with_input=not repeated)
        body = "<dl>" + "".join(_fact(fact, text) for fact, text in facts) + "</dl>"
        if repeated:
            body += "<p>Same example and replay command as above.</p>"
        elif example["replay"]:
            body += f"<pre><code>{_text(example['replay'])}</code></pre>"
    return f'<div class="failure {_status_class(status)}">\n{heading}\n{body}\n</div>'


def _fact(name: str, text: str) -> str:
    value = _text(text) if name == "error" else f"<code>{_text(text)}</code>"
    return f"<dt>{_text(name)}</dt><dd>{value}</dd>"


def _baseline_section(baseline: dict[str, Any]) -> str:
    regressions, changes = baseline_changes(baseline)
    old = baseline["environment"]
    intro = (
        f"Compared with <code>{_text(baseline['path'])}</code> "
        f"(commit <code>{_text(short_commit(old.get('commit')))}</code>, "
        f"{_text(run_date(old))}): "
        f"<b>{baseline['regressions']} regression(s)</b>, {baseline['status_changes']} status change(s). "
        "A regression is a pass turned into a failure or a worst error grown more than 10×."
    )
    caption = (
        "Worst relative error of each target, baseline against this run; the grey band is within 10×. "
        "Targets without a relative error in either run (contract, bad input, Taylor) are not drawn."
    )
    parts = [
        '<section id="baseline">\n<h2>Changes since baseline</h2>',
        f"<p>{intro}</p>",
        "<h3>Regressions</h3>\n" + _changes_table(regressions) if regressions else "<p>No regression.</p>",
        "<h3>Other status changes</h3>\n" + _changes_table(changes) if changes else "",
        _figure(plots.baseline_plot(baseline), caption),
        f"<details><summary>All {len(baseline['entries'])} compared targets</summary>\n"
        f"{_changes_table(baseline['entries'])}\n</details>",
        "</section>",
    ]
    return "\n".join(part for part in parts if part)


def _changes_table(entries: list[dict[str, Any]]) -> str:
    header = ["layer", "check", "target", "dtype", "status", "worst rel err", "ratio", "why"]
    rows = [
        f"<tr{_class('regression' if entry['regression'] else '')}>"
        f"<td>{_text(entry['layer'])}</td><td>{_text(entry['check'])}</td>"
        f"<td><code>{_text(entry['target'])}</code></td><td>{_text(entry['dtype'])}</td>"
        f'<td>{_text(status_change(entry))}</td><td class="num">{_text(error_change(entry))}</td>'
        f'<td class="num">{_ratio(entry["ratio"])}</td><td>{_text(entry["reason"])}</td></tr>'
        for entry in entries
    ]
    return _table(header, rows)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}×"


def _taylor_section(report: dict[str, Any]) -> str:
    threshold = report["tolerances"].get("taylor_slope_threshold", 1.5)
    caption = (
        "Each dot is one example's fitted slope of log remainder against log step. A right gradient "
        f"gives 2, a wrong one 1; below {_text(threshold)} fails. “linear”: the loss was linear along "
        "every direction tried, so the first-order term is exact and no slope can be fitted."
    )
    figures = [
        _figure(plots.taylor_slope_plot(members, float(threshold), group), caption)
        for group, members in groups_of(report["rows"])
    ]
    figures = [f for f in figures if f]
    return (
        '<section id="taylor">\n<h2>Taylor remainder slopes</h2>\n'
        + ("\n".join(figures) or "<p>No Taylor check ran.</p>")
        + "\n</section>"
    )


def _noise_floor_section(report: dict[str, Any]) -> str:
    caption = (
        "Each dot is one example of a finite-difference check. Horizontally: how far PyTorch's "
        "gradient is from the finite differences (their noise floor); vertically: how far the "
        "implementation's is. A correct gradient sits on the diagonal; a wrong one rises above it "
        "(red ×: over the tolerance)."
    )
    figures = [
        _figure(plots.noise_floor_plot(members, group), caption)
        for group, members in groups_of(report["rows"])
    ]
    figures = [f for f in figures if f]
    return (
        '<section id="noise-floor">\n<h2>Errors against the finite-difference noise floor</h2>\n'
        + ("\n".join(figures) or "<p>No finite-difference check ran.</p>")
        + "\n</section>"
    )


def _environment_section(environment: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    old = baseline["environment"] if baseline is not None else None
    header = ["", "this run", "baseline"] if old is not None else ["", "this run"]
    rows = []
    for key in dict.fromkeys([*environment, *(old or {})]):
        cells = f"<th>{_text(key)}</th><td>{_setting(environment.get(key))}</td>"
        if old is not None:
            changed = "changed" if old.get(key) != environment.get(key) else ""
            cells += f"<td{_class(changed)}>{_setting(old.get(key))}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return '<section id="environment">\n<h2>Environment</h2>\n' + _table(header, rows) + "\n</section>"


def _setting(value: object) -> str:
    return "–" if value is None else _text(value)


def _constant(value: object) -> str:
    """A tolerance constant: numbers to four digits, a mapping as ``name value`` pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{_text(name)} {_constant(item)}" for name, item in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    return _text(value)


def _reading_guide(tolerances: dict[str, Any]) -> str:
    def constant(key: str) -> str:
        return f"<code>{_constant(tolerances.get(key, 'see conformance.json'))}</code>"

    paragraphs = [
        "<b>Cases.</b> A check's verdict is given per case: the categorical choices of a draw (the rank "
        "of an input whose rank is free, the label format, the value regime, a batch of one, a single "
        "class, train or test mode, how a stateful layer gets its state). Every case is tried on examples "
        "of its own, so a failure in one never hides the others; the check's status is the worst of its "
        "cases'.",
        "<b>Error measure.</b> Each measurement compares one tensor (an output or a gradient) of one "
        f"example with its reference: {constant('error_measure')}. Relative to the largest reference "
        "value, and absolute for values below 1, so entries near zero do not turn rounding into huge "
        "relative errors.",
        "<b>Tolerances.</b> Against PyTorch (forward, gradient, float32, stability) both sides evaluate "
        f"the same formula and may differ by rounding only: {constant('reference_tolerance')}, with eps per "
        f"dtype {constant('eps')}. Against central finite differences with step h = "
        f"{constant('finite_difference_step')}: {constant('finite_difference_tolerance')}, truncation "
        "plus rounding amplified by 1/h. Tensors with at most "
        f"{constant('finite_difference_elementwise_limit')} elements are differenced element by element, "
        "larger ones along random directions. The margin is tolerance ÷ error: above 1 passes, and the "
        "larger, the safer.",
        "<b>Noise floor.</b> Finite differences are themselves inexact. The finite-difference check "
        "therefore also measures PyTorch's gradient against the same differences: that error is the "
        "noise floor. An implementation whose error is close to the noise floor agrees as well as finite "
        "differences can tell; one far above it has a wrong gradient.",
        "<b>Taylor slope.</b> With L = Σ dout · out, the scalar whose gradient backward computes, the "
        "remainder along a random direction v, |L(x + hv) − L(x) − h⟨g, v⟩|, shrinks like h² when g is "
        "the true gradient and like h when it is not. The check fits the slope "
        f"of log remainder against log h and requires more than {constant('taylor_slope_threshold')}; "
        "an ideal gradient gives 2.",
    ]
    return (
        '<section id="reading">\n<h2>How to read this report</h2>\n'
        + "\n".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
        + "\n</section>"
    )
