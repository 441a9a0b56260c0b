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
    """A batch size: 1 in about one draw of five, otherwise 2 up to the cap.

    Hypothesis draws the lowest values of a range far more often than the others
    (``integers(1, 8)`` gave N = 1 in 38% of draws, ``one_of(just(1), ...)`` in
    45%), while bugs such as a forgotten 1/N only show for N > 1. ``sampled_from``
    draws its elements about evenly, so listing 2..cap and then 1 twice gives
    N = 1 with probability 2/(cap + 1), and shrinking moves towards N = 2, the
    smallest batch that still shows such bugs.
    """
    cap = max_size()
    if cap < 2:
        return st.just(1)
    return st.sampled_from([*range(2, cap + 1), 1, 1])


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
