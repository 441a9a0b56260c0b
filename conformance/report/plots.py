"""The plots of ``index.html``, drawn with matplotlib as SVG text to inline in HTML5.

Every function returns the ``<svg>`` element as a string, or ``None`` when
matplotlib is not installed (it is the optional ``reports`` extra) or when the
document holds nothing to draw; :func:`available` tells the two apart.

Figures are built with :class:`matplotlib.figure.Figure` directly rather than
through pyplot: no backend is selected, no global figure list is touched, and
nothing needs closing, so rendering a report never changes the state of the
process that calls it (a notebook, a test run). Text stays text
(``svg.fonttype = "none"``), which keeps the files small and searchable.

Relative errors are drawn on log scales, where an exact zero has no place:
zeros (and anything smaller) are drawn at :data:`ZERO_FLOOR` and the axis
labels say so.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

ZERO_FLOOR = 1e-18
"""Errors below this (exact zeros above all) are drawn at this value on log axes."""

WIDEST_FIGURE = 11.0
"""Inches; wider figures would only be scaled down by the page."""

PASS_COLOR = "#1f77b4"
FAIL_COLOR = "#d62728"
TOLERANCE_COLOR = "#ff7f0e"
NOISE_COLOR = "#7f7f7f"
IDEAL_COLOR = "#2ca02c"

_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_NAMESPACE_ATTRIBUTE = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_ID_ATTRIBUTE = re.compile(r'\s+id="([^"]*)"')
_ID_REFERENCE = re.compile(r'(?:href="#|url\(#)([^")]*)')
_ZERO_NOTE = f"(zeros drawn at {ZERO_FLOOR:.0e})"
_CHECK_ABBREVIATIONS = {"forward": "fwd", "gradient": "grad", "finite_difference": "FD", "float32": "f32"}


def available() -> bool:
    """Whether matplotlib can be imported, i.e. whether the plot functions draw anything."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def layer_error_distribution(row: dict[str, Any]) -> str | None:
    """Per-example relative errors of one layer, one strip per (check, target, dtype).

    Each strip carries the group's strictest and loosest tolerance; finite-difference
    strips also show the noise floor of each example, to the left of its errors.
    """
    groups = [group for group in row["checks"] if _values(group, "rel_err").size]
    if not groups:
        return None
    width = min(WIDEST_FIGURE, max(6.0, 2.0 + 0.62 * len(groups)))
    return _render_svg(
        lambda figure: _draw_error_strips(figure, str(row["layer"]), groups),
        size=(width, 3.9),
        salt=f"layer-{row['layer']}",
    )


def taylor_slope_plot(report: dict[str, Any]) -> str | None:
    """Fitted Taylor-remainder slopes of every (layer, target) with the threshold and the ideal 2."""
    groups = [
        (str(row["layer"]), group)
        for row in report["rows"]
        for group in row["checks"]
        if group["check"] == "taylor" and group["target"] != "-"
    ]
    if not groups:
        return None
    threshold = float(report["tolerances"].get("taylor_slope_threshold", 1.5))
    width = min(WIDEST_FIGURE, max(6.0, 2.5 + 0.34 * len(groups)))
    return _render_svg(
        lambda figure: _draw_taylor_slopes(figure, groups, threshold), size=(width, 4.2), salt="taylor"
    )


def noise_floor_plot(report: dict[str, Any]) -> str | None:
    """Implementation-vs-finite-difference error against reference-vs-finite-difference error, per example."""
    groups = [
        (str(row["layer"]), group)
        for row in report["rows"]
        for group in row["checks"]
        if group["check"] == "finite_difference" and _noise_pairs_available(group)
    ]
    if not groups:
        return None
    return _render_svg(lambda figure: _draw_noise_floor(figure, groups), size=(8.0, 5.6), salt="noise")


def baseline_plot(baseline: dict[str, Any]) -> str | None:
    """Old against new worst relative error of every group both runs measured, regressions in red."""
    entries = [
        entry
        for entry in baseline["entries"]
        if entry["old_max_rel_err"] is not None and entry["new_max_rel_err"] is not None
    ]
    if not entries:
        return None
    return _render_svg(lambda figure: _draw_baseline(figure, entries), size=(7.5, 5.6), salt="baseline")


