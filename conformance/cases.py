"""Cases: the categorical choices of a draw, each of which gets its own verdict.

A case fixes, for one example, everything categorical: the rank of each input
whose rank is free, the label format, the value regime, a batch of one, a
single class, the train/test mode, how a stateful layer gets its state. Every
case of a row is checked on examples of its own, so a failure in one case (a
backward written for 2-D input only, a crash on one-hot labels) never hides
the verdict on the others.

The axes of a row's cases come from the objects the row carries: its dims
(:mod:`conformance.dims`: ``Batch``, ``Classes``, ``Shape``), the kinds of its
inputs (:mod:`conformance.kinds`: class labels bring ``labels``, real inputs
bring ``regime``) and its calling convention (``mode``, ``state``). Nothing
here knows a layer by name.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

AXIS_ORDER = ("rank", "batch", "classes", "labels", "indices", "mode", "state", "regime")
"""The order axes are listed in; axes not named here follow, sorted (``rank:x`` sorts with ``rank``)."""

CaseValue = str | int


@dataclass(frozen=True)
class Axis:
    """One categorical choice: its name, its values, and how a value reads in a report."""

    name: str
    values: tuple[CaseValue, ...]
    labels: Mapping[Any, str] | None = None

    def text(self, value: CaseValue) -> str:
        if self.labels is not None and value in self.labels:
            return self.labels[value]
        if self.name.startswith("rank"):
            suffix = self.name.partition(":")[2]
            return f"rank {value}" + (f" ({suffix})" if suffix else "")
        return str(value)


class Case(Mapping[str, CaseValue]):
    """An immutable, hashable mapping axis -> value, with its one-line text."""

    def __init__(self, values: Mapping[str, CaseValue], texts: Mapping[str, str] | None = None) -> None:
        ordered = sorted(values.items(), key=lambda item: _axis_rank(item[0]))
        self._values: dict[str, CaseValue] = dict(ordered)
        self._texts = {name: (texts or {}).get(name, str(value)) for name, value in self._values.items()}

    def __getitem__(self, key: str) -> CaseValue:
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Case) and self._values == other._values

    def __repr__(self) -> str:
        return f"Case({self._values!r})"

    @property
    def text(self) -> str:
        """``rank 2 · moderate``, ``N=1 · one-hot · C>1 · zeros``; ``-`` for a row with one case."""
        return " · ".join(self._texts.values()) or "-"

    @property
    def slug(self) -> str:
        """A Python identifier fragment (Hypothesis names its tests, and derives the derandomized
        seeds and database keys, from it): ``rank_2__regime_moderate``."""
        parts = (f"{k}_{v}" for k, v in self._values.items())
        return "__".join(re.sub(r"\W", "_", part) for part in parts) or "all"

    def to_json(self) -> dict[str, CaseValue]:
        return dict(self._values)

    def get_str(self, key: str, default: str = "") -> str:
        value = self._values.get(key)
        return default if value is None else str(value)


def _axis_rank(name: str) -> tuple[int, str]:
    base = name.partition(":")[0]
    return (AXIS_ORDER.index(base) if base in AXIS_ORDER else len(AXIS_ORDER), name)


def enumerate_cases(axes: Iterable[Axis]) -> list[Case]:
    """Every combination of the axes' values (one case with no axes)."""
    axes = sorted(axes, key=lambda axis: _axis_rank(axis.name))
    cases = []
    for values in itertools.product(*(axis.values for axis in axes)):
        chosen = dict(zip((axis.name for axis in axes), values, strict=True))
        texts = {axis.name: axis.text(value) for axis, value in zip(axes, values, strict=True)}
        cases.append(Case(chosen, texts))
    return cases


def case_from_json(data: Mapping[str, Any], axes: Iterable[Axis]) -> Case:
    """The case written by :meth:`Case.to_json`, with its texts restored from the row's axes."""
    by_name = {axis.name: axis for axis in axes}
    values = {str(k): v for k, v in data.items()}
    texts = {k: by_name[k].text(v) if k in by_name else str(v) for k, v in values.items()}
    return Case(values, texts)
