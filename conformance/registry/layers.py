"""Rows of ``scratchnn.layers`` (chapter 1, section 1.3.5, and the book's common/layers.py)
and of ``TwoLayerNet`` (section 1.4)."""

from __future__ import annotations

import numpy as np

from conformance.conventions import LOSS, Arg, Constructor, Convention, Mode, SeededDraws
from conformance.dims import Batch, Choice, Classes, DimsSpec, Shape, Size, Square
from conformance.kinds import BinaryLabels, ClassLabels, Indices, Observed, RegressionTarget
from conformance.malformations import dims_changed, input_resized, param_resized
from conformance.references import layers as ref
from conformance.sampling import KeepRate
from conformance.spec import Row, Tensor

GROUP = "scratchnn.layers"

ANY_RANK: DimsSpec = {"S": Shape((0, 1, 2, 3))}
X = Tensor("x", ("S",))
MATRIX: DimsSpec = {"N": Batch(), "D": Size(), "H": Square("D")}

ROWS: tuple[Row, ...] = (
    Row(name="Sigmoid", group=GROUP, dims=ANY_RANK, inputs=(X,), reference=ref.sigmoid),
    Row(name="ReLU", group=GROUP, dims=ANY_RANK, inputs=(X,), reference=ref.relu, kinks={"x": np.abs}),
    Row(name="Tanh", group=GROUP, dims=ANY_RANK, inputs=(X,), reference=ref.tanh),
    Row(
        name="Affine",
        group=GROUP,
        dims=MATRIX,
        inputs=(Tensor("x", ("N", "D")),),
        reference=ref.affine,
        params=(Tensor("W", ("D", "H")), Tensor("b", ("H",))),
        malformed=(input_resized("x"), param_resized("b")),
    ),
    Row(name="Softmax", group=GROUP, dims={"S": Shape((1, 2, 3, 4))}, inputs=(X,), reference=ref.softmax),
    Row(
        name="SoftmaxWithLoss",
        group=GROUP,
        dims={"N": Batch(), "C": Classes()},
        inputs=(Tensor("x", ("N", "C")), Tensor("t", ("N",), ClassLabels("C"))),
        reference=ref.softmax_with_loss,
        convention=LOSS,
    ),
    Row(
        name="SigmoidWithLoss",
        group=GROUP,
        dims={"S": Shape((1, 2, 3))},
        inputs=(X, Tensor("t", ("S",), BinaryLabels())),
        reference=ref.sigmoid_with_loss,
        convention=LOSS,
    ),
    Row(
        name="MeanSquaredError",
        group=GROUP,
        dims={"S": Shape((2, 3))},
        inputs=(X, Tensor("t", ("S",), RegressionTarget())),
        reference=ref.mean_squared_error,
        convention=LOSS,
        malformed=(input_resized("t", "shape"),),
    ),
    # the book's common/layers.py: Embedding (section 4.1) and Dropout (section 6.4)
    Row(
        name="Embedding",
        group=GROUP,
        dims={"N": Batch(), "V": Size("vocab"), "D": Size()},
        inputs=(Tensor("idx", ("N",), Indices("V")),),
        reference=ref.embedding,
        params=(Tensor("W", ("V", "D")),),
        not_applicable={
            "bad_input:idx:extra_axis": "indices of any shape are valid: W[idx] looks them all up, as in"
            " the book"
        },
    ),
    Row(
        name="Dropout",
        group=GROUP,
        dims={"S": Shape((1, 2, 3)), "ratio": Choice((0.5, 0.1, 0.8))},
        inputs=(X, Tensor("mask", ("S",), Observed(), route="hidden")),
        reference=ref.dropout,
        convention=Convention(
            constructor=Constructor(args=(Arg("dropout_ratio", "ratio"),)),
            mode=Mode(keyword="train_flg"),
            randomness=(SeededDraws(attribute="mask", observed="mask"),),
        ),
        sampling=KeepRate(ratio="ratio", input="x"),
    ),
    # section 1.4: the whole model, loss and every parameter gradient
    Row(
        name="TwoLayerNet",
        group="scratchnn.models",
        dims={"N": Batch(), "I": Size(), "H": Square("I"), "O": Classes()},
        inputs=(Tensor("x", ("N", "I")), Tensor("t", ("N",), ClassLabels("O"))),
        reference=ref.two_layer_net,
        params=(
            Tensor("W1", ("I", "H")),
            Tensor("b1", ("H",)),
            Tensor("W2", ("H", "O")),
            Tensor("b2", ("O",)),
        ),
        convention=Convention(
            model=True,
            constructor=Constructor(
                args=(Arg("input_size", "I"), Arg("hidden_size", "H"), Arg("output_size", "O")),
                draws_own_weights=True,
            ),
        ),
        malformed=(input_resized("x"), dims_changed("hidden_size", "not_positive", H=0)),
    ),
)