def _render_svg(draw: Callable[[Figure], None], size: tuple[float, float], salt: str) -> str | None:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        return None
    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            # A salt per plot makes the SVG ids deterministic and distinct between the plots of one page.
            "svg.hashsalt": salt,
            "font.size": 9,
            "font.family": "sans-serif",
            # Written into every <text>: keep the list short; browsers without DejaVu use Arial.
            "font.sans-serif": ["DejaVu Sans", "Arial"],
            "axes.grid": True,
            "grid.alpha": 0.35,
            "grid.linewidth": 0.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.fontsize": 8,
        }
    ):
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    return _inline_svg(buffer.getvalue())


def _inline_svg(document: str) -> str:
    """The ``<svg>`` element alone: no XML prolog or DOCTYPE, no namespace declarations,
    no ids that nothing refers to.

    The HTML5 parser puts an inline ``<svg>`` and its ``xlink:href`` attributes in
    their namespaces by itself, so the page needs no namespace URIs at all. Every
    matplotlib figure names its groups ``figure_1``, ``axes_1`` ...: several plots on
    one page would repeat those ids, so only the (salted, distinct) referenced ones stay.
    """
    element = _NAMESPACE_ATTRIBUTE.sub("", document[document.index("<svg") :], count=2)
    referenced = set(_ID_REFERENCE.findall(element))
    return _ID_ATTRIBUTE.sub(lambda m: m.group(0) if m.group(1) in referenced else "", element).strip()


def _plain(text: str) -> str:
    """Document text as a matplotlib label: a ``$`` must not start mathtext."""
    return text.replace("$", r"\$")


