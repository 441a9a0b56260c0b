"""Calls a class of the implementation under test through the book's protocol.

Every call goes through the row's :class:`~conformance.conventions.Convention`
and runs inside :func:`guarded`: NumPy floating-point errors (overflow,
division by zero, invalid operations) and warnings are raised as exceptions,
and any exception is wrapped in :class:`ImplementationRaised`, which names the
stage and the line of the implementation that raised.

Every call gets fresh copies of its arguments (inputs, state, upstream
gradients), so a layer that modifies an argument in place still gets a true
verdict on its gradient; the ``contract`` check reports the modification.

Parameters and their gradients are read wherever they can be (see
:func:`read_params` and :func:`param_grads`): a misspelt ``params``, a missing
``grads`` or ``grads`` that is not a list never hides the input gradients, and
a parameter gradient that cannot be read is :class:`Unavailable`, with the
reason, rather than an error of the whole check.
"""

from __future__ import annotations

import difflib
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from conformance.conventions import ProtocolViolation, RandomSource, SeededDraws, accepts_keyword, draw_seed
from conformance.examples import typical_example
from conformance.implementation import SignatureMismatch
from conformance.numerics import Array
from conformance.spec import Example, Row

T = TypeVar("T")

__all__ = [
    "ImplementationRaised",
    "Instance",
    "ProtocolViolation",
    "Unavailable",
    "backward",
    "cast_douts",
    "cast_values",
    "construct",
    "forward",
    "guarded",
    "param_grads",
    "read_params",
]


class ImplementationRaised(Exception):
    """The implementation under test raised ``error`` during ``stage``."""

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error
        self.where = where_raised(error)
        at = f" at {self.where}" if self.where else ""
        super().__init__(f"{stage} raised {type(error).__name__}: {error}{at}")

    @property
    def short(self) -> str:
        """``overflow encountered in exp at mylayers.py:10``: the error and its line, in one line."""
        message = str(self.error) or type(self.error).__name__
        if isinstance(self.error, FloatingPointError | RuntimeWarning):
            text = message
        else:
            text = f"{type(self.error).__name__} in {self.stage}: {message}"
        return f"{text} at {self.where}" if self.where else text


def where_raised(error: BaseException) -> str:
    """``file.py:LINE`` of the innermost frame outside NumPy, the harness and the standard library."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        path = frame.filename.replace("\\", "/")
        if (
            "/numpy/" in path
            or "/conformance/" in path
            or ("/lib/python" in path and "site-packages" not in path)
        ):
            continue
        return f"{path.rsplit('/', 1)[-1]}:{frame.lineno}"
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""


@contextmanager
def _numerics_as_errors() -> Iterator[None]:
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def guarded(stage: str, call: Callable[[], T]) -> T:
    """Run ``call`` with numerical problems raised; wrap whatever it raises."""
    try:
        with _numerics_as_errors():
            return call()
    except (ImplementationRaised, ProtocolViolation):
        raise
    except Exception as error:
        raise ImplementationRaised(stage, error) from error


@dataclass(frozen=True)
class Unavailable:
    """A gradient that cannot be read, and why. ``defect``: the protocol was broken (the
    ``contract`` check reports it); otherwise the target does not apply to this class."""

    reason: str
    defect: bool = True


# --- construction ------------------------------------------------------------------------


@dataclass
class Instance:
    """A constructed layer, with what the harness keeps beside it."""

    layer: Any
    example: Example
    passed: dict[str, Array]  # the parameter arrays given to the constructor, by name
    generator: np.random.Generator | None = None
    generator_state: dict[str, Any] | None = None
    observed: dict[str, Array] = field(default_factory=dict)  # draws read back after forward
    seeded: bool = False  # the layer draws random numbers: reseed before every forward
    sources: tuple[RandomSource, ...] = ()  # the randomness installed on the layer

    @property
    def name(self) -> str:
        return type(self.layer).__name__

    def rebind(self, example: Example) -> Instance:
        """The same layer, driven from now on with ``example`` (its case, state and draws): the
        injected generator restarts from that example's seed, and the randomness sources are
        installed again with its draws (shared negatives), as a fresh layer's would be."""
        self.example = example
        if self.generator is not None:
            self.generator_state = dict(np.random.default_rng(draw_seed(example)).bit_generator.state)
        for source in self.sources:
            guarded("constructor", lambda source=source: source.install(self.layer, example))  # type: ignore[misc]
        return self


