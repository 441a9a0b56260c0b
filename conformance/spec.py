"""The vocabulary of registry rows: what a layer takes, how it is built, what is checked.

A row never computes anything itself; the checks read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
from hypothesis import strategies as st

Dims = dict[str, Any]
"""Drawn sizes of one example, e.g. ``{"N": 3, "D": 4, "H": 4}``; values may be tuples (shapes)."""

Array = np.ndarray[Any, Any]


class Draw:
    """``data.draw`` with a mandatory label, so every drawn value is named in failure reports."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def __call__(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self._data.draw(strategy, label=label)


class Kind(Enum):
    """How a row's class is called."""

    LAYER = "layer"  # forward(*inputs) -> array(s); backward(*douts) -> input gradient(s)
    LOSS = "loss"  # forward(x, t) -> scalar; backward(dout=1) -> dx
    MODEL = "model"  # forward(x, t) -> scalar loss; backward(dout=1); only parameter gradients checked


class Role(Enum):
    """What values an input holds, which decides how it is drawn and how it can be malformed."""

    FLOAT = "float"  # real values from the example's regime; differentiable
    TARGET = "target"  # real regression targets; not differentiable
    LABELS = "labels"  # class labels, drawn as indices (N,) or one-hot (N, C)
    BINARY = "binary"  # 0/1 labels of the scores' shape


@dataclass(frozen=True)
class Tensor:
    """An input or parameter of a row.

    ``shape`` maps the drawn dims to the shape; ``fixed_rank`` says the layer
    accepts only that rank (so a wrong rank is malformed input). For labels,
    ``classes`` names the dim holding the number of classes.
    """

    name: str
    shape: Callable[[Dims], tuple[int, ...]]
    role: Role = Role.FLOAT
    fixed_rank: bool = True
    classes: str = "C"

    @property
    def differentiable(self) -> bool:
        return self.role is Role.FLOAT


@dataclass(frozen=True)
class ExampleSpec:
    """What Hypothesis drew for one example; enough to rebuild it exactly (see ``examples.py``)."""

    dims: Dims
    regime: str
    labels: str  # "indices", "one_hot" or "-" (no labels)
    seed: int

    def to_json(self) -> dict[str, Any]:
        dims = {k: list(v) if isinstance(v, tuple) else v for k, v in self.dims.items()}
        return {"dims": dims, "regime": self.regime, "labels": self.labels, "seed": self.seed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExampleSpec:
        dims = {k: tuple(v) if isinstance(v, list) else v for k, v in data["dims"].items()}
        return cls(dims, str(data["regime"]), str(data["labels"]), int(data["seed"]))


@dataclass(frozen=True)
class Example:
    """A materialised example in float64 (labels as int64 indices or float64 one-hot).

    ``douts`` are the upstream gradients, one per output (a 0-d array for a loss).
    """

    spec: ExampleSpec
    inputs: dict[str, Array]
    params: dict[str, Array]
    douts: tuple[Array, ...]

    @property
    def dims(self) -> Dims:
        return self.spec.dims


@dataclass(frozen=True)
class Malformation:
    """One kind of bad input derived from a valid example.

    ``make(example)`` returns the example with one thing broken; ``stage`` says
    where the error must be raised: ``"construct"`` (bad params), ``"forward"``
    (bad inputs) or ``"backward"`` (bad dout). The error message must mention
    ``argument``. ``applies(example)`` rules out examples where the change is
    not malformed (e.g. broadcasting along a dimension that is already 1).
    """

    argument: str
    kind: str
    make: Callable[[Example], Example]
    stage: str = "forward"
    applies: Callable[[Example], bool] = lambda example: True

    @property
    def target(self) -> str:
        return f"{self.argument}:{self.kind}"


@dataclass(frozen=True)
class Row:
    """One layer (or node, loss, model) under test: the single place that says what is checked.

    - ``name``: the class name looked up in the implementation under test;
    - ``dims``: draws the sizes of an example (through a labelled :class:`Draw`);
    - ``inputs`` / ``params``: what ``forward`` takes and what the constructor takes;
    - ``build(cls, params, dims)``: the book's constructor call;
    - ``reference(inputs, params, dims)``: the PyTorch float64 reference (torch tensors in,
      torch tensor or tuple out);
    - ``regimes``: value regimes to draw from (moderate and zeros by default; extreme added
      for rows where numerical stability matters);
    - ``kinks``: per input, the distance of each element to the nearest point where the layer
      is not differentiable;
    - ``malformed``: bad inputs beyond those derived from ``inputs`` and ``params``;
    - ``not_applicable``: checks that do not apply to the row, with the reason.
    """

    name: str
    kind: Kind
    dims: Callable[[Draw], Dims]
    inputs: tuple[Tensor, ...]
    reference: Callable[..., Any]
    params: tuple[Tensor, ...] = ()
    build: Callable[[type, list[Array], Dims], Any] = lambda cls, params, dims: cls(*params)
    regimes: tuple[str, ...] = ("moderate", "zeros")
    kinks: Mapping[str, Callable[[Array], Array]] = field(default_factory=dict)
    malformed: tuple[Malformation, ...] = ()
    not_applicable: Mapping[str, str] = field(default_factory=dict)

    @property
    def differentiable_inputs(self) -> tuple[Tensor, ...]:
        if self.kind is Kind.MODEL:
            return ()
        return tuple(t for t in self.inputs if t.differentiable)

    def gradient_targets(self) -> list[str]:
        """Names of every checked gradient: ``dx``, ``dy``, ``dW``, ``db`` ..."""
        return [f"d{t.name}" for t in self.differentiable_inputs] + [f"d{p.name}" for p in self.params]