def _floored(values: Sequence[float] | np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.maximum(np.asarray(values, dtype=np.float64), ZERO_FLOOR)


def _spread(count: int, low: float, high: float, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """Horizontal positions of a strip's points, jittered so equal values stay visible."""
    return rng.uniform(low, high, size=count)


def _measured(group: dict[str, Any], *keys: str) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
    """The per-example samples named ``keys``, restricted to the examples that have all of them.

    The sample lists are parallel (one entry per example) with None where an example
    did not measure that quantity.
    """
    columns = [group["samples"][key] for key in keys]
    rows = [values for values in zip(*columns, strict=True) if all(v is not None for v in values)]
    return [np.asarray([row[i] for row in rows], dtype=np.float64) for i in range(len(keys))]


def _values(group: dict[str, Any], key: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    return _measured(group, key)[0]


def _noise_pairs_available(group: dict[str, Any]) -> bool:
    return bool(_measured(group, "noise_floor", "rel_err")[0].size)


def _group_label(group: dict[str, Any]) -> str:
    check = str(group["check"])
    label = f"{group['target']}\n{_CHECK_ABBREVIATIONS.get(check, check)}"
    if group["dtype"] not in ("float64", check):
        label += f" {group['dtype']}"
    return _plain(label)


def _plain_decade_labels(*axes: Axis) -> None:
    """Decades labelled as plain text (``1e−16``): mathtext labels are slow to lay out and bloat the SVG."""
    from matplotlib.ticker import LogFormatter

    for axis in axes:
        axis.set_major_formatter(LogFormatter(labelOnlyBase=True))


def _draw_error_strips(figure: Figure, layer: str, groups: list[dict[str, Any]]) -> None:
    axes = figure.add_subplot()
    rng = np.random.default_rng(0)
    for position, group in enumerate(groups):
        raw_errors, tolerances = _measured(group, "rel_err", "tolerance")
        errors, exceeding = _floored(raw_errors), raw_errors > tolerances
        low = position - 0.36
        if _values(group, "noise_floor").size:
            noise = _floored(_values(group, "noise_floor"))
            spread = _spread(len(noise), low, position - 0.02, rng)
            axes.plot(spread, noise, "o", ms=2.2, mew=0, alpha=0.6, color=NOISE_COLOR)
            low = position + 0.02
        spread = _spread(len(errors), low, position + 0.36, rng)
        axes.plot(spread[~exceeding], errors[~exceeding], "o", ms=2.2, mew=0, alpha=0.6, color=PASS_COLOR)
        axes.plot(spread[exceeding], errors[exceeding], "o", ms=3.0, mew=0, color=FAIL_COLOR)
        _draw_tolerances(axes, position, group)
    axes.set_yscale("log")
    _plain_decade_labels(axes.yaxis)
    axes.set_ylim(bottom=ZERO_FLOOR / 4)
    axes.set_xlim(-0.6, len(groups) - 0.4)
    axes.set_xticks(range(len(groups)), [_group_label(group) for group in groups])
    axes.grid(axis="x", visible=False)
    axes.set_ylabel(f"relative error per example\n{_ZERO_NOTE}")
    axes.set_title(f"{_plain(layer)}: relative error per example", loc="left")
    figure.legend(handles=_error_strip_legend(), loc="outside lower center", ncols=3, frameon=False)


def _draw_tolerances(axes: Axes, position: int, group: dict[str, Any]) -> None:
    strictest, loosest = group["tolerance"], group["tolerance_max"]
    if strictest is not None:
        axes.hlines(strictest, position - 0.42, position + 0.42, color=TOLERANCE_COLOR, lw=1.6)
    if loosest is not None and strictest is not None and loosest > strictest * 1.01:
        axes.hlines(loosest, position - 0.42, position + 0.42, color=TOLERANCE_COLOR, lw=1.2, ls="--")


def _error_strip_legend() -> list[Any]:
    from matplotlib.lines import Line2D

    def marker(color: str, label: str) -> Line2D:
        return Line2D([], [], ls="", marker="o", ms=4, mew=0, color=color, label=label)

    return [
        marker(PASS_COLOR, "within its tolerance"),
        marker(FAIL_COLOR, "over its tolerance"),
        marker(NOISE_COLOR, "noise floor (reference vs FD)"),
        Line2D([], [], color=TOLERANCE_COLOR, lw=1.6, label="tolerance (strictest example)"),
        Line2D([], [], color=TOLERANCE_COLOR, lw=1.2, ls="--", label="tolerance (loosest example)"),
    ]


def _draw_taylor_slopes(figure: Figure, groups: list[tuple[str, dict[str, Any]]], threshold: float) -> None:
    axes = figure.add_subplot()
    rng = np.random.default_rng(0)
    fitted: list[float] = []
    for position, (_, group) in enumerate(groups):
        slopes = _values(group, "slope")
        if slopes.size == 0:
            note = "linear" if group["status"] == "pass" else str(group["status"])
            axes.text(position, 2.0, _plain(note), rotation=90, ha="center", va="center", color=NOISE_COLOR)
            continue
        fitted.extend(slopes.tolist())
        spread = _spread(slopes.size, position - 0.3, position + 0.3, rng)
        low = slopes < threshold
        axes.plot(spread[~low], slopes[~low], "o", ms=2.5, mew=0, alpha=0.6, color=PASS_COLOR)
        axes.plot(spread[low], slopes[low], "o", ms=3.0, mew=0, color=FAIL_COLOR)
    axes.axhline(2.0, color=IDEAL_COLOR, lw=1.2, ls=":", label="ideal: 2 (remainder shrinks as h²)")
    axes.axhline(threshold, color=FAIL_COLOR, lw=1.2, ls="--", label=f"threshold {threshold:g}")
    axes.set_ylim(min([0.8, *fitted]) - 0.1, max([2.3, *fitted]) + 0.1)
    axes.set_xlim(-0.6, len(groups) - 0.4)
    labels = [_plain(f"{layer} · {group['target']}") for layer, group in groups]
    axes.set_xticks(range(len(groups)), labels, rotation=60, ha="right", fontsize=7)
    axes.grid(axis="x", visible=False)
    axes.set_ylabel("fitted slope of log remainder vs log h")
    axes.set_title("Taylor remainder slopes per example (a wrong gradient gives about 1)", loc="left")
    axes.legend(loc="lower left", frameon=True)


def _draw_noise_floor(figure: Figure, groups: list[tuple[str, dict[str, Any]]]) -> None:
    from matplotlib import colormaps

    axes = figure.add_subplot()
    palette = colormaps["tab20"]
    # tab20 pairs a dark and a light shade: the first ten layers get the dark ones.
    shades = [*range(0, palette.N, 2), *range(1, palette.N, 2)]
    layers = dict.fromkeys(layer for layer, _ in groups)
    colors = {layer: palette(shades[index % palette.N]) for index, layer in enumerate(layers)}
    labelled: set[str] = set()
    highest = ZERO_FLOOR
    for layer, group in groups:
        raw_noise, raw_errors, tolerances = _measured(group, "noise_floor", "rel_err", "tolerance")
        noise, errors, exceeding = _floored(raw_noise), _floored(raw_errors), raw_errors > tolerances
        label = "_nolegend_" if layer in labelled else _plain(layer)
        labelled.add(layer)
        axes.plot(
            noise[~exceeding],
            errors[~exceeding],
            "o",
            ms=3,
            mew=0,
            alpha=0.7,
            color=colors[layer],
            label=label,
        )
        axes.plot(noise[exceeding], errors[exceeding], "x", ms=5, mew=1.2, color=FAIL_COLOR)
        highest = max(highest, float(noise.max()), float(errors.max()))
    _log_log_square(axes, highest)
    axes.set_xlabel(f"reference vs finite differences (noise floor)\n{_ZERO_NOTE}")
    axes.set_ylabel(f"implementation vs finite differences\n{_ZERO_NOTE}")
    axes.set_title("Finite-difference errors against the noise floor (red x: over tolerance)", loc="left")
    figure.legend(loc="outside right upper", frameon=False, title="layer")


def _log_log_square(axes: Axes, highest: float) -> tuple[float, float]:
    """Equal log-log axes from the zero floor to above ``highest``, with the diagonal y = x."""
    low, high = ZERO_FLOOR / 4, highest * 4
    axes.set_xscale("log")
    axes.set_yscale("log")
    _plain_decade_labels(axes.xaxis, axes.yaxis)
    axes.plot([low, high], [low, high], color="black", lw=0.8, label="y = x")
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_aspect("equal")
    return low, high


def _draw_baseline(figure: Figure, entries: list[dict[str, Any]]) -> None:
    axes = figure.add_subplot()
    old = _floored([entry["old_max_rel_err"] for entry in entries])
    new = _floored([entry["new_max_rel_err"] for entry in entries])
    regression = np.array([bool(entry["regression"]) for entry in entries])
    low, high = _log_log_square(axes, float(max(old.max(), new.max())))
    band = np.geomspace(low, high, 50)
    axes.fill_between(band, band / 10, band * 10, color=NOISE_COLOR, alpha=0.15, lw=0, label="within 10×")
    axes.plot(
        old[~regression],
        new[~regression],
        "o",
        ms=3,
        mew=0,
        alpha=0.6,
        color=PASS_COLOR,
        label="no regression",
    )
    axes.plot(old[regression], new[regression], "o", ms=5, mew=0, color=FAIL_COLOR, label="regression")
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    _label_worst_regressions(axes, entries, old, new)
    axes.set_xlabel(f"baseline worst relative error\n{_ZERO_NOTE}")
    axes.set_ylabel(f"this run's worst relative error\n{_ZERO_NOTE}")
    axes.set_title("Worst error per group: this run against the baseline", loc="left")
    axes.legend(loc="lower right")


def _label_worst_regressions(
    axes: Axes,
    entries: list[dict[str, Any]],
    old: np.ndarray[Any, Any],
    new: np.ndarray[Any, Any],
    count: int = 8,
) -> None:
    ranked = sorted(
        (index for index, entry in enumerate(entries) if entry["regression"]),
        key=lambda index: -(entries[index]["ratio"] or 0.0),
    )
    for index in ranked[:count]:
        entry = entries[index]
        label = _plain(f"{entry['layer']} · {entry['check']} · {entry['target']}")
        axes.annotate(label, (old[index], new[index]), xytext=(4, 4), textcoords="offset points", fontsize=7)
