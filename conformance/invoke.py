"""Calls a class of the implementation under test through the book's protocol.

Everything the implementation does runs inside :func:`guarded`: NumPy
floating-point errors (overflow, division by zero, invalid operations) and
warnings are raised as exceptions, and any exception is wrapped in
:class:`ImplementationRaised` naming the stage, so checks can report it.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from conformance.autograd import Pass
from conformance.spec import Array, Example, Kind, Role, Row

T = TypeVar("T")


class ImplementationRaised(Exception):
    """The implementation under test raised ``error`` during ``stage``."""

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        super().__init__(f"{stage} raised {type(error).__name__}: {error}{where}")


class ProtocolViolation(Exception):
    """The implementation returned something the protocol does not allow (wrong count, type)."""


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


def cast_params(example: Example, row: Row, dtype: Any) -> list[Array]:
    return [example.params[p.name].astype(dtype) for p in row.params]


def cast_inputs(example: Example, row: Row, dtype: Any) -> list[Array]:
    """Inputs in the row's order: real values in ``dtype``; labels as drawn (int64 or one-hot)."""
    args = []
    for tensor in row.inputs:
        value = example.inputs[tensor.name]
        if tensor.role in (Role.FLOAT, Role.TARGET) or (
            tensor.role is Role.LABELS and value.dtype.kind == "f"
        ):
            value = value.astype(dtype)
        args.append(value.copy())
    return args


def cast_douts(example: Example, row: Row, dtype: Any) -> list[Any]:
    """Upstream gradients in ``dtype``; a loss gets a Python float, as in ``backward(dout=1)``."""
    if row.kind in (Kind.LOSS, Kind.MODEL):
        return [float(example.douts[0])]
    return [d.astype(dtype) for d in example.douts]


def construct(row: Row, cls: type, example: Example, params: list[Array]) -> Any:
    return guarded("constructor", lambda: row.build(cls, params, example.dims))


def forward(row: Row, layer: Any, args: list[Array], dtype: Any = np.float64) -> tuple[Array, ...]:
    """The outputs as arrays. A loss returned as a Python float carries no dtype, so it
    is taken as ``dtype``; NumPy scalars keep theirs (and the float32 check judges it)."""
    result = guarded("forward", lambda: layer.forward(*args))
    if type(result) is float:
        result = np.asarray(result, dtype=dtype)
    outputs = tuple(_numeric("forward", value) for value in _as_sequence(result))
    if row.kind is not Kind.LAYER and (len(outputs) != 1 or outputs[0].size != 1):
        raise ProtocolViolation(f"forward returned {describe(result)}; a loss returns one scalar")
    return outputs


def _as_sequence(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _numeric(stage: str, value: Any) -> Array:
    """``value`` as an array of real numbers, or the protocol violation it is (a forgotten
    ``return`` gives None; a layer returning a list of lists is fine)."""
    array = np.asarray(value) if value is not None else None
    if array is None or array.dtype.kind not in "fiub":
        raise ProtocolViolation(f"{stage} returned {describe(value)}; expected a NumPy array of real numbers")
    return array


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return "None" if value is None else f"a {type(value).__name__}"


def backward(row: Row, layer: Any, douts: list[Any]) -> dict[str, Array]:
    """Input gradients by input name (none for models, whose return value is not checked)."""
    result = guarded("backward", lambda: layer.backward(*douts))
    names = [t.name for t in row.differentiable_inputs]
    if not names:
        return {}
    if len(names) == 1:
        if isinstance(result, (tuple, list)):
            raise ProtocolViolation(
                f"backward returned a {type(result).__name__}; expected one array (d{names[0]})"
            )
        return {names[0]: _numeric("backward", result)}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else type(result).__name__
        raise ProtocolViolation(
            f"backward returned {got}; expected a tuple ({', '.join('d' + n for n in names)})"
        )
    return {name: _numeric("backward", value) for name, value in zip(names, result, strict=True)}


def param_grads(row: Row, layer: Any) -> dict[str, Array]:
    """Copies of the layer's ``grads``, named after the row's params."""
    grads = getattr(layer, "grads", None)
    if not isinstance(grads, (list, tuple)) or len(grads) != len(row.params):
        count = len(grads) if isinstance(grads, (list, tuple)) else type(grads).__name__
        raise ProtocolViolation(f"grads holds {count} entries; expected {len(row.params)} (one per param)")
    return {p.name: np.array(g) for p, g in zip(row.params, grads, strict=True)}


def run(row: Row, cls: type, example: Example, dtype: Any) -> Pass:
    """Build, forward and backward once in ``dtype``."""
    layer = construct(row, cls, example, cast_params(example, row, dtype))
    outputs = forward(row, layer, cast_inputs(example, row, dtype), dtype)
    input_grads = backward(row, layer, cast_douts(example, row, dtype))
    return Pass(outputs, input_grads, param_grads(row, layer))


def scalarized_loss(row: Row, layer: Any, args: list[Array], douts: list[Array]) -> Callable[[], float]:
    """L = sum_k <dout_k, out_k>, evaluated with the layer's current params and ``args``.

    Its gradient is exactly what backward(dout) returns, so finite differences
    and Taylor remainders of L check backward against the implementation's own
    forward. ``args`` and the layer's params may be perturbed in place between calls.
    """
    weights = [np.asarray(d, dtype=np.float64) for d in douts]

    def loss() -> float:
        outputs = _matching(weights, forward(row, layer, args))
        return float(sum(np.sum(w * o.astype(np.float64)) for w, o in zip(weights, outputs, strict=True)))

    return loss


def loss_magnitude(row: Row, layer: Any, args: list[Array], douts: list[Array]) -> float:
    """sum |dout * out| + 1: the size of the terms of L, which sets its rounding error."""
    weights = [np.asarray(d, dtype=np.float64) for d in douts]
    outputs = _matching(weights, forward(row, layer, args))
    total = sum(float(np.sum(np.abs(w * o))) for w, o in zip(weights, outputs, strict=True))
    return total + 1.0


def _matching(douts: list[Array], outputs: tuple[Array, ...]) -> tuple[Array, ...]:
    """The outputs, after checking there is one per upstream gradient, of its shape."""
    shapes = [o.shape for o in outputs]
    expected = [d.shape for d in douts]
    if shapes != expected:
        raise ProtocolViolation(
            f"forward returned outputs of shapes {shapes}; the reference's are {expected}"
        )
    return outputs
