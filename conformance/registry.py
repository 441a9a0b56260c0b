"""The registry: one row per layer, the only place that says what is checked.

Adding a layer means: its code in ``scratchnn/``, one row here (with its
reference in ``references.py``), nothing else. ``tests/harness`` fails when a
public class of ``scratchnn.nodes``, ``scratchnn.layers`` or ``scratchnn.models``
has no row.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance import references as ref
from conformance.malformations import input_broadcastable, input_resized, param_resized, with_dims
from conformance.spec import Array, Dims, Draw, Kind, Malformation, Role, Row, Tensor
from conformance.strategies import draw_axis, draw_batch, draw_pair, draw_shape, draw_size

# --- dims -----------------------------------------------------------------------


def _elementwise(draw: Draw) -> Dims:
    return {"S": draw_shape(draw, "shape", 0, 3)}


def _batch_rows(draw: Draw) -> Dims:
    return {"S": draw_shape(draw, "shape", 1, 3)}


def _softmax(draw: Draw) -> Dims:
    return {"S": draw_shape(draw, "shape", 1, 4)}


def _branch(draw: Draw) -> Dims:
    return {"S": draw_shape(draw, "shape", 0, 3), "n": int(draw(st.integers(1, 4), "n"))}


def _repeat(draw: Draw) -> Dims:
    shape = draw_shape(draw, "shape", 1, 3)
    return {"S": shape, "axis": draw_axis(draw, len(shape)), "repeats": draw_size(draw, "repeats")}


def _sum(draw: Draw) -> Dims:
    shape = draw_shape(draw, "shape", 1, 3)
    return {"S": shape, "axis": draw_axis(draw, len(shape))}


def _matrix(draw: Draw) -> Dims:
    n = draw_batch(draw)
    d, h = draw_pair(draw, "D", "H")
    return {"N": n, "D": d, "H": h}


def _classes(draw: Draw) -> Dims:
    return {"N": draw_batch(draw), "C": draw_size(draw, "C")}


def _regression(draw: Draw) -> Dims:
    return {"S": draw_shape(draw, "shape", 2, 3)}


def _two_layer(draw: Draw) -> Dims:
    n = draw_batch(draw)
    i, h = draw_pair(draw, "input_size", "hidden_size")
    return {"N": n, "I": i, "H": h, "O": draw_size(draw, "output_size")}


# --- shapes -----------------------------------------------------------------------


def _s(dims: Dims) -> tuple[int, ...]:
    return tuple(dims["S"])


def _shape(*names: str) -> Any:
    return lambda dims: tuple(dims[n] for n in names)


# --- builders (the book's constructor signatures) ------------------------------------


def _no_params(cls: type, params: list[Array], dims: Dims) -> Any:
    return cls()


def _build_branch(cls: type, params: list[Array], dims: Dims) -> Any:
    return cls(dims["n"])


def _build_repeat(cls: type, params: list[Array], dims: Dims) -> Any:
    return cls(dims["repeats"], dims["axis"])


def _build_sum(cls: type, params: list[Array], dims: Dims) -> Any:
    return cls(dims["axis"])


def _build_model(cls: type, params: list[Array], dims: Dims) -> Any:
    """TwoLayerNet(input_size, hidden_size, output_size), then the drawn weights written
    into its own parameter arrays in place (the model draws its own at construction)."""
    model = cls(dims["I"], dims["H"], dims["O"])
    if len(model.params) != len(params):
        raise ValueError(
            f"TwoLayerNet has {len(model.params)} params; expected {len(params)} (W1, b1, W2, b2)"
        )
    for own, drawn in zip(model.params, params, strict=True):
        own[...] = drawn
    return model


# --- row-specific bad inputs ---------------------------------------------------------


def _axis_out_of_range(example: Any) -> Any:
    return with_dims(example, axis=len(example.dims["S"]))


AXIS_OUT_OF_RANGE = Malformation("axis", "out_of_range", _axis_out_of_range)
ZERO_REPEATS = Malformation("repeats", "not_positive", lambda ex: with_dims(ex, repeats=0), stage="construct")
ZERO_HIDDEN = Malformation("hidden_size", "not_positive", lambda ex: with_dims(ex, H=0), stage="construct")


def _too_many_douts(example: Any) -> Any:
    return dataclasses.replace(example, douts=(*example.douts, example.douts[0]))


EXTRA_DOUT = Malformation("douts", "count", _too_many_douts, stage="backward")


def _pair(name: str) -> tuple[Tensor, Tensor]:
    return Tensor("x", _s, fixed_rank=False), Tensor(name, _s, fixed_rank=False)


# --- the rows ----------------------------------------------------------------------------

STABILITY = ("moderate", "zeros", "extreme")
X_ANY_RANK = (Tensor("x", _s, fixed_rank=False),)

ROWS: tuple[Row, ...] = (
    # chapter 1.3.4: computation-graph nodes
    Row(
        name="Add",
        kind=Kind.LAYER,
        dims=_elementwise,
        inputs=_pair("y"),
        reference=ref.add,
        build=_no_params,
        malformed=(input_resized("y", "shape"), input_broadcastable("y", "x")),
    ),
    Row(
        name="Mul",
        kind=Kind.LAYER,
        dims=_elementwise,
        inputs=_pair("y"),
        reference=ref.mul,
        build=_no_params,
        malformed=(input_resized("y", "shape"), input_broadcastable("y", "x")),
    ),
    Row(
        name="Branch",
        kind=Kind.LAYER,
        dims=_branch,
        inputs=X_ANY_RANK,
        reference=ref.branch,
        build=_build_branch,
        malformed=(EXTRA_DOUT,),
    ),
    Row(
        name="Repeat",
        kind=Kind.LAYER,
        dims=_repeat,
        inputs=X_ANY_RANK,
        reference=ref.repeat,
        build=_build_repeat,
        malformed=(AXIS_OUT_OF_RANGE, ZERO_REPEATS),
    ),
    Row(
        name="Sum",
        kind=Kind.LAYER,
        dims=_sum,
        inputs=X_ANY_RANK,
        reference=ref.sum_keepdims,
        build=_build_sum,
        malformed=(AXIS_OUT_OF_RANGE,),
    ),
    Row(
        name="MatMul",
        kind=Kind.LAYER,
        dims=_matrix,
        inputs=(Tensor("x", _shape("N", "D")),),
        reference=ref.matmul,
        params=(Tensor("W", _shape("D", "H")),),
        malformed=(input_resized("x"),),
    ),
    # chapter 1.3.5: layers
    Row(
        name="Sigmoid",
        kind=Kind.LAYER,
        dims=_elementwise,
        inputs=X_ANY_RANK,
        reference=ref.sigmoid,
        build=_no_params,
        regimes=STABILITY,
    ),
    Row(
        name="ReLU",
        kind=Kind.LAYER,
        dims=_elementwise,
        inputs=X_ANY_RANK,
        reference=ref.relu,
        build=_no_params,
        kinks={"x": np.abs},
    ),
    Row(
        name="Tanh",
        kind=Kind.LAYER,
        dims=_elementwise,
        inputs=X_ANY_RANK,
        reference=ref.tanh,
        build=_no_params,
        regimes=STABILITY,
    ),
    Row(
        name="Affine",
        kind=Kind.LAYER,
        dims=_matrix,
        inputs=(Tensor("x", _shape("N", "D")),),
        reference=ref.affine,
        params=(Tensor("W", _shape("D", "H")), Tensor("b", _shape("H"))),
        malformed=(input_resized("x"), param_resized("b")),
    ),
    Row(
        name="Softmax",
        kind=Kind.LAYER,
        dims=_softmax,
        inputs=X_ANY_RANK,
        reference=ref.softmax,
        build=_no_params,
        regimes=STABILITY,
    ),
    # losses
    Row(
        name="SoftmaxWithLoss",
        kind=Kind.LOSS,
        dims=_classes,
        inputs=(Tensor("x", _shape("N", "C")), Tensor("t", _shape("N"), Role.LABELS)),
        reference=ref.softmax_with_loss,
        build=_no_params,
        regimes=STABILITY,
    ),
    Row(
        name="SigmoidWithLoss",
        kind=Kind.LOSS,
        dims=_batch_rows,
        inputs=(Tensor("x", _s, fixed_rank=False), Tensor("t", _s, Role.BINARY, fixed_rank=False)),
        reference=ref.sigmoid_with_loss,
        build=_no_params,
        regimes=STABILITY,
    ),
    Row(
        name="MeanSquaredError",
        kind=Kind.LOSS,
        dims=_regression,
        inputs=(Tensor("x", _s, fixed_rank=False), Tensor("t", _s, Role.TARGET, fixed_rank=False)),
        reference=ref.mean_squared_error,
        build=_no_params,
        malformed=(input_resized("t", "shape"),),
    ),
    # section 1.4: the whole model, loss and every parameter gradient
    Row(
        name="TwoLayerNet",
        kind=Kind.MODEL,
        dims=_two_layer,
        inputs=(Tensor("x", _shape("N", "I")), Tensor("t", _shape("N"), Role.LABELS, classes="O")),
        reference=ref.two_layer_net,
        params=(
            Tensor("W1", _shape("I", "H")),
            Tensor("b1", _shape("H")),
            Tensor("W2", _shape("H", "O")),
            Tensor("b2", _shape("O")),
        ),
        build=_build_model,
        malformed=(input_resized("x"), ZERO_HIDDEN),
        not_applicable={
            "float32": "the book's constructor TwoLayerNet(input_size, hidden_size, output_size) "
            "has no dtype; "
            "float32 is checked layer by layer",
        },
    ),
)

ROWS_BY_NAME = {row.name: row for row in ROWS}


def row_named(name: str) -> Row:
    try:
        return ROWS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no registry row named {name!r}; rows: {', '.join(ROWS_BY_NAME)}") from None
