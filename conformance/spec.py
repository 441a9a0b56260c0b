"""The vocabulary of registry rows: what a layer takes, how it is called, what is checked.

A row is data plus a few small objects it carries: its dimensions
(:mod:`conformance.dims`), the kind of each input (:mod:`conformance.kinds`)
and its calling convention (:mod:`conformance.conventions`). A row never
computes anything itself; the checks read it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.cases import Axis, Case, case_from_json, enumerate_cases
from conformance.conventions import LAYER, Convention
from conformance.dims import Dims, DimsSpec, Shape, dims_axes
from conformance.kinds import Kind, Real
from conformance.malformations import Malformation
from conformance.numerics import Array

ROUTES = ("forward", "state", "construct", "hidden")
"""How an input reaches the implementation: a positional argument of forward (in row order),
an argument of ``set_state``, an argument of the constructor, or not at all (draws the
harness shares with the reference, such as negative samples or a dropout mask read back)."""

REAL = Real()


@dataclass(frozen=True)
class Tensor:
    """An input or parameter of a row.

    ``shape`` lists dimension names (a name whose value is a tuple, a free-rank
    :class:`~conformance.dims.Shape`, contributes all its sizes; an int is a
    fixed size), or is a function of the dims.
    """

    name: str
    shape: tuple[str | int, ...] | Callable[[Dims], tuple[int, ...]]
    kind: Kind = REAL
    route: str = "forward"

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"Tensor {self.name}: route must be one of {ROUTES}; got {self.route!r}")

    def resolve(self, dims: Dims) -> tuple[int, ...]:
        if callable(self.shape):
            return tuple(int(n) for n in self.shape(dims))
        sizes: list[int] = []
        for part in self.shape:
            value = part if isinstance(part, int) else dims[part]
            sizes.extend(int(v) for v in (value if isinstance(value, tuple) else (value,)))
        return tuple(sizes)

    @property
    def stage(self) -> str:
        """Where a malformed value of this tensor must be refused."""
        return "construct" if self.route == "construct" else "forward"

    @property
    def differentiable(self) -> bool:
        return self.kind.differentiable and self.route in ("forward", "state")


@dataclass(frozen=True)
class Tolerance:
    """A per-row factor on the derived tolerances, with the reason it is needed."""

    factor: float
    reason: str


@dataclass(frozen=True)
class Row:
    """One layer (or node, loss, model, sampler) under test: the single place that says what is checked.

    - ``name``: the class name looked up in the implementation under test;
    - ``dims``: the declared dimensions (ordered);
    - ``inputs`` / ``params``: what the class takes, each with its kind and route;
    - ``reference(inputs, params, dims)``: the PyTorch float64 reference (torch
      tensors by name in, a tensor or a tuple of tensors out);
    - ``convention``: how the class is called;
    - ``group``: the report section (the module of the book the class belongs to);
    - ``kinks``: per input, the distance of each element to the nearest point where
      the layer is not differentiable;
    - ``malformed``: bad inputs beyond those derived from the declarations;
    - ``not_applicable``: ``check``, ``check:target`` or ``bad_input:argument:kind``
      -> the reason it does not apply;
    - ``tolerance``: a factor on the derived tolerances, with its reason;
    - ``sampling``: what the ``sampling`` check measures of a stochastic component;
    - ``step_reference(inputs, params_by_step, dims)``: for a recurrent layer, the same
      reference with its own parameter tensors at each time step (a list, by step), so
      that a weight gradient can be split into the steps' contributions (the diagnosis
      of a gradient overwritten at each step instead of summed); None for other rows.
    """

    name: str
    dims: DimsSpec
    inputs: tuple[Tensor, ...]
    reference: Callable[..., Any]
    params: tuple[Tensor, ...] = ()
    convention: Convention = LAYER
    group: str = ""
    kinks: Mapping[str, Callable[[Array], Array]] = field(default_factory=dict)
    malformed: tuple[Malformation, ...] = ()
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    tolerance: Tolerance | None = None
    sampling: Any = None
    step_reference: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        names = [t.name for t in (*self.inputs, *self.params)]
        if len(names) != len(set(names)):
            raise ValueError(f"row {self.name}: input and parameter names must be distinct: {names}")

    # --- what is called and checked --------------------------------------------------------

    def routed(self, route: str) -> tuple[Tensor, ...]:
        return tuple(t for t in self.inputs if t.route == route)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def forward_inputs(self) -> tuple[Tensor, ...]:
        return self.routed("forward")

    @property
    def returned_gradients(self) -> tuple[Tensor, ...]:
        """The inputs whose gradients backward returns, in order (none for models)."""
        if self.convention.model:
            return ()
        return tuple(t for t in self.forward_inputs if t.differentiable)

    @property
    def state_gradients(self) -> tuple[Tensor, ...]:
        state = self.convention.state
        if state is None:
            return ()
        return tuple(t for t in self.routed("state") if t.name in state.gradients)

    def gradient_targets(self) -> list[str]:
        """Names of every checked gradient: ``dx``, ``dh``, ``dW``, ``db`` ..."""
        inputs = [*self.returned_gradients, *self.state_gradients]
        return [f"d{t.name}" for t in inputs] + [f"d{p.name}" for p in self.params]

    def fixed_rank(self, tensor: Tensor) -> bool:
        """Whether the tensor's rank is fixed (so a wrong rank is malformed input)."""
        if callable(tensor.shape):
            return True
        return not any(isinstance(self.dims.get(str(part)), Shape) for part in tensor.shape)

    def skip_reason(self, check: str, target: str | None = None) -> str | None:
        """Why ``check`` (or one of its targets) does not apply to this row, if it does not."""
        if check in self.not_applicable:
            return self.not_applicable[check]
        if target is not None:
            return self.not_applicable.get(f"{check}:{target}")
        return None

    def declarations(self) -> dict[str, Any]:
        """What the row declares about itself, for the report: its group, a tolerance factor
        with its reason, and what does not apply with the reasons."""
        tolerance = (
            {"factor": self.tolerance.factor, "reason": self.tolerance.reason} if self.tolerance else None
        )
        return {"group": self.group, "tolerance": tolerance, "not_applicable": dict(self.not_applicable)}

    @property
    def tolerance_factor(self) -> float:
        return self.tolerance.factor if self.tolerance is not None else 1.0

    # --- cases -----------------------------------------------------------------------------

    def axes(self, regimes: tuple[str, ...] | None = None) -> list[Axis]:
        """The case axes: from the dims, the inputs' kinds and the convention. ``regimes``
        replaces the values of the regime axis (a check's own regimes)."""
        axes: dict[str, Axis] = {}
        for axis in (
            *dims_axes(self.dims),
            *(a for t in self.inputs if t.route != "hidden" for a in t.kind.axes()),
            *self.convention.axes(),
        ):
            axes.setdefault(axis.name, axis)
        if "regime" in axes and regimes is not None:
            axes["regime"] = Axis("regime", regimes)
        return list(axes.values())

    def cases(self, regimes: tuple[str, ...] | None = None) -> list[Case]:
        return enumerate_cases(self.axes(regimes))

    def case_from_json(self, data: Mapping[str, Any]) -> Case:
        return case_from_json(data, self.axes(("moderate", "zeros", "extreme")))


