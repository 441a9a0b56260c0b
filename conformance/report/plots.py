"""The plots of ``index.html``, drawn as compact inline SVG (see :mod:`conformance.report.svg`).

Every function returns the ``<svg>`` element as a string, or ``None`` when the
document holds nothing to draw. Relative errors are drawn on log scales, where
an exact zero has no place: zeros (and anything smaller) are drawn at
:data:`ZERO_FLOOR` and the axis labels say so. Points are jittered sideways
with a fixed seed, so equal values stay visible and a report renders the same
way every time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.report.svg import MARKERS, PALETTE, Canvas, LinearScale, LogScale

ZERO_FLOOR = 1e-18
"""Errors below this (exact zeros above all) are drawn at this value on log axes."""

WIDEST = 1180.0
NARROWEST_STRIP = 680.0
"""A strip plot is at least this wide, so that its title and legend fit."""
LABEL_ROOM = 16.0
"""Pixels across that a category needs for its own label (10-px text at 60 degrees, with a gap)."""
"""Pixels; wider plots would only be scaled down by the page."""

_ZERO_NOTE = f"(zeros at {ZERO_FLOOR:.0e})"
_CHECK_ABBREVIATIONS = {
    "forward": "fwd",
    "gradient": "grad",
    "finite_difference": "FD",
    "float32": "f32",
    "stability": "stab",
}


def _targets(row: dict[str, Any], check: str | None = None) -> list[dict[str, Any]]:
    """The targets of a row (of one check), each with its check's name added."""
    return [
        {**target, "check": name}
        for name, entry in row["checks"].items()
        if check is None or name == check
        for target in entry["targets"]
    ]


def _measured(group: dict[str, Any], *keys: str) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
    """The per-example samples named ``keys``, restricted to the examples that have all of them.

    The sample lists are parallel (one entry per example) with None where an example
    did not measure that quantity; a quantity no example measured is absent.
    """
    if not all(key in group["samples"] for key in keys):
        return [np.zeros(0) for _ in keys]
    columns = [group["samples"][key] for key in keys]
    rows = [values for values in zip(*columns, strict=True) if all(v is not None for v in values)]
    return [np.asarray([row[i] for row in rows], dtype=np.float64) for i in range(len(keys))]


