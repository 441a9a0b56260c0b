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
from conformance.report.markdown import (
    CheckSummary,
    baseline_changes,
    cell_measure,
    check_columns,
    count_line,
    describe_group,
    error_change,
    example_facts,
    failing_groups,
    failure_count,
    label,
    not_run_line,
    number,
    overall_status,
    run_date,
    run_facts,
    same_example,
    short_commit,
    status_change,
    summarize_check,
    tolerance_range,
)

KNOWN_STATUSES = ("pass", "fail", "error", "not_implemented", "skipped", "incomplete")

INSTALL_HINT = "Plots need matplotlib: <code>pip install 'scratchnn[reports]'</code>."

STYLE = """
:root { --pass: #1e7b34; --pass-bg: #dcf1e1; --fail: #a61b1b; --fail-bg: #f9d9d9;
  --error: #9a4a00; --error-bg: #ffe3c2; --grey: #5f6368; --grey-bg: #eceff1; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2328;
  max-width: 1200px; margin: 0 auto; padding: 0 16px 48px; }
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
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.matrix td { text-align: center; min-width: 92px; line-height: 1.25; }
table.matrix td a { color: inherit; text-decoration: none; display: block; }
table.matrix th.layer, table.matrix td.layer { text-align: left; }
.measure, .margin { display: block; font-size: 12px; }
.margin { color: var(--grey); }
.s-pass { background: var(--pass-bg); color: var(--pass); }
.s-fail { background: var(--fail-bg); color: var(--fail); font-weight: 600; }
.s-error { background: var(--error-bg); color: var(--error); font-weight: 600; }
.s-not_implemented, .s-skipped, .s-other, .s-absent { background: var(--grey-bg); color: var(--grey); }
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
""".strip()


def render_html(report: dict[str, Any]) -> str:
    """The self-contained HTML page of a report document."""
    checks = check_columns(report)
    baseline = report.get("baseline")
    body = [
        _header(report),
        _incomplete_banner(report),
        _navigation(baseline is not None),
        _matrix_section(report["rows"], checks),
        _baseline_section(baseline) if baseline is not None else "",
        _layers_section(report["rows"], checks),
        _taylor_section(report),
        _noise_floor_section(report),
        _environment_section(report["environment"], baseline),
        _reading_guide(report["tolerances"]),
    ]
    title = f"Conformance {overall_status(report)}: {report['environment'].get('implementation') or ''}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text(title)}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n"
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
    if value >= 10:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 0.01 else f"{value:.1e}"


