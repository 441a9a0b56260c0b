"""Hypothesis strategies for the sizes and shapes of examples.

All sizes are capped by one setting (``CONFORMANCE_MAX_SIZE``, default 8).
Sizes start at 1, so size-1 dimensions are always possible; most draws are
larger, so a batch N > 1 is common. Weight matrices can be square.
Every draw goes through :class:`conformance.spec.Draw` and carries a label.
"""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.settings import max_size
from conformance.spec import Draw, ExampleSpec, Role, Row


def size() -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=max_size())


def draw_size(draw: Draw, label: str) -> int:
    return int(draw(size(), label))


def batch() -> st.SearchStrategy[int]:
    """A batch size: 1 in about one draw of four, otherwise 2 or more (when the cap allows).

    Hypothesis alone draws the lower bound of a small range very often (44% of
    batches were 1 in the ci profile); bugs like a forgotten 1/N only show for
    N > 1. Listing the single sample first keeps it the shrink target.
    """
    if max_size() < 2:
        return st.just(1)
    larger = st.integers(min_value=2, max_value=max_size())
    return st.one_of(st.just(1), larger, larger, larger)


def draw_batch(draw: Draw, label: str = "N") -> int:
    return int(draw(batch(), label))


def draw_shape(draw: Draw, label: str, min_rank: int, max_rank: int) -> tuple[int, ...]:
    return tuple(draw(st.lists(size(), min_size=min_rank, max_size=max_rank), label))


def draw_pair(draw: Draw, first: str, second: str) -> tuple[int, int]:
    """Two sizes (e.g. the D and H of a weight matrix) that are sometimes equal: square weights
    hide transposition bugs from shape errors, so they must be drawn too."""
    a = draw_size(draw, first)
    square = bool(draw(st.booleans(), f"{first} == {second}"))
    return a, a if square else draw_size(draw, second)


def draw_axis(draw: Draw, rank: int) -> int:
    """Any valid axis of a rank >= 1 array, negative ones included."""
    return int(draw(st.integers(min_value=-rank, max_value=rank - 1), "axis"))


def draw_example_spec(row: Row, draw: Draw, regimes: tuple[str, ...] | None = None) -> ExampleSpec:
    """Sizes, value regime (one of ``regimes``, default the row's), label format and seed."""
    dims = row.dims(draw)
    regime = str(draw(st.sampled_from(regimes or row.regimes), "regime"))
    has_labels = any(t.role is Role.LABELS for t in row.inputs)
    labels = str(draw(st.sampled_from(["indices", "one_hot"]), "labels")) if has_labels else "-"
    seed = int(draw(st.integers(min_value=0, max_value=2**32 - 1), "seed"))
    return ExampleSpec(dims, regime, labels, seed)
