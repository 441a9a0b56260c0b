"""Rows of ``scratchnn.nodes``: the computation-graph nodes of chapter 1 (section 1.3.4).

The book shows these only as figures; the constructor signatures are the
project's own (``Repeat(repeats, axis)``, ``Sum(axis)``, ``Branch(n)``), so a class
must use those parameter names to be checked (``strict_names``).
"""

from __future__ import annotations

from conformance.conventions import Arg, Constructor, Convention
from conformance.dims import AxisOf, Batch, DimsSpec, Integers, Shape, Size, Square
from conformance.malformations import Malformation, dims_changed, input_broadcastable, input_resized
from conformance.references import layers as ref
from conformance.spec import Example, Row, Tensor

GROUP = "scratchnn.nodes"

NODE = Convention(constructor=Constructor(args=(), strict_names=True))


def _axis_out_of_range(example: Example) -> Example:
    return example.with_dims(axis=len(example.dims["S"]))


AXIS_OUT_OF_RANGE = Malformation("axis", "out_of_range", _axis_out_of_range)


def _too_many_douts(example: Example) -> Example:
    return example.with_douts((*example.douts, example.douts[0]))


EXTRA_DOUT = Malformation("douts", "count", _too_many_douts, stage="backward")

ANY_RANK: DimsSpec = {"S": Shape((0, 1, 2, 3))}
X = Tensor("x", ("S",))

ROWS: tuple[Row, ...] = (
    Row(
        name="Add",
        group=GROUP,
        dims=ANY_RANK,
        inputs=(X, Tensor("y", ("S",))),
        reference=ref.add,
        convention=NODE,
        malformed=(input_resized("y", "shape"), input_broadcastable("y", "x")),
    ),
    Row(
        name="Mul",
        group=GROUP,
        dims=ANY_RANK,
        inputs=(X, Tensor("y", ("S",))),
        reference=ref.mul,
        convention=NODE,
        malformed=(input_resized("y", "shape"), input_broadcastable("y", "x")),
    ),
    Row(
        name="Branch",
        group=GROUP,
        dims={**ANY_RANK, "n": Integers(1, 4)},
        inputs=(X,),
        reference=ref.branch,
        convention=Convention(constructor=Constructor(args=(Arg("n"),), strict_names=True)),
        malformed=(EXTRA_DOUT,),
    ),
    Row(
        name="Repeat",
        group=GROUP,
        dims={"S": Shape((1, 2, 3)), "axis": AxisOf("S"), "repeats": Size()},
        inputs=(X,),
        reference=ref.repeat,
        convention=Convention(constructor=Constructor(args=(Arg("repeats"), Arg("axis")), strict_names=True)),
        malformed=(AXIS_OUT_OF_RANGE, dims_changed("repeats", "not_positive", repeats=0)),
    ),
    Row(
        name="Sum",
        group=GROUP,
        dims={"S": Shape((1, 2, 3)), "axis": AxisOf("S")},
        inputs=(X,),
        reference=ref.sum_keepdims,
        convention=Convention(constructor=Constructor(args=(Arg("axis"),), strict_names=True)),
        malformed=(AXIS_OUT_OF_RANGE,),
    ),
    Row(
        name="MatMul",
        group=GROUP,
        dims={"N": Batch(), "D": Size(), "H": Square("D")},
        inputs=(Tensor("x", ("N", "D")),),
        reference=ref.matmul,
        params=(Tensor("W", ("D", "H")),),
        malformed=(input_resized("x"),),
    ),
)
