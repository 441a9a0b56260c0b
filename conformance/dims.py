"""The sizes of an example, declared per row and drawn by Hypothesis under a case.

A row declares its dimensions as an ordered mapping of names to the objects
below (``{"N": Batch(), "D": Size(), "H": Square("D")}``). Each object knows
how to draw its value (every draw labelled with the dimension's name, so a
falsifying example reads ``Draw 2 (D): 3``) and which case axes it brings:

- :class:`Batch`: ``N=1`` or ``N>1``; batch-size bugs (a forgotten 1/N) show for
  N > 1 only, and code written for a batch crashes on N = 1;
- :class:`Classes`: one class or several (C = 1 is where one-hot code breaks);
- :class:`Shape`: the rank of an input whose rank is free.

Sizes are capped per *cap class* (``size`` for batches, features and classes,
``time`` for time steps, ``vocab`` for vocabularies and tables, ``hidden`` for
recurrent state sizes), with per-profile values in :mod:`conformance.settings`,
so time layers stay small in ``ci`` and grow under ``thorough``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hypothesis import strategies as st

from conformance.cases import Axis, Case
from conformance.settings import cap

Dims = dict[str, Any]
"""Drawn sizes of one example, e.g. ``{"N": 3, "D": 4, "H": 4}``; values may be tuples (shapes)."""


class Draw:
    """``data.draw`` with a mandatory label, so every drawn value is named in failure reports."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def __call__(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self._data.draw(strategy, label=label)


class Dim(Protocol):
    """One declared dimension."""

    def axes(self, name: str) -> list[Axis]: ...

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any: ...

    def typical(self, dims: Dims, case: Case) -> Any:
        """A small, non-degenerate value without Hypothesis (for unit tests built from rows)."""
        ...


TYPICAL = 3
"""The size :meth:`Dim.typical` picks: more than one, and unlike its neighbours."""


def _sizes(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=low, max_value=max(low, high))


@dataclass(frozen=True)
class Size:
    """A size from ``low`` to the cap of ``cap`` (``low`` when the cap is lower)."""

    cap: str = "size"
    low: int = 1

    def axes(self, name: str) -> list[Axis]:
        return []

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        return int(draw(_sizes(self.low, cap(self.cap)), name))

    def typical(self, dims: Dims, case: Case) -> Any:
        return max(self.low, min(TYPICAL, cap(self.cap)))


@dataclass(frozen=True)
class _OneOrMany:
    """A size that is exactly 1 in one case and 2 up to the cap in the other.

    ``sampled_from`` draws its elements about evenly (``integers`` favours the
    low end) and shrinks towards the first, 2: the smallest size that still
    shows a bug that needs more than one.
    """

    axis: str
    symbol: str
    cap: str = "size"

    def axes(self, name: str) -> list[Axis]:
        values: tuple[str, ...] = ("many", "one") if cap(self.cap) >= 2 else ("one",)
        labels = {"many": f"{name}>1", "one": f"{name}=1"}
        return [Axis(self.axis, values, labels)]

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        if case.get(self.axis, "many") == "one":
            return 1
        return int(draw(st.sampled_from(range(2, max(2, cap(self.cap)) + 1)), name))

    def typical(self, dims: Dims, case: Case) -> Any:
        return 1 if case.get(self.axis, "many") == "one" else max(2, min(TYPICAL, cap(self.cap)))


def Batch(cap_class: str = "size") -> _OneOrMany:  # noqa: N802 - reads as a type in a row's dims
    """A batch size: the case axis ``batch`` (N = 1 or N > 1)."""
    return _OneOrMany("batch", "N", cap_class)


def Classes(cap_class: str = "size") -> _OneOrMany:  # noqa: N802
    """A number of classes: the case axis ``classes`` (C = 1 or C > 1)."""
    return _OneOrMany("classes", "C", cap_class)


@dataclass(frozen=True)
class Square:
    """Equal to the dimension ``other`` in about half the draws, otherwise any size.

    Square weights hide a missing transpose from shape errors, so they must be drawn.
    """

    other: str
    cap: str = "size"

    def axes(self, name: str) -> list[Axis]:
        return []

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        if bool(draw(st.booleans(), f"{name} == {self.other}")):
            return dims[self.other]
        return int(draw(_sizes(1, cap(self.cap)), name))

    def typical(self, dims: Dims, case: Case) -> Any:
        return min(TYPICAL + 1, cap(self.cap))


@dataclass(frozen=True)
class Shape:
    """A whole shape whose rank is free within ``ranks``: the case axis ``rank``."""

    ranks: tuple[int, ...]
    cap: str = "size"

    def axes(self, name: str) -> list[Axis]:
        return [Axis("rank", self.ranks)]

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        rank = int(case["rank"])
        size = _sizes(1, cap(self.cap))
        return tuple(draw(st.lists(size, min_size=rank, max_size=rank), name))

    def typical(self, dims: Dims, case: Case) -> Any:
        return tuple(min(2 + i, cap(self.cap)) for i in range(int(case["rank"])))