def _table(header: list[str], rows: list[str], css_class: str = "") -> str:
    """A table from a header of plain words and rows already rendered as ``<tr>`` elements."""
    head = "".join(f"<th>{_text(name)}</th>" for name in header)
    return (
        f'<div class="wide"><table{_class(css_class)}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _figure(svg: str | None, caption: str) -> str:
    """A plot with its caption; without matplotlib, the hint that installs it."""
    if svg is None:
        return "" if plots.available() else f'<p class="note">{INSTALL_HINT}</p>'
    return f"<figure>\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>"


def _header(report: dict[str, Any]) -> str:
    status = str(report["summary"]["status"])
    facts = "".join(f"<span>{_text(name)} <b>{_text(value)}</b></span>" for name, value in run_facts(report))
    return (
        f'<header class="{_status_class(status)}">\n'
        f"<h1>Conformance report: {_text(overall_status(report))}</h1>\n"
        f'<p class="meta">{facts}</p>\n<p class="meta">{_text(count_line(report["summary"]))}</p>\n</header>'
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


def _matrix_section(rows: list[dict[str, Any]], checks: list[str]) -> str:
    header = ["Layer", *checks]
    body = [
        f'<tr><td class="layer"><a href="#layer-{index}">{_text(row["layer"])}</a></td>'
        + "".join(_matrix_cell(summarize_check(row, check), index) for check in checks)
        + "</tr>"
        for index, row in enumerate(rows)
    ]
    legend = (
        "Each cell: the check's status, its worst relative error over all targets and examples, and the "
        "smallest margin (tolerance ÷ error; below 1 fails). Taylor shows the smallest fitted slope. "
        "Hover a cell for each target; click to open the layer."
    )
    return (
        '<section id="matrix">\n<h2>Layers × checks</h2>\n'
        + _table(header, body, "matrix")
        + f'\n<p class="muted">{legend}</p>\n</section>'
    )


def _matrix_cell(summary: CheckSummary | None, row_index: int) -> str:
    if summary is None:
        return '<td class="s-other">–</td>'
    measure = cell_measure(summary)
    margin = _margin(summary.margin)
    content = _text(label(summary.status))
    content += f'<span class="measure">{_text(measure)}</span>' if measure else ""
    content += f'<span class="margin">margin {_text(margin)}</span>' if margin else ""
    title = _cell_title(summary)
    return (
        f'<td class="{_status_class(summary.status)}" title="{_text(title)}">'
        f'<a href="#layer-{row_index}">{content}</a></td>'
    )


def _cell_title(summary: CheckSummary) -> str:
    """The tooltip of a matrix cell: each group, or why the check was not run."""
    if summary.status in ("not_implemented", "skipped") and summary.message:
        return summary.message
    return "\n".join(_group_line(group) for group in summary.groups)


def _error_text(group: dict[str, Any], key: str) -> str:
    """An error column; the maxima read NaN/inf when an example produced non-finite values."""
    if group["non_finite"] and key != "median_rel_err":
        return "NaN/inf"
    return number(group[key])


def _group_line(group: dict[str, Any]) -> str:
    """One group in a tooltip: ``dx · float64: FAIL on 184 of 191 examples; max rel 4.05e+00 …``."""
    parts = [f"{describe_group(group)}: {label(group['status'])}"]
    parts[0] += f" {failure_count(group)}" if group["failures"] else f" ({group['examples']} examples)"
    if group["non_finite"]:
        parts.append(f"NaN or inf on {group['non_finite']} examples")
    elif group["max_rel_err"] is not None:
        parts.append(f"max rel {number(group['max_rel_err'])}")
    if group["tolerance"] is not None:
        parts.append(f"tolerance {tolerance_range(group)}")
    if group["margin"] is not None:
        parts.append(f"margin {_margin(group['margin'])}")
    if group["slope"] and group["slope"]["min"] is not None:
        parts.append(f"slope min {group['slope']['min']:.2f}")
    return "; ".join(parts)


def _layers_section(rows: list[dict[str, Any]], checks: list[str]) -> str:
    details = [_layer_details(row, checks, index) for index, row in enumerate(rows)]
    return '<section id="layers">\n<h2>Layers</h2>\n' + "\n".join(details) + "\n</section>"


def _layer_details(row: dict[str, Any], checks: list[str], index: int) -> str:
    status = str(row["status"])
    opened = " open" if status in FAILING else ""
    summary = (
        f"<summary>{_badge(status)} <b>{_text(row['layer'])}</b> "
        f'<span class="muted">· {_text(_tally(row))}</span></summary>'
    )
    body = _layer_body(row, checks)
    return f'<details class="layer" id="layer-{index}"{opened}>\n{summary}\n{body}\n</details>'


def _tally(row: dict[str, Any]) -> str:
    """``5 of 7 checks pass · 9.7 s``."""
    outcomes = row["outcomes"].values()
    passed = sum(outcome["status"] == "pass" for outcome in outcomes)
    return f"{passed} of {len(outcomes)} checks pass · {row['seconds']:.1f} s"


def _layer_body(row: dict[str, Any], checks: list[str]) -> str:
    if row["status"] in ("not_implemented", "skipped"):
        messages = dict.fromkeys(str(o["message"]) for o in row["outcomes"].values() if o.get("message"))
        return "".join(f"<p>{_text(message)}</p>" for message in messages) or "<p>Nothing was measured.</p>"
    caption = (
        "Each dot is one example's largest relative error; orange lines are the tolerances; grey "
        "dots (finite differences) are the reference's own error against the same differences."
    )
    parts = [
        _figure(plots.layer_error_distribution(row), caption),
        _groups_table(row["checks"], checks),
        _row_failures(row, checks),
    ]
    return "\n".join(part for part in parts if part)


def _groups_table(groups: list[dict[str, Any]], checks: list[str]) -> str:
    header = ["check", "target", "dtype", "examples", "status", "max abs", "max rel", "median rel"]
    header += ["tolerance", "margin", "noise floor (median / max)", "slope (min / median)"]
    ordered = sorted(groups, key=lambda group: checks.index(group["check"]))
    return _table(header, [_group_row(group) for group in ordered])


def _group_row(group: dict[str, Any]) -> str:
    status = str(group["status"])
    failures = f" {group['failures']}/{group['examples']}" if group["failures"] else ""
    noise = group["noise_floor"]
    cells = [
        f"<td>{_text(group['check'])}</td><td><code>{_text(group['target'])}</code></td>",
        f"<td>{_text(group['dtype'])}</td>",
        f'<td class="num">{group["examples"]}</td>',
        f'<td class="{_status_class(status)}">{_text(label(status) + failures)}</td>',
        *(
            f'<td class="num">{_error_text(group, key)}</td>'
            for key in ("max_abs_err", "max_rel_err", "median_rel_err")
        ),
        f'<td class="num">{_tolerance_text(group)}</td>',
        f'<td class="num">{_margin(group["margin"])}</td>',
        f'<td class="num">{number(noise["median"])} / {number(noise["max"])}</td>' if noise else "<td></td>",
        f"<td>{_slope_text(group['slope'])}</td>",
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def _tolerance_text(group: dict[str, Any]) -> str:
    """The Taylor check's "tolerance" is the slope threshold; the others' a relative error."""
    if group["check"] == "taylor" and group["tolerance"] is not None:
        return f"slope &gt; {group['tolerance']:g}"
    return tolerance_range(group)


def _slope_text(slope: dict[str, Any] | None) -> str:
    if not slope:
        return ""
    fitted = f"{slope['min']:.2f} / {slope['median']:.2f}" if slope["min"] is not None else "none fitted"
    return f"{fitted}; {slope['linear']} linear" if slope["linear"] else fitted


def _row_failures(row: dict[str, Any], checks: list[str]) -> str:
    parts = []
    for check in checks:
        summary = summarize_check(row, check)
        if summary is not None and summary.status in FAILING:
            parts.append(_check_failures(summary))
    if not parts:
        return ""
    return "<h3>Minimal failing examples</h3>\n" + "\n".join(parts)


def _check_failures(summary: CheckSummary) -> str:
    parts = [f"<h4>{_text(summary.check)} {_badge(summary.status)}</h4>"]
    groups = failing_groups(summary)
    previous: dict[str, Any] | None = None
    for group in groups:
        parts.append(_group_failure(summary.check, group, previous))
        previous = group["minimal_failing_example"]
    if not groups and summary.message:
        parts.append(f"<pre>{_text(summary.message)}</pre>")
    if summary.reproduction:
        code = f"<pre><code>{_text(summary.reproduction)}</code></pre>"
        parts.append(f"<p>Hypothesis replays this check's failure with:</p>\n{code}")
    return "\n".join(parts)


def _group_failure(check: str, group: dict[str, Any], previous: dict[str, Any] | None) -> str:
    status = str(group["status"])
    name = f"{check} · {describe_group(group)}"
    heading = f"<p><b>{_text(name)}</b> {_badge(status)} {_text(failure_count(group))}</p>"
    example = group["minimal_failing_example"]
    body = ""
    if example is not None:
        repeated = same_example(example, previous)
        facts = example_facts(group, example, with_input=not repeated)
        body = "<dl>" + "".join(_fact(name, text) for name, text in facts) + "</dl>"
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
        "Worst relative error of each group, baseline against this run; the grey band is within 10×. Groups "
        "without a relative error in either run (contract, bad input, Taylor) are not drawn."
    )
    parts = [
        '<section id="baseline">\n<h2>Changes since baseline</h2>',
        f"<p>{intro}</p>",
        "<h3>Regressions</h3>\n" + _changes_table(regressions) if regressions else "<p>No regression.</p>",
        "<h3>Other status changes</h3>\n" + _changes_table(changes) if changes else "",
        _figure(plots.baseline_plot(baseline), caption),
        f"<details><summary>All {len(baseline['entries'])} compared groups</summary>\n"
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
    return (
        '<section id="taylor">\n<h2>Taylor remainder slopes</h2>\n'
        + (_figure(plots.taylor_slope_plot(report), caption) or "<p>No Taylor check ran.</p>")
        + "\n</section>"
    )


def _noise_floor_section(report: dict[str, Any]) -> str:
    caption = (
        "Each dot is one example of a finite-difference check. Horizontally: how far PyTorch's "
        "gradient is from the finite differences (their noise floor); vertically: how far the "
        "implementation's is. A correct gradient sits on the diagonal; a wrong one rises above it "
        "(red ×: over the tolerance)."
    )
    return (
        '<section id="noise-floor">\n<h2>Errors against the finite-difference noise floor</h2>\n'
        + (_figure(plots.noise_floor_plot(report), caption) or "<p>No finite-difference check ran.</p>")
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
        "<b>Error measure.</b> Each measurement compares one tensor (an output or a gradient) of one "
        f"example with its reference: {constant('error_measure')}. Relative to the largest reference "
        "value, and absolute for values below 1, so entries near zero do not turn rounding into huge "
        "relative errors.",
        "<b>Tolerances.</b> Against PyTorch (forward, gradient, float32) both sides evaluate the same "
        f"formula and may differ by rounding only: {constant('reference_tolerance')}, with eps per dtype "
        f"{constant('eps')}. Against central finite differences with step h = "
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