@dataclass(frozen=True)
class ExampleSpec:
    """What Hypothesis drew for one example; enough to rebuild it exactly (see ``examples.py``)."""

    dims: Dims
    case: Case
    seed: int

    def to_json(self) -> dict[str, Any]:
        dims = {k: list(v) if isinstance(v, tuple) else v for k, v in self.dims.items()}
        return {"dims": dims, "case": self.case.to_json(), "seed": self.seed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], row: Row) -> ExampleSpec:
        dims = {k: tuple(v) if isinstance(v, list) else v for k, v in data["dims"].items()}
        return cls(dims, row.case_from_json(data.get("case", {})), int(data["seed"]))


@dataclass(frozen=True)
class Example:
    """A materialised example in float64 (labels and indices as int64, one-hot as float64).

    ``inputs`` holds every input of the row whatever its route; ``douts`` are the
    upstream gradients, one per output (a 0-d array for a loss).
    """

    spec: ExampleSpec
    inputs: dict[str, Array]
    params: dict[str, Array]
    douts: tuple[Array, ...]

    @property
    def dims(self) -> Dims:
        return self.spec.dims

    @property
    def case(self) -> Case:
        return self.spec.case

    def value(self, name: str) -> Array:
        return self.inputs[name]

    def with_input(self, name: str, value: Array) -> Example:
        return dataclasses.replace(self, inputs={**self.inputs, name: value})

    def with_inputs(self, values: Mapping[str, Array]) -> Example:
        return dataclasses.replace(self, inputs={**self.inputs, **values})

    def with_param(self, name: str, value: Array) -> Example:
        return dataclasses.replace(self, params={**self.params, name: value})

    def with_dims(self, **changes: Any) -> Example:
        spec = dataclasses.replace(self.spec, dims={**self.dims, **changes})
        return dataclasses.replace(self, spec=spec)

    def with_douts(self, douts: tuple[Array, ...]) -> Example:
        return dataclasses.replace(self, douts=douts)