@dataclass(frozen=True)
class AxisOf:
    """A valid axis (negative ones included) of the shape dimension ``shape``."""

    shape: str

    def axes(self, name: str) -> list[Axis]:
        return []

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        rank = len(dims[self.shape])
        return int(draw(st.integers(min_value=-rank, max_value=rank - 1), name))

    def typical(self, dims: Dims, case: Case) -> Any:
        return -1


@dataclass(frozen=True)
class Integers:
    """An integer from ``low`` to ``high`` (a constructor argument such as Branch's n)."""

    low: int
    high: int

    def axes(self, name: str) -> list[Axis]:
        return []

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        return int(draw(st.integers(min_value=self.low, max_value=self.high), name))

    def typical(self, dims: Dims, case: Case) -> Any:
        return min(self.low + 1, self.high)


@dataclass(frozen=True)
class Choice:
    """One of a few values (a dropout ratio, a window size)."""

    values: tuple[Any, ...]

    def axes(self, name: str) -> list[Axis]:
        return []

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        return draw(st.sampled_from(self.values), name)

    def typical(self, dims: Dims, case: Case) -> Any:
        return self.values[0]


@dataclass(frozen=True)
class Computed:
    """A value computed from the dimensions drawn before it (e.g. ``T + 1``)."""

    compute: Callable[[Dims], Any]

    def axes(self, name: str) -> list[Axis]:
        return []

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        return self.compute(dims)

    def typical(self, dims: Dims, case: Case) -> Any:
        return self.compute(dims)


DimsSpec = Mapping[str, Dim]


def dims_axes(spec: DimsSpec) -> list[Axis]:
    """The case axes a row's dimensions bring; two free-rank shapes get one rank axis each."""
    axes = [axis for name, dim in spec.items() for axis in dim.axes(name)]
    ranks = [a for a in axes if a.name == "rank"]
    if len(ranks) > 1:
        shapes = [name for name, dim in spec.items() if isinstance(dim, Shape)]
        renamed = {id(a): Axis(f"rank:{n}", a.values) for a, n in zip(ranks, shapes, strict=True)}
        axes = [renamed.get(id(a), a) for a in axes]
    return axes


def draw_dims(spec: DimsSpec, draw: Draw, case: Case) -> Dims:
    """Every dimension of ``spec`` in order, each under ``case``."""
    dims: Dims = {}
    shapes = [name for name, dim in spec.items() if isinstance(dim, Shape)]
    for name, dim in spec.items():
        if isinstance(dim, Shape) and len(shapes) > 1:
            local = dict(case) | {"rank": case[f"rank:{name}"]}
            dims[name] = dim.draw(name, draw, dims, Case(local))
        else:
            dims[name] = dim.draw(name, draw, dims, case)
    return dims


def typical_dims(spec: DimsSpec, case: Case) -> Dims:
    """Every dimension at its typical value under ``case`` (see :meth:`Dim.typical`)."""
    dims: Dims = {}
    shapes = [name for name, dim in spec.items() if isinstance(dim, Shape)]
    for name, dim in spec.items():
        local = (
            Case(dict(case) | {"rank": case[f"rank:{name}"]})
            if isinstance(dim, Shape) and len(shapes) > 1
            else case
        )
        dims[name] = dim.typical(dims, local)
    return dims


def grown_dims(spec: DimsSpec, dims: Dims, case: Case, by: int = 1) -> Dims:
    """A larger example of the same structure: every size grown, each by a different amount
    (``by``, ``by + 1``, ... in order) and on to a size no other dim has, so sizes equal by chance
    become different (a factor 1/3 then names N or D, not both), while a square
    weight stays square, what the case fixes stays (a batch of one, a single class), axes,
    choices and integers stay, and computed dims are recomputed."""
    grown: Dims = {}
    step = by
    taken: set[int] = set()

    def larger(value: int) -> int:
        """``value`` grown by the next step, then on to a size no other dim has yet."""
        nonlocal step
        size = value + step
        step += 1
        while size in taken:
            size += 1
        taken.add(size)
        return size

    for name, dim in spec.items():
        value = dims[name]
        if isinstance(dim, Computed):
            grown[name] = dim.compute(grown)
        elif isinstance(dim, Square) and value == dims[dim.other]:
            grown[name] = grown[dim.other]
        elif isinstance(dim, _OneOrMany) and case.get(dim.axis, "many") == "one":
            grown[name] = value
        elif isinstance(dim, (Size, Square, _OneOrMany)):
            grown[name] = larger(int(value))
        elif isinstance(dim, Shape):
            grown[name] = tuple(larger(int(v)) for v in value)
        else:
            grown[name] = value
    return grown
