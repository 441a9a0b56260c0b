"""Calling conventions: how a row's class is constructed, called and read, as objects rows carry.

A :class:`Convention` knows how to build the class with the book's signature,
call forward (with its keyword or attribute flags, after setting or carrying
state, with the layer's randomness under control), call backward with one or
several upstream gradients, and collect the gradients from return values and
named attributes. Parameter gradients are read the same way for every row (see
:mod:`conformance.invoke`). The checks only ever call the functions of
:mod:`conformance.invoke`, which call these; nothing here knows a layer by name.

What a convention may carry:

- :class:`Constructor`: the book's constructor arguments (parameters, dims,
  constructor data such as a corpus), and whether the class draws its own
  weights (models: the drawn ones are then written into its ``params``);
- :class:`Mode`: a train/test flag given as a forward keyword (``Dropout``) or
  an attribute (``TimeDropout.train_flg``); brings the case axis ``mode``;
- :class:`State`: a stateful layer (``stateful=``, ``set_state``, ``dh``); brings
  the case axis ``state``: a zero initial state, one set with ``set_state``, or
  one carried over from a first call;
- randomness sources: :class:`SeededDraws` (a layer drawing from NumPy's global
  generator as the book's do, or from an injected ``rng`` as scratchnn's do:
  both are reset before every forward call, so every call of one example sees
  the same draws; the draws are read back for the reference) and
  :class:`SharedNegatives` (negative samples substituted on the layer's
  sampler, shared with the reference).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from conformance.cases import Axis
from conformance.malformations import Malformation
from conformance.numerics import Array

if TYPE_CHECKING:
    from conformance.spec import Example, Row


class ProtocolViolation(Exception):
    """The implementation returned or holds something the protocol does not allow.

    The message is one line that names the method or attribute (``Affine.forward
    returned None; expected an array``). ``home`` is the check the defect belongs to
    (``forward`` for what forward returns, ``gradient`` for what backward returns): the
    other checks that trip over it report it as unavailable there, not as their failure.
    """

    def __init__(self, message: str, home: str = "") -> None:
        super().__init__(message)
        self.home = home


# --- the pieces a convention is made of -----------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One constructor argument: shown as ``name`` in the expected signature, taken from
    ``source`` (a parameter, a constructor input, or a dimension; ``name`` by default)."""

    name: str
    source: str = ""

    @property
    def origin(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class Constructor:
    """The book's constructor call.

    ``args`` None means the row's parameters in order (``Affine(W, b)``).
    ``draws_own_weights``: the class takes sizes and draws its weights itself
    (models); the drawn parameters are then written into its ``params`` in place.
    ``strict_names``: the class must use these parameter names (the nodes the book
    shows only as figures have the project's signatures, which a learner's own
    ``Repeat(D, N)`` does not share even when the arity matches).
    """

    args: tuple[Arg, ...] | None = None
    draws_own_weights: bool = False
    strict_names: bool = False

    def arguments(self, row: Row) -> tuple[Arg, ...]:
        return self.args if self.args is not None else tuple(Arg(p.name) for p in row.params)


@dataclass(frozen=True)
class Mode:
    """Train/test behaviour, set per case through a forward keyword or an attribute."""

    keyword: str | None = "train_flg"
    attribute: str | None = None
    values: tuple[str, ...] = ("train", "test")

    def axes(self) -> list[Axis]:
        return [Axis("mode", self.values)]

    def training(self, case: Mapping[str, Any]) -> bool:
        return str(case.get("mode", self.values[0])) == "train"


@dataclass(frozen=True)
class State:
    """A stateful layer (the book's time layers).

    ``names``: the state inputs in ``set_state`` order (``("h", "c")``);
    ``gradients``: state input -> attribute holding its gradient after backward
    (``{"h": "dh"}``); ``optional``: gradient attributes the book does not have
    (not applicable when absent); ``prelude``: checked-call input -> the input of
    the first call in the ``carried`` case; ``final``: the reference's final state
    of a call (torch tensors by state name), to know what a carried state must be.
    """

    names: tuple[str, ...]
    gradients: Mapping[str, str]
    prelude: Mapping[str, str]
    final: Callable[..., dict[str, Any]]
    optional: frozenset[str] = frozenset()
    keyword: str = "stateful"

    CASES = ("zero", "set", "carried")
    CASE_TEXT: Mapping[str, str] = field(
        default_factory=lambda: {"zero": "zero state", "set": "set_state", "carried": "carried state"}
    )

    def axes(self) -> list[Axis]:
        return [Axis("state", self.CASES, self.CASE_TEXT)]


class RandomSource:
    """Randomness inside a layer, under the harness's control."""

    observes = False  # whether the reference needs draws read back after forward

    def install(self, layer: Any, example: Example) -> None:
        """After construction."""

    def observe(self, layer: Any, example: Example, training: bool, output: Any) -> dict[str, Array]:
        """After a forward call that returned ``output``: draws the reference needs, as hidden inputs."""
        return {}


@dataclass(frozen=True)
class SeededDraws(RandomSource):
    """The layer draws random numbers in forward (a dropout mask).

    Before every forward call the harness seeds NumPy's global generator (the
    book's layers call ``np.random.rand``) and restores the injected generator (a
    ``rng=`` keyword, as scratchnn's layers take) to its initial state, so every
    call of one example draws the same numbers. After a training forward the
    attribute ``attribute`` (``mask``) is read: where it is nonzero the element was
    kept; the reference gets that keep mask as the hidden input ``observed``.
    """

    attribute: str | None = "mask"
    observed: str = "mask"

    @property
    def observes(self) -> bool:  # type: ignore[override]
        return self.attribute is not None

    def observe(self, layer: Any, example: Example, training: bool, output: Any) -> dict[str, Array]:
        if not training or self.attribute is None:
            return {}
        mask = getattr(layer, self.attribute, None)
        expected = np.shape(output)
        if mask is None or np.shape(mask) != expected:
            found = "no attribute" if mask is None else f"an attribute of shape {np.shape(mask)}"
            raise ProtocolViolation(
                f"{type(layer).__name__}.forward left {found} {self.attribute}; the harness reads the"
                f" keep mask there (shape {expected}) to give the reference the same draws"
            )
        return {self.observed: (np.asarray(mask) != 0).astype(np.float64)}


@dataclass(frozen=True)
class SharedNegatives(RandomSource):
    """Negative sampling: every object reachable from the layer's attributes that has a
    ``get_negative_sample`` method gets, on the instance, one that returns the rows of the
    hidden input ``table`` picked by the targets; the reference uses the same rows."""

    table: str = "negatives"

    def install(self, layer: Any, example: Example) -> None:
        table = example.value(self.table)

        def get_negative_sample(target: Any) -> Array:
            return np.array(table[np.asarray(target, dtype=np.int64)], copy=True)

        samplers = [obj for obj in _reachable(layer) if callable(getattr(obj, "get_negative_sample", None))]
        if not samplers:
            raise ProtocolViolation(
                f"{type(layer).__name__} has no sampler with get_negative_sample among its attributes;"
                " the harness substitutes the negative samples there to share them with the reference"
            )
        for sampler in samplers:
            sampler.get_negative_sample = get_negative_sample


def _reachable(root: Any, depth: int = 4) -> list[Any]:
    """Objects reachable from ``root`` through attributes, lists, tuples and dicts (no arrays)."""
    seen: set[int] = {id(root)}
    found: list[Any] = []
    frontier = [root]
    for _ in range(depth):
        following = []
        for obj in frontier:
            children: list[Any] = []
            if isinstance(obj, (list, tuple)):
                children = list(obj)
            elif isinstance(obj, dict):
                children = list(obj.values())
            elif hasattr(obj, "__dict__") and not isinstance(obj, type):
                children = list(vars(obj).values())
            for child in children:
                if id(child) in seen or isinstance(child, (np.ndarray, str, bytes, int, float, type)):
                    continue
                seen.add(id(child))
                found.append(child)
                following.append(child)
        frontier = following
    return found


PERTURBATION_CHECKS = ("finite_difference", "taylor")

CARRIED_STATE_NOT_PERTURBED = (
    "a carried state depends on the parameters through the first call, a path truncated"
    " backpropagation leaves out by design; perturbing the parameters would follow it"
    " (the gradients of this case are checked against autograd, and the perturbation checks"
    " run in the set_state case)"
)


# --- the convention -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Convention:
    """How a row's class is called (see the module docstring).

    ``loss``: forward returns one scalar and backward takes a scalar ``dout`` (the
    book's ``backward(dout=1)``) and returns the gradient of the one differentiable
    input. ``model``: likewise a scalar, but backward's return value is not checked
    (only the parameter gradients). Otherwise forward returns one array per output
    and backward takes one upstream gradient per output and returns one gradient
    per differentiable forward input, in order. ``method`` is the method called as
    forward (``get_negative_sample`` for a sampler). ``reset_state``: call
    ``reset_state()`` before every forward (stateful models). ``douts``: the names of
    backward's arguments, as the book writes them (``dh_next`` for an RNN step); an error
    about a malformed one must name it.
    """

    constructor: Constructor = Constructor()
    loss: bool = False
    model: bool = False
    mode: Mode | None = None
    state: State | None = None
    randomness: tuple[RandomSource, ...] = ()
    method: str = "forward"
    reset_state: bool = False
    douts: tuple[str, ...] = ("dout",)

    @property
    def scalar_output(self) -> bool:
        return self.loss or self.model

    @property
    def takes_params(self) -> bool:
        """The constructor takes the parameter arrays (bad parameters can be passed to it)."""
        return not self.constructor.draws_own_weights

    def axes(self) -> list[Axis]:
        return [*(self.mode.axes() if self.mode else []), *(self.state.axes() if self.state else [])]

    def reaches(self, row: Row, name: str, case: Mapping[str, Any]) -> bool:
        """Whether the input ``name`` is handed to the implementation in ``case``: forward and
        constructor inputs always, a state only where the case calls ``set_state``."""
        route = next(t.route for t in row.inputs if t.name == name)
        if route == "state":
            return case.get("state") == "set"
        return route != "hidden"

    def case_skip(self, check: str, case: Mapping[str, Any]) -> str:
        """Why ``check`` does not apply to ``case``, if it does not."""
        if self.state is not None and case.get("state") == "carried" and check in PERTURBATION_CHECKS:
            return CARRIED_STATE_NOT_PERTURBED
        return ""

    def signature(self, row: Row) -> str:
        names = [arg.name for arg in self.constructor.arguments(row)]
        if self.state is not None:
            names.append(f"{self.state.keyword}=False")
        return f"{row.name}({', '.join(names)})"

    def constructor_arguments(self, row: Row, example: Example, params: dict[str, Array]) -> list[Any]:
        """The positional constructor arguments (parameters already cast by the caller)."""
        values = []
        for arg in self.constructor.arguments(row):
            source = arg.origin
            if source in params:
                values.append(params[source])
            elif source in example.inputs:
                values.append(example.inputs[source].copy())
            else:
                values.append(example.dims[source])
        return values

    def constructor_keywords(self, cls: type, example: Example, dtype: Any = np.float64) -> dict[str, Any]:
        keywords: dict[str, Any] = {}
        if self.constructor.draws_own_weights and accepts_keyword(cls, "dtype"):
            # A model that takes dtype= (scratchnn's) makes its weights in the checked dtype; the
            # book's models take none and make float32 weights (.astype('f')).
            keywords["dtype"] = np.dtype(dtype)
        if self.state is not None:
            keywords[self.state.keyword] = example.case.get("state") != "zero"
        if any(isinstance(source, SeededDraws) for source in self.randomness) and accepts_keyword(cls, "rng"):
            keywords["rng"] = np.random.default_rng(draw_seed(example))
        return keywords

    def forward_keywords(self, example: Example) -> dict[str, Any]:
        if self.mode is not None and self.mode.keyword is not None:
            return {self.mode.keyword: self.mode.training(example.case)}
        return {}

    def set_attributes(self, layer: Any, example: Example) -> None:
        if self.mode is not None and self.mode.attribute is not None:
            setattr(layer, self.mode.attribute, self.mode.training(example.case))

    def training(self, example: Example) -> bool:
        return self.mode.training(example.case) if self.mode is not None else True

    def dout_malformations(self) -> list[Malformation]:
        if self.scalar_output:

            def not_scalar(example: Example) -> Example:
                return example.with_douts((np.ones(2),))

            return [Malformation(self.douts[0], "not_scalar", not_scalar, stage="backward")]

        def extra_axis(example: Example) -> Example:
            first, *rest = example.douts
            return example.with_douts((first[np.newaxis], *rest))

        return [Malformation(self.douts[0], "extra_axis", extra_axis, stage="backward")]


def draw_seed(example: Example) -> int:
    """The seed of the layer's own random draws in this example (not the example's seed itself,
    which drew the values)."""
    return (example.spec.seed * 2654435761 + 97) % 2**32


def accepts_keyword(cls: type, name: str) -> bool:
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


LAYER = Convention()
"""``cls(*params)``; ``forward(*inputs)`` -> output(s); ``backward(*douts)`` -> input gradient(s)."""

LOSS = Convention(loss=True)
"""``cls(*params)``; ``forward(x, t)`` -> scalar; ``backward(dout=1)`` -> dx."""