def cast_params(row: Row, example: Example, dtype: Any) -> dict[str, Array]:
    return {p.name: example.params[p.name].astype(dtype) for p in row.params}


def construct(
    row: Row,
    cls: type,
    example: Example,
    dtype: Any,
    params: dict[str, Array] | None = None,
    valid: bool = True,
) -> Instance:
    """Build the class with the book's signature (``params``: the arrays to pass, default the
    example's cast to ``dtype``), write drawn weights into a model, install randomness.

    A TypeError from the constructor on a ``valid`` example means the class takes other
    arguments than the row gives: :class:`SignatureMismatch`, not a verdict on the layer.
    """
    convention = row.convention
    given = cast_params(row, example, dtype) if params is None else params
    args = convention.constructor_arguments(row, example, given)
    keywords = convention.constructor_keywords(cls, example, dtype)
    try:
        layer = guarded("constructor", lambda: cls(*args, **keywords))
    except ImplementationRaised as raised:
        if valid and isinstance(raised.error, TypeError):
            raise SignatureMismatch(
                f"signature mismatch: {convention.signature(row)} raised {raised.short}"
            ) from raised
        raise
    generator = keywords.get("rng")
    instance = Instance(
        layer,
        example,
        {} if convention.constructor.draws_own_weights else given,
        generator,
        generator.bit_generator.state if generator is not None else None,
        seeded=any(isinstance(source, SeededDraws) for source in convention.randomness),
        sources=convention.randomness,
    )
    if convention.constructor.draws_own_weights:
        _write_drawn_weights(row, instance, given)
    for source in convention.randomness:
        guarded("constructor", lambda source=source: source.install(layer, example))  # type: ignore[misc]
    return instance


def fixed_weights_dtype(row: Row, cls: type, dtype: str) -> str:
    """Why a class that draws its own weights cannot be checked in ``dtype``, if it cannot: it
    takes no ``dtype=`` and makes them in another dtype (the book's models make float32
    weights, ``.astype('f')``, so only the float32 check applies to them). Built once from a
    typical example to see; a constructor that raises is left to the checks to report."""
    if not row.convention.constructor.draws_own_weights or accepts_keyword(cls, "dtype"):
        return ""
    example = typical_example(row)
    args = row.convention.constructor_arguments(row, example, {})
    try:
        layer = guarded("constructor", lambda: cls(*args))
    except ImplementationRaised:
        return ""
    reading = read_params(row, layer)
    made = sorted({str(b.dtype) for b in reading.buffers or []})
    if not made or made == [str(np.dtype(dtype))]:
        return ""
    return f"{type(layer).__name__}'s constructor makes {' and '.join(made)} weights and takes no dtype="


def _write_drawn_weights(row: Row, instance: Instance, drawn: dict[str, Array]) -> None:
    reading = read_params(row, instance.layer)
    if reading.buffers is None:
        raise ProtocolViolation(
            f"{instance.name} draws its own weights and the harness cannot write the drawn ones:"
            f" {reading.problem}"
        )
    for spec, buffer in zip(row.params, reading.buffers, strict=True):
        if buffer.dtype != drawn[spec.name].dtype:
            raise ProtocolViolation(
                f"{instance.name}.params holds {spec.name} as {buffer.dtype}; the check needs"
                f" {drawn[spec.name].dtype}"
            )
        buffer[...] = drawn[spec.name]


# --- forward and backward ------------------------------------------------------------------------


def cast_values(row: Row, example: Example, dtype: Any) -> dict[str, Array]:
    """Every input the calls read (forward arguments, state, prelude), cast for the implementation."""
    return {t.name: t.kind.cast(example.inputs[t.name], dtype) for t in row.inputs if t.route != "construct"}


def cast_douts(row: Row, example: Example, dtype: Any) -> list[Any]:
    """Upstream gradients in ``dtype``; a loss gets a Python float, as in ``backward(dout=1)``."""
    if row.convention.scalar_output:
        return [float(example.douts[0])]
    return [d.astype(dtype) for d in example.douts]


def _reseed(instance: Instance) -> None:
    """The same draws on every call: NumPy's global generator (the book's layers) and the
    injected one (scratchnn's) start over."""
    if instance.seeded:
        np.random.seed(draw_seed(instance.example))  # noqa: NPY002 - the global state is what book code draws from
        if instance.generator is not None and instance.generator_state is not None:
            instance.generator.bit_generator.state = instance.generator_state


