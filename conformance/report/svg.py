"""A small SVG canvas for the report's plots: scales, axes, markers, lines, text.

The plots of ``index.html`` are strip charts and scatter plots on log or linear
axes. Drawing them directly as compact SVG (all markers of one kind in one
``<path>``, coordinates rounded to a tenth of a pixel, styles in the page's
style sheet) keeps a plot to a few kilobytes and a few milliseconds, so a
report of the whole book stays small and fast to write, and needs nothing
beyond the standard library.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728",
)  # fmt: skip
"""Ten distinguishable colours (matplotlib's tab10, red last: red marks failures)."""

MARKERS = ("circle", "square", "diamond", "triangle", "down", "plus")
"""Marker shapes cycled with the colours, so that no two series differ by colour alone."""


def _f(value: float) -> str:
    """A coordinate to a tenth of a pixel, without trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class LogScale:
    low: float
    high: float

    def fraction(self, value: float) -> float:
        value = min(max(value, self.low), self.high)
        return (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))

    def ticks(self) -> list[tuple[float, str]]:
        first, last = math.ceil(math.log10(self.low)), math.floor(math.log10(self.high))
        step = max(1, math.ceil((last - first + 1) / 8))
        return [(10.0**e, f"1e{e}") for e in range(first, last + 1, step)]


@dataclass(frozen=True)
class LinearScale:
    low: float
    high: float

    def fraction(self, value: float) -> float:
        return (value - self.low) / (self.high - self.low) if self.high > self.low else 0.5

    def ticks(self) -> list[tuple[float, str]]:
        span = self.high - self.low
        step = 10 ** math.floor(math.log10(span / 4)) if span > 0 else 1.0
        if span / step > 8:
            step *= 2.5 if span / (step * 2.5) <= 8 else 5
        start = math.ceil(self.low / step) * step
        count = int((self.high - start) / step + 1e-9) + 1
        return [(start + i * step, f"{start + i * step:g}") for i in range(count)]


Scale = LogScale | LinearScale


@dataclass
class Canvas:
    """A plot area of ``width`` × ``height`` pixels with margins, and its x and y scales
    (``x`` None: categories 0..n-1 spread evenly, given by ``categories``)."""

    width: float
    height: float
    y: Scale
    x: Scale | None = None
    categories: int = 0
    left: float = 64
    right: float = 14
    top: float = 26
    bottom: float = 46
    parts: list[str] = field(default_factory=list)

    def px(self, value: float) -> float:
        """x in pixels of a data value, or of a category position (which may be fractional)."""
        inner = self.width - self.left - self.right
        if self.x is None:
            return self.left + inner * (value + 0.5) / max(self.categories, 1)
        return self.left + inner * self.x.fraction(value)

    def py(self, value: float) -> float:
        inner = self.height - self.top - self.bottom
        return self.top + inner * (1 - self.y.fraction(value))

    def category_width(self) -> float:
        return (self.width - self.left - self.right) / max(self.categories, 1)

    def markers(
        self,
        xs: Iterable[float],
        ys: Iterable[float],
        css: str,
        shape: str = "dot",
        size: float = 2.4,
        color: str = "",
    ) -> None:
        """One ``<path>`` holding a marker at each (x, y) in data coordinates."""
        path = "".join(_marker(self.px(x), self.py(y), shape, size) for x, y in zip(xs, ys, strict=True))
        if path:
            fill = f' style="fill:{color};stroke:{color}"' if color else ""
            self.parts.append(f'<path class="{css}"{fill} d="{path}"/>')

    def hline(self, y: float, x0: float, x1: float, css: str) -> None:
        """A horizontal segment at data y from category or data x0 to x1."""
        self.parts.append(f'<path class="{css}" d="M{_f(self.px(x0))} {_f(self.py(y))}H{_f(self.px(x1))}"/>')

    def vline(self, x: float, css: str) -> None:
        """A vertical rule across the plot box at category or data x."""
        top, bottom = self.top, self.height - self.bottom
        self.parts.append(f'<path class="{css}" d="M{_f(self.px(x))} {_f(top)}V{_f(bottom)}"/>')

    def polyline(self, points: Sequence[tuple[float, float]], css: str) -> None:
        coords = "L".join(f"{_f(self.px(x))} {_f(self.py(y))}" for x, y in points)
        self.parts.append(f'<path class="{css}" d="M{coords}"/>')

    def band(
        self, points_low: Sequence[tuple[float, float]], points_high: Sequence[tuple[float, float]]
    ) -> None:
        outline = [*points_low, *reversed(points_high)]
        coords = "L".join(f"{_f(self.px(x))} {_f(self.py(y))}" for x, y in outline)
        self.parts.append(f'<path class="band" d="M{coords}Z"/>')

    def text(
        self, x: float, y: float, text: str, anchor: str = "middle", css: str = "lbl", rotate: float = 0
    ) -> None:
        """Text at pixel coordinates."""
        turn = f' transform="rotate({_f(rotate)} {_f(x)} {_f(y)})"' if rotate else ""
        self.parts.append(
            f'<text class="{css}" x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}"{turn}>'
            f"{html.escape(text)}</text>"
        )

    def frame(self, title: str, y_label: str, x_label: str = "") -> None:
        """The plot's box, y ticks with grid lines, x ticks for a numeric x, title and labels."""
        top, bottom = self.top, self.height - self.bottom
        left, right = self.left, self.width - self.right
        grid = []
        for value, label in self.y.ticks():
            y = self.py(value)
            grid.append(f"M{_f(left)} {_f(y)}H{_f(right)}")
            self.text(left - 4, y + 3, label, "end", "tick")
        if self.x is not None:
            for value, label in self.x.ticks():
                x = self.px(value)
                grid.append(f"M{_f(x)} {_f(top)}V{_f(bottom)}")
                self.text(x, bottom + 12, label, "middle", "tick")
        self.parts.insert(0, f'<path class="grid" d="{"".join(grid)}"/>')
        self.parts.insert(1, f'<rect class="frame" x="{_f(left)}" y="{_f(top)}" width="{_f(right - left)}"'
                             f' height="{_f(bottom - top)}"/>')  # fmt: skip
        self.text(left, 15, title, "start", "title")
        self.text(14, (top + bottom) / 2, y_label, "middle", "axis", rotate=-90)
        if x_label:
            self.text((left + right) / 2, self.height - 6, x_label, "middle", "axis")

    def legend(
        self, entries: Sequence[tuple[str, str, str, str]], x: float, y: float, across: bool = False
    ) -> None:
        """(label, css class, shape or "line", colour) entries from pixel (x, y): stacked, or
        side by side when ``across``."""
        for label, css, shape, color in entries:
            if shape == "line":
                self.parts.append(f'<path class="{css}" d="M{_f(x)} {_f(y - 3)}h16"/>')
            else:
                fill = f' style="fill:{color};stroke:{color}"' if color else ""
                self.parts.append(f'<path class="{css}"{fill} d="{_marker(x + 8, y - 3, shape, 3)}"/>')
            self.text(x + 22, y, label, "start", "lbl")
            if across:
                x += 34 + 5.6 * len(label)  # about the width of 10-px text
            else:
                y += 14

    def svg(self, title: str) -> str:
        body = "".join(self.parts)
        return (
            f'<svg class="plot" viewBox="0 0 {_f(self.width)} {_f(self.height)}" width="{_f(self.width)}"'
            f' height="{_f(self.height)}" role="img" aria-label="{html.escape(title, quote=True)}">'
            f"{body}</svg>"
        )


def _marker(x: float, y: float, shape: str, r: float) -> str:
    """Path data of one marker centred at pixel (x, y). A ``dot`` is a zero-length segment that
    the style sheet draws with a round cap (14 bytes a point, so thousands stay small)."""
    if shape == "dot":
        return f"M{_f(x)} {_f(y)}h0"
    if shape == "square":
        return f"M{_f(x - r)} {_f(y - r)}h{_f(2 * r)}v{_f(2 * r)}h{_f(-2 * r)}z"
    if shape == "diamond":
        d = r * 1.3
        return f"M{_f(x)} {_f(y - d)}l{_f(d)} {_f(d)}l{_f(-d)} {_f(d)}l{_f(-d)} {_f(-d)}z"
    if shape == "triangle":
        return f"M{_f(x)} {_f(y - r * 1.3)}l{_f(r * 1.2)} {_f(r * 2)}h{_f(-r * 2.4)}z"
    if shape == "down":
        return f"M{_f(x)} {_f(y + r * 1.3)}l{_f(r * 1.2)} {_f(-r * 2)}h{_f(-r * 2.4)}z"
    if shape in ("plus", "x"):
        d = r * 1.2
        if shape == "x":
            return (
                f"M{_f(x - d)} {_f(y - d)}l{_f(2 * d)} {_f(2 * d)}"
                f"M{_f(x - d)} {_f(y + d)}l{_f(2 * d)} {_f(-2 * d)}"
            )
        return f"M{_f(x - d)} {_f(y)}h{_f(2 * d)}M{_f(x)} {_f(y - d)}v{_f(2 * d)}"
    # a circle as two arcs
    return f"M{_f(x - r)} {_f(y)}a{_f(r)} {_f(r)} 0 1 0 {_f(2 * r)} 0a{_f(r)} {_f(r)} 0 1 0 {_f(-2 * r)} 0"


STYLE = """
svg.plot { max-width: 100%; height: auto;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg.plot .grid { stroke: #e6e8eb; stroke-width: 1; fill: none; }
svg.plot .frame { fill: none; stroke: #9aa0a6; }
svg.plot .tick { font-size: 10px; fill: #5f6368; }
svg.plot .lbl { font-size: 10px; fill: #1f2328; }
svg.plot .axis { font-size: 11px; fill: #1f2328; }
svg.plot .title { font-size: 13px; font-weight: 600; fill: #1f2328; }
svg.plot .pass, svg.plot .noise, svg.plot .over { stroke-width: 4.6; stroke-linecap: round; fill: none; }
svg.plot .pass { stroke: #1f77b4; stroke-opacity: .6; }
svg.plot .over { stroke: #d62728; stroke-width: 5.6; fill: #d62728; }
svg.plot .noise { stroke: #7f7f7f; stroke-opacity: .55; }
svg.plot .series { fill-opacity: .75; stroke-width: 1.2; }
svg.plot .cross { stroke: #d62728; stroke-width: 1.4; fill: none; }
svg.plot .tol { stroke: #ff7f0e; stroke-width: 1.6; fill: none; }
svg.plot .tol2 { stroke: #ff7f0e; stroke-width: 1.2; stroke-dasharray: 4 3; fill: none; }
svg.plot .ideal { stroke: #2ca02c; stroke-width: 1.2; stroke-dasharray: 2 2; fill: none; }
svg.plot .threshold { stroke: #d62728; stroke-width: 1.2; stroke-dasharray: 5 3; fill: none; }
svg.plot .diagonal { stroke: #1f2328; stroke-width: .8; fill: none; }
svg.plot .separator { stroke: #d0d7de; stroke-width: .8; fill: none; }
svg.plot .band { fill: #7f7f7f; fill-opacity: .15; stroke: none; }
""".strip()
"""The plots' style sheet: the page includes it once, so each plot carries classes, not styles."""