def _floored(values: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.maximum(np.asarray(values, dtype=np.float64), ZERO_FLOOR)


def _log_scale(*arrays: np.ndarray[Any, Any]) -> LogScale:
    highest = max([1e-12, *(float(a.max()) for a in arrays if a.size)])
    return LogScale(ZERO_FLOOR / 4, highest * 4)


def layer_error_distribution(row: dict[str, Any]) -> str | None:
    """Per-example relative errors of one layer, one strip per (check, target, dtype).

    Each strip carries the target's strictest and loosest tolerance; finite-difference
    strips also show the noise floor of each example, to the left of its errors.
    """
    groups = [g for g in _targets(row) if g["check"] != "taylor" and _measured(g, "rel_err")[0].size]
    if not groups:
        return None
    columns = [_measured(g, "rel_err", "tolerance") for g in groups]
    noise = [_measured(g, "noise_floor")[0] for g in groups]
    scale = _log_scale(*(c[0] for c in columns), *noise, *(c[1] for c in columns))
    width = min(WIDEST, 150 + 46 * len(groups))
    canvas = Canvas(width, 300, scale, categories=len(groups), bottom=58, right=12)
    rng = np.random.default_rng(0)
    for position, (group, (errors, tolerances), floor) in enumerate(zip(groups, columns, noise, strict=True)):
        low = position - 0.36
        if floor.size:
            canvas.markers(rng.uniform(low, position - 0.02, floor.size), _floored(floor), "noise")
            low = position + 0.02
        over = errors > tolerances
        spread = rng.uniform(low, position + 0.36, errors.size)
        canvas.markers(spread[~over], _floored(errors[~over]), "pass")
        canvas.markers(spread[over], _floored(errors[over]), "over", size=2.8)
        if group["tolerance"] is not None:
            canvas.hline(group["tolerance"], position - 0.42, position + 0.42, "tol")
        loosest = group["tolerance_max"]
        if loosest is not None and group["tolerance"] is not None and loosest > group["tolerance"] * 1.01:
            canvas.hline(loosest, position - 0.42, position + 0.42, "tol2")
        x = canvas.px(position)
        canvas.text(x, canvas.height - canvas.bottom + 13, str(group["target"]), "middle", "lbl")
        check = _CHECK_ABBREVIATIONS.get(group["check"], group["check"])
        dtype = " f32" if group["dtype"] == "float32" and group["check"] != "float32" else ""
        canvas.text(x, canvas.height - canvas.bottom + 25, check + dtype, "middle", "tick")
    canvas.frame(f"{row['layer']}: relative error per example", f"relative error {_ZERO_NOTE}")
    canvas.legend(
        [
            ("within tolerance", "pass", "dot", ""),
            ("over tolerance", "over", "dot", ""),
            ("noise floor (reference vs FD)", "noise", "dot", ""),
            ("tolerance (strictest / loosest)", "tol", "line", ""),
        ],
        canvas.left + 8,
        canvas.height - 10,
        across=True,
    )
    return canvas.svg(f"{row['layer']}: relative error per example")


def taylor_slope_plot(rows: list[dict[str, Any]], threshold: float, title: str = "") -> str | None:
    """Fitted Taylor-remainder slopes of every (layer, target) of ``rows`` with the threshold and
    the ideal 2 (one plot per group of rows keeps every strip readable)."""
    groups = [(str(row["layer"]), g) for row in rows for g in _targets(row, "taylor")]
    if not groups:
        return None
    slopes = [_measured(g, "slope")[0] for _, g in groups]
    fitted = np.concatenate([s for s in slopes if s.size] or [np.zeros(0)])
    low = min([0.8, *(fitted.tolist() or [])]) - 0.1
    high = max([2.3, *(fitted.tolist() or [])]) + 0.1
    heading = f"{title}: " if title else ""
    caption = f"{heading}Taylor remainder slopes (a wrong gradient gives about 1)"
    # Wide enough for the title (bold 12-px text, about 8 px a character); the legend goes
    # between the title and the box.
    width = min(WIDEST, max(NARROWEST_STRIP, 80 + 8 * len(caption), 160 + 22 * len(groups)))
    # A rotated label needs LABEL_ROOM px across; with less room each layer is labelled
    # once, under the middle of its targets, and thin rules separate the layers.
    per_target = (width - 78) / len(groups) >= LABEL_ROOM  # 78: the canvas' left and right margins
    labels = [f"{layer} · {group['target']}" if per_target else layer for layer, group in groups]
    bottom = 30 + 5.2 * max(map(len, labels))  # 6 px a character of 10-px text, times sin 60°
    canvas = Canvas(
        width, 236 + bottom, LinearScale(low, high), categories=len(groups), top=42, bottom=bottom
    )
    rng = np.random.default_rng(0)
    for position, ((layer, group), values) in enumerate(zip(groups, slopes, strict=True)):
        x = canvas.px(position)
        if values.size == 0:
            note = "linear" if group["status"] == "pass" else str(group["status"])
            canvas.text(x + 3, canvas.py(2.0), note, "middle", "tick", rotate=-90)
        else:
            spread = rng.uniform(position - 0.3, position + 0.3, values.size)
            bad = values < threshold
            canvas.markers(spread[~bad], values[~bad], "pass")
            canvas.markers(spread[bad], values[bad], "over", size=2.8)
        if per_target:
            base = canvas.height - canvas.bottom + 8
            canvas.text(x + 3, base, f"{layer} · {group['target']}", "end", "tick", rotate=-60)
    if not per_target:
        _label_layers(canvas, [layer for layer, _ in groups])
    canvas.hline(2.0, -0.5, len(groups) - 0.5, "ideal")
    canvas.hline(threshold, -0.5, len(groups) - 0.5, "threshold")
    canvas.frame(caption, "fitted slope")
    canvas.legend(
        [
            ("ideal: 2 (remainder shrinks as h²)", "ideal", "line", ""),
            (f"threshold {threshold:g}", "threshold", "line", ""),
        ],
        canvas.left,
        canvas.top - 10,
        across=True,
    )
    return canvas.svg(f"{heading}Taylor remainder slopes")


def _label_layers(canvas: Canvas, layers: list[str]) -> None:
    """One rotated label per run of a layer's categories, and a rule between runs."""
    start = 0
    for end in range(1, len(layers) + 1):
        if end < len(layers) and layers[end] == layers[start]:
            continue
        middle = canvas.px((start + end - 1) / 2)
        canvas.text(middle + 3, canvas.height - canvas.bottom + 8, layers[start], "end", "tick", rotate=-60)
        if end < len(layers):
            canvas.vline(end - 0.5, "separator")
        start = end


def noise_floor_plot(rows: list[dict[str, Any]], title: str = "") -> str | None:
    """Implementation-vs-finite-difference error against reference-vs-finite-difference error,
    per example, for the layers of ``rows``: each layer its own (colour, marker) pair."""
    groups = [
        (str(row["layer"]), g)
        for row in rows
        for g in _targets(row, "finite_difference")
        if _measured(g, "noise_floor", "rel_err")[0].size
    ]
    if not groups:
        return None
    data = [_measured(g, "noise_floor", "rel_err", "tolerance") for _, g in groups]
    scale = _log_scale(*(d[0] for d in data), *(d[1] for d in data))
    layers = list(dict.fromkeys(layer for layer, _ in groups))
    styles = {
        layer: (PALETTE[i % (len(PALETTE) - 1)], MARKERS[(i // (len(PALETTE) - 1) + i) % len(MARKERS)])
        for i, layer in enumerate(layers)
    }
    canvas = Canvas(640 + 180, 520, scale, x=scale, right=194, bottom=52)
    canvas.polyline([(scale.low, scale.low), (scale.high, scale.high)], "diagonal")
    for (layer, _), (floor, errors, tolerances) in zip(groups, data, strict=True):
        color, marker = styles[layer]
        over = errors > tolerances
        canvas.markers(_floored(floor[~over]), _floored(errors[~over]), "series", marker, 2.6, color)
        canvas.markers(_floored(floor[over]), _floored(errors[over]), "cross", "x", 3)
    heading = f"{title}: " if title else ""
    canvas.frame(
        f"{heading}finite-difference errors against the noise floor (red x: over tolerance)",
        f"implementation vs FD {_ZERO_NOTE}",
        f"reference vs FD: the noise floor {_ZERO_NOTE}",
    )
    canvas.legend(
        [(layer, "series", styles[layer][1], styles[layer][0]) for layer in layers],
        canvas.width - canvas.right + 12,
        canvas.top + 10,
    )
    return canvas.svg(f"{heading}finite-difference errors against the noise floor")


def baseline_plot(baseline: dict[str, Any]) -> str | None:
    """Old against new worst relative error of every target both runs measured, regressions in red."""
    entries = [
        e
        for e in baseline["entries"]
        if e["old_max_rel_err"] is not None and e["new_max_rel_err"] is not None
    ]
    if not entries:
        return None
    old = _floored(np.array([e["old_max_rel_err"] for e in entries]))
    new = _floored(np.array([e["new_max_rel_err"] for e in entries]))
    regression = np.array([bool(e["regression"]) for e in entries])
    scale = _log_scale(old, new)
    canvas = Canvas(620, 520, scale, x=scale, bottom=52)
    band = np.geomspace(scale.low, scale.high, 30)
    canvas.band(list(zip(band, band / 10, strict=True)), list(zip(band, band * 10, strict=True)))
    canvas.polyline([(scale.low, scale.low), (scale.high, scale.high)], "diagonal")
    canvas.markers(old[~regression], new[~regression], "pass")
    canvas.markers(old[regression], new[regression], "over", size=3.2)
    ranked = sorted(np.flatnonzero(regression), key=lambda i: -(entries[i]["ratio"] or 0.0))[:8]
    for index in ranked:
        entry = entries[index]
        label = f"{entry['layer']} · {entry['check']} · {entry['target']}"
        canvas.text(canvas.px(old[index]) + 5, canvas.py(new[index]) - 5, label, "start", "tick")
    canvas.frame(
        "Worst error per target: this run against the baseline (grey: within 10×)",
        f"this run {_ZERO_NOTE}",
        f"baseline {_ZERO_NOTE}",
    )
    return canvas.svg("Worst error per target: this run against the baseline")