def forward(
    row: Row,
    instance: Instance,
    values: dict[str, Array],
    dtype: Any = np.float64,
    copies: bool = True,
    need_output: bool = True,
) -> tuple[Array, ...]:
    """One forward call (after setting or carrying state), the outputs as arrays. ``values``
    are the cast inputs by name; each call gets fresh copies of them (``copies=False``
    hands over the arrays themselves, for the contract check to see what is modified). With
    ``need_output=False`` a forward that returns None gives no outputs instead of an error (a
    check of backward does not need them; the forward check reports the missing return)."""
    fresh: Callable[[Array], Array] = (lambda a: a.copy()) if copies else (lambda a: a)
    convention, layer, example = row.convention, instance.layer, instance.example
    method = f"{instance.name}.{convention.method}"
    if convention.reset_state and callable(getattr(layer, "reset_state", None)):
        guarded("forward", layer.reset_state)
    state = convention.state
    if state is not None and example.case.get("state") in ("set", "carried"):
        carried = example.case.get("state") == "carried"
        names = [state.prelude[n] if carried else n for n in state.names]
        guarded("forward", lambda: layer.set_state(*(fresh(values[n]) for n in names)))
        if carried:
            first = [values[state.prelude.get(t.name, t.name)].copy() for t in row.forward_inputs]
            convention.set_attributes(layer, example)
            _reseed(instance)
            guarded(
                "forward",
                lambda: getattr(layer, convention.method)(*first, **convention.forward_keywords(example)),
            )
    convention.set_attributes(layer, example)
    _reseed(instance)
    args = [fresh(values[t.name]) for t in row.forward_inputs]
    call = getattr(layer, convention.method, None)
    if not callable(call):
        raise ProtocolViolation(f"{instance.name} has no method {convention.method}")
    result = guarded("forward", lambda: call(*args, **convention.forward_keywords(example)))
    instance.observed = {}
    for source in convention.randomness:
        instance.observed |= source.observe(layer, example, convention.training(example), result)
    if result is None and not need_output:
        return ()
    if type(result) is float:
        result = np.asarray(result, dtype=dtype)
    outputs = tuple(_numeric(f"{method} returned", value, "forward") for value in _as_sequence(result))
    if convention.scalar_output and (len(outputs) != 1 or outputs[0].size != 1):
        raise ProtocolViolation(f"{method} returned {describe(result)}; a loss returns one scalar", "forward")
    return outputs


def _as_sequence(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _numeric(what: str, value: Any, home: str) -> Array:
    """``value`` as an array of real numbers, or the protocol violation it is (a forgotten
    ``return`` gives None; a layer returning a list of lists is fine)."""
    if value is None:
        raise ProtocolViolation(f"{what} None; expected an array (is a return statement missing?)", home)
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise ProtocolViolation(f"{what} {describe(value)}; expected a NumPy array of real numbers", home)
    return array


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return "None" if value is None else f"a {type(value).__name__}"


def backward(
    row: Row, instance: Instance, douts: list[Any], copies: bool = True
) -> dict[str, Array | Unavailable]:
    """The input gradients by input name: returned ones, then state gradients read from
    attributes (none for models, whose return value is not checked). Each call gets fresh
    copies of ``douts`` unless ``copies=False``."""
    layer = instance.layer
    fresh = [d if isinstance(d, float) or not copies else np.array(d, copy=True) for d in douts]
    result = guarded("backward", lambda: layer.backward(*fresh))
    gradients: dict[str, Array | Unavailable] = dict(_returned(row, instance.name, result))
    state = row.convention.state
    for tensor in row.state_gradients:
        assert state is not None
        attribute = state.gradients[tensor.name]
        value = getattr(layer, attribute, None)
        if value is None:
            optional = attribute in state.optional
            reason = (
                f"{instance.name} has no attribute {attribute} (the book's class does not expose it)"
                if optional
                else f"{instance.name}.backward left no attribute {attribute}"
            )
            gradients[tensor.name] = Unavailable(reason, defect=not optional)
        else:
            gradients[tensor.name] = _numeric(
                f"{instance.name}.{attribute} is", np.array(value, copy=True), "gradient"
            )
    return gradients


def _returned(row: Row, name: str, result: Any) -> Iterator[tuple[str, Array]]:
    names = [t.name for t in row.returned_gradients]
    if not names:
        return
    method = f"{name}.backward"
    expected = ", ".join(f"d{n}" for n in names)
    if len(names) == 1:
        if isinstance(result, (tuple, list)):
            raise ProtocolViolation(
                f"{method} returned {describe(result)} values; expected one array ({expected})", "gradient"
            )
        yield names[0], _numeric(f"{method} returned", result, "gradient")
        return
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else describe(result)
        raise ProtocolViolation(f"{method} returned {got}; expected {len(names)} ({expected})", "gradient")
    for input_name, value in zip(names, result, strict=True):
        yield input_name, _numeric(f"{method} returned d{input_name} as", value, "gradient")


# --- parameters and their gradients -------------------------------------------------------------


@dataclass(frozen=True)
class ParamsReading:
    """What ``params`` holds: one buffer per row parameter (shared and transposed occurrences
    merged), where each buffer occurs, or the problem that prevented reading it."""

    buffers: list[Array] | None
    occurrences: list[list[tuple[int, bool]]]  # per buffer: (index in params, transposed)
    problem: str = ""
    length: int = 0


def near_miss_attribute(layer: Any, name: str) -> str:
    """`` (found parmas)`` when the layer has an attribute spelt nearly like ``name``."""
    names = [n for n in getattr(layer, "__dict__", {}) if n != name]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.7)
    return f" (found {close[0]})" if close else ""


def read_params(row: Row, layer: Any) -> ParamsReading:
    name = type(layer).__name__
    if not hasattr(layer, "params"):
        return ParamsReading(None, [], f"no attribute params{near_miss_attribute(layer, 'params')}")
    params = layer.params
    if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
        return ParamsReading(None, [], f"{name}.params is {describe(params)}, expected a list of arrays")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            return ParamsReading(None, [], f"{name}.params[{i}] is {describe(p)}, expected an array")
    occurrences: list[list[tuple[int, bool]]] = []
    bases: list[Array] = []
    for i, p in enumerate(params):
        for base, seen in zip(bases, occurrences, strict=True):
            if np.shares_memory(p, base):
                transposed = _is_transpose(p, base)
                if not transposed and not (p.shape == base.shape and p.strides == base.strides):
                    problem = (
                        f"{name}.params[{i}] shares memory with params[{seen[0][0]}] but is neither"
                        " the same array nor its transpose"
                    )
                    return ParamsReading(None, [], problem)
                seen.append((i, transposed))
                break
        else:
            bases.append(p)
            occurrences.append([(i, False)])
    if len(bases) != len(row.params):
        listing = ", ".join(p.name for p in row.params) or "none"
        shared = f" ({len(params)} entries)" if len(params) != len(bases) else ""
        return ParamsReading(
            None,
            occurrences,
            f"{name}.params holds {len(bases)} distinct arrays{shared};"
            f" expected {len(row.params)} ({listing})",
            len(params),
        )
    return ParamsReading(bases, occurrences, "", len(params))


def _is_transpose(p: Array, base: Array) -> bool:
    return (
        p.ndim == 2
        and p.shape == base.shape[::-1]
        and p.strides == base.strides[::-1]
        and p.ndim == base.ndim
    )


def live_params(row: Row, instance: Instance) -> tuple[dict[str, Array], str]:
    """The arrays the layer computes with, by row parameter name, and the problem with
    ``params`` if there is one: ``params`` when readable, else (layers built from their
    parameters) the arrays passed to the constructor."""
    reading = read_params(row, instance.layer)
    if reading.buffers is not None:
        shapes_match = all(
            b.shape == instance.example.params[p.name].shape
            for p, b in zip(row.params, reading.buffers, strict=True)
        )
        if shapes_match:
            return {p.name: b for p, b in zip(row.params, reading.buffers, strict=True)}, ""
        problem = f"{instance.name}.params holds arrays of shapes {[b.shape for b in reading.buffers]}"
    else:
        problem = reading.problem
    if instance.passed:
        return dict(instance.passed), problem
    raise ProtocolViolation(f"cannot read the parameters of {instance.name}: {problem}")


def param_grads(row: Row, instance: Instance) -> dict[str, Array | Unavailable]:
    """Copies of the parameter gradients by row parameter name: the ``grads`` entries of every
    occurrence of a shared buffer summed (a transposed occurrence's transposed)."""
    if not row.params:
        return {}
    layer, name = instance.layer, instance.name
    expected = {p.name: instance.example.params[p.name].shape for p in row.params}
    if not hasattr(layer, "grads"):
        return _unavailable(row, f"no attribute grads{near_miss_attribute(layer, 'grads')}")
    grads = layer.grads
    reading = read_params(row, layer)
    if isinstance(grads, np.ndarray):
        if len(row.params) == 1 and grads.shape == expected[row.params[0].name]:
            return {row.params[0].name: np.array(grads, copy=True)}
        return _unavailable(row, f"{name}.grads is {describe(grads)}, expected a list of arrays")
    if not isinstance(grads, (list, tuple)):
        return _unavailable(row, f"{name}.grads is {describe(grads)}, expected a list of arrays")
    if reading.buffers is not None and len(grads) == reading.length:
        result: dict[str, Array | Unavailable] = {}
        for spec, places in zip(row.params, reading.occurrences, strict=True):
            total: Array | None = None
            for index, transposed in places:
                g = np.asarray(grads[index])
                g = g.T if transposed else g
                if g.shape != expected[spec.name]:
                    total = None
                    break
                total = g.astype(np.result_type(g.dtype, np.float32)) if total is None else total + g
            result[spec.name] = (
                np.array(total, copy=True)
                if total is not None
                else Unavailable(f"{name}.grads entry for {spec.name} has the wrong shape")
            )
        return result
    if len(grads) == len(row.params) and all(
        isinstance(g, np.ndarray) and g.shape == expected[p.name]
        for g, p in zip(grads, row.params, strict=True)
    ):
        return {p.name: np.array(g, copy=True) for p, g in zip(row.params, grads, strict=True)}
    problem = reading.problem or f"{name}.grads holds {len(grads)} entries and params {reading.length}"
    return _unavailable(row, f"cannot match grads to the parameters: {problem}")


def _unavailable(row: Row, reason: str) -> dict[str, Array | Unavailable]:
    return {p.name: Unavailable(reason) for p in row.params}


# --- a pass, and the scalarised loss of the perturbation checks ---------------------------------


@dataclass(frozen=True)
class Pass:
    """One forward and backward pass: outputs, and every gradient by target name (``dx``, ``dW``)."""

    outputs: tuple[Array, ...]
    gradients: dict[str, Array | Unavailable]
    observed: dict[str, Array] = field(default_factory=dict)

    def gradient(self, target: str) -> Array | Unavailable:
        return self.gradients[target]


def run(row: Row, cls: type, example: Example, dtype: Any, need_output: bool = True) -> Pass:
    """Build, forward and backward once in ``dtype`` (see :func:`forward` for ``need_output``)."""
    instance = construct(row, cls, example, dtype)
    outputs = forward(row, instance, cast_values(row, example, dtype), dtype, need_output=need_output)
    inputs = backward(row, instance, cast_douts(row, example, dtype))
    gradients = {f"d{k}": v for k, v in inputs.items()} | {
        f"d{k}": v for k, v in param_grads(row, instance).items()
    }
    return Pass(outputs, gradients, instance.observed)


def scalarized_loss(
    row: Row, instance: Instance, values: dict[str, Array], douts: list[Any]
) -> Callable[[], float]:
    """L = sum_k <dout_k, out_k>, evaluated with the layer's current params and ``values``.

    Its gradient is exactly what backward(dout) returns, so finite differences
    and Taylor remainders of L check backward against the implementation's own
    forward. ``values`` and the layer's params may be perturbed in place between calls.
    """
    weights = [np.asarray(d, dtype=np.float64) for d in douts]

    def loss() -> float:
        outputs = _matching(row, instance, weights, forward(row, instance, values))
        return float(sum(np.sum(w * o.astype(np.float64)) for w, o in zip(weights, outputs, strict=True)))

    return loss


def loss_magnitude(row: Row, instance: Instance, values: dict[str, Array], douts: list[Any]) -> float:
    """sum |dout * out| + 1: the size of the terms of L, which sets its rounding error."""
    weights = [np.asarray(d, dtype=np.float64) for d in douts]
    outputs = _matching(row, instance, weights, forward(row, instance, values))
    return sum(float(np.sum(np.abs(w * o))) for w, o in zip(weights, outputs, strict=True)) + 1.0


def _matching(
    row: Row, instance: Instance, douts: list[Array], outputs: tuple[Array, ...]
) -> tuple[Array, ...]:
    """The outputs, after checking there is one per upstream gradient, of its shape."""
    shapes = [o.shape for o in outputs]
    expected = [d.shape for d in douts]
    if shapes != expected:
        raise ProtocolViolation(
            f"{instance.name}.{row.convention.method} returned outputs of shapes {shapes}; the reference's"
            f" are {expected}"
        )
    return outputs
