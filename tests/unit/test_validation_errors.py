"""Bad input gets a ValueError or TypeError whose message names the layer, the method and the argument."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from scratchnn.functions import (
    cross_entropy_error,
    log_softmax,
    mean_squared_error,
    sigmoid,
    softmax,
    softmax_cross_entropy,
)
from scratchnn.layers import (
    Affine,
    MeanSquaredError,
    ReLU,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
)
from scratchnn.models import TwoLayerNet
from scratchnn.nodes import Add, Branch, MatMul, Mul, Repeat, Sum
from scratchnn.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

F64 = np.float64
F32 = np.float32


def x23(dtype: Any = F64) -> np.ndarray:
    return np.arange(6, dtype=dtype).reshape(2, 3) / 10


def affine(dtype: Any = F64) -> Affine:
    return Affine(np.ones((3, 2), dtype=dtype), np.zeros(2, dtype=dtype))


def after_forward(layer: Any, *inputs: Any) -> Any:
    layer.forward(*inputs)
    return layer


def loss_after_forward() -> SoftmaxWithLoss:
    return after_forward(SoftmaxWithLoss(), x23(), np.array([0, 2]))


def prefix(owner: str, argument: str) -> str:
    """The start of every message: ``"<owner>: <argument> "``."""
    return re.escape(f"{owner}: {argument} ")


CASES: list[Any] = [
    # --- Affine / MatMul: rank, feature size, dtypes, constructor ---
    (lambda: affine().forward(np.ones(3)), ValueError, prefix("Affine.forward", "x") + r"must be a 2-D"),
    (lambda: affine().forward(np.ones((2, 4))), ValueError, prefix("Affine.forward", "x") + r".*\(N, 3\)"),
    (lambda: affine().forward(np.ones((2, 3), dtype=int)), TypeError, prefix("Affine.forward", "x")),
    (lambda: affine().forward(x23(F32)), TypeError, prefix("Affine.forward", "x") + "must have the dtype"),
    (lambda: affine(F32).forward(x23(F64)), TypeError, prefix("Affine.forward", "x") + ".*float32"),
    (lambda: affine().forward([[1.0, 2.0, 3.0]]), TypeError, prefix("Affine.forward", "x") + ".*ndarray"),
    (lambda: Affine(np.ones((3, 2)), np.zeros(3)), ValueError, prefix("Affine.__init__", "b") + r".*\(2,\)"),
    (lambda: Affine(np.ones((3, 2)), np.zeros((1, 2))), ValueError, prefix("Affine.__init__", "b")),
    (lambda: Affine(np.ones((3, 2)), np.zeros(2, dtype=F32)), TypeError, prefix("Affine.__init__", "b")),
    (lambda: Affine(np.ones(3), np.zeros(3)), ValueError, prefix("Affine.__init__", "W") + "must be a 2-D"),
    (lambda: Affine(np.ones((3, 2), dtype=int), np.zeros(2)), TypeError, prefix("Affine.__init__", "W")),
    (
        lambda: after_forward(affine(), x23()).backward(np.ones((2, 3))),
        ValueError,
        prefix("Affine.backward", "dout") + r"must be of shape \(2, 2\)",
    ),
    (
        lambda: after_forward(affine(), x23()).backward(np.ones((2, 2), dtype=F32)),
        TypeError,
        prefix("Affine.backward", "dout") + "must have the dtype",
    ),
    (lambda: MatMul(np.ones((3, 2))).forward(np.ones((2, 2))), ValueError, prefix("MatMul.forward", "x")),
    (lambda: MatMul(np.ones((3, 2))).forward(np.ones(3)), ValueError, prefix("MatMul.forward", "x")),
    (lambda: MatMul(np.ones((3, 2))).forward(x23(F32)), TypeError, prefix("MatMul.forward", "x")),
    (lambda: MatMul(np.ones((2, 3, 2))), ValueError, prefix("MatMul.__init__", "W")),
    (lambda: MatMul(np.ones((3, 2), dtype=np.int32)), TypeError, prefix("MatMul.__init__", "W")),
    (
        lambda: after_forward(MatMul(np.ones((3, 2))), x23()).backward(np.ones((2, 1))),
        ValueError,
        prefix("MatMul.backward", "dout"),
    ),
    # --- Add / Mul: no broadcasting, no dtype mixing ---
    (lambda: Add().forward(x23(), np.ones(3)), ValueError, prefix("Add.forward", "y") + r"must be of shape"),
    (lambda: Add().forward(x23(), np.ones((1, 3))), ValueError, prefix("Add.forward", "y")),
    (lambda: Add().forward(x23(), np.float64(1.0)), TypeError, prefix("Add.forward", "y")),
    (lambda: Add().forward(x23(), x23(F32)), TypeError, prefix("Add.forward", "y") + "must have the dtype"),
    (lambda: Add().forward(np.ones((2, 3), dtype=int), x23()), TypeError, prefix("Add.forward", "x")),
    (lambda: Mul().forward(x23(), np.ones((2, 1))), ValueError, prefix("Mul.forward", "y")),
    (lambda: Mul().forward(x23(F32), x23()), TypeError, prefix("Mul.forward", "y")),
    (
        lambda: after_forward(Add(), x23(), x23()).backward(np.ones(3)),
        ValueError,
        prefix("Add.backward", "dout"),
    ),
    (
        lambda: after_forward(Mul(), x23(), x23()).backward(np.ones((2, 3), dtype=F32)),
        TypeError,
        prefix("Mul.backward", "dout"),
    ),
    # --- Branch / Repeat / Sum: constructor arguments and axes ---
    (lambda: Branch(0), ValueError, prefix("Branch.__init__", "n") + "must be a positive integer"),
    (lambda: Branch(2.0), ValueError, prefix("Branch.__init__", "n")),
    (lambda: Branch(True), ValueError, prefix("Branch.__init__", "n")),
    (
        lambda: after_forward(Branch(3), x23()).backward(x23(), x23()),
        ValueError,
        prefix("Branch.backward", "douts") + "must be 3 upstream gradients",
    ),
    (
        lambda: after_forward(Branch(2), x23()).backward(x23(), np.ones(3)),
        ValueError,
        prefix("Branch.backward", "dout"),
    ),
    (lambda: Branch().forward(np.ones(3, dtype=int)), TypeError, prefix("Branch.forward", "x")),
    (lambda: Repeat(0), ValueError, prefix("Repeat.__init__", "repeats") + "must be a positive integer"),
    (lambda: Repeat(-2), ValueError, prefix("Repeat.__init__", "repeats")),
    (lambda: Repeat(2, axis=0.0), TypeError, prefix("Repeat.__init__", "axis")),
    (lambda: Repeat(2, axis=2).forward(x23()), ValueError, prefix("Repeat.forward", "axis") + r".*\[-2, 2\)"),
    (lambda: Repeat(2, axis=-3).forward(x23()), ValueError, prefix("Repeat.forward", "axis")),
    (lambda: Repeat(2).forward(np.float64(1.0)), TypeError, prefix("Repeat.forward", "x")),
    (
        lambda: Repeat(2).forward(np.array(1.0)),
        ValueError,
        prefix("Repeat.forward", "x") + "must be an array",
    ),
    (
        lambda: after_forward(Repeat(2), x23()).backward(x23()),
        ValueError,
        prefix("Repeat.backward", "dout") + r"must be of shape \(4, 3\)",
    ),
    (lambda: Sum(axis="1"), TypeError, prefix("Sum.__init__", "axis")),
    (lambda: Sum(axis=2).forward(x23()), ValueError, prefix("Sum.forward", "axis")),
    (
        lambda: after_forward(Sum(axis=1), x23()).backward(np.ones((1, 3))),
        ValueError,
        prefix("Sum.backward", "dout") + r"must be of shape \(2, 1\)",
    ),
    # --- activations ---
    (lambda: Sigmoid().forward(np.ones(3, dtype=int)), TypeError, prefix("Sigmoid.forward", "x")),
    (lambda: Tanh().forward(np.ones(3, dtype=np.float16)), TypeError, prefix("Tanh.forward", "x")),
    (lambda: ReLU().forward([1.0, -1.0]), TypeError, prefix("ReLU.forward", "x")),
    (lambda: Softmax().forward(np.array(1.0)), ValueError, prefix("Softmax.forward", "x")),
    (
        lambda: after_forward(Sigmoid(), x23()).backward(np.ones((3, 2))),
        ValueError,
        prefix("Sigmoid.backward", "dout"),
    ),
    (
        lambda: after_forward(Tanh(), x23()).backward(x23(F32)),
        TypeError,
        prefix("Tanh.backward", "dout"),
    ),
    (
        lambda: after_forward(ReLU(), x23()).backward(np.ones(3)),
        ValueError,
        prefix("ReLU.backward", "dout"),
    ),
    (
        lambda: after_forward(Softmax(), x23()).backward(np.ones((2, 3), dtype=int)),
        TypeError,
        prefix("Softmax.backward", "dout"),
    ),
    # --- SoftmaxWithLoss: scores and labels ---
    (
        lambda: SoftmaxWithLoss().forward(np.ones(3), np.array([0])),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "x") + "must be a 2-D",
    ),
    (
        lambda: SoftmaxWithLoss().forward(np.ones((2, 3), dtype=int), np.array([0, 1])),
        TypeError,
        prefix("SoftmaxWithLoss.forward", "x"),
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array([0, -1])),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "t") + r"must be class indices in \[0, 3\); got values from -1",
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array([0, 3])),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "t") + r"must be class indices in \[0, 3\)",
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array([0.0, 1.0])),
        TypeError,
        prefix("SoftmaxWithLoss.forward", "t") + "must be integer class indices",
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "t") + "must be one-hot rows that sum to 1; got row 1",
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array([[2.0, -1.0, 0.0], [0.0, 1.0, 0.0]])),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "t") + r"must be one-hot labels with values in \[0, 1\]",
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array([0, 1, 2])),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "t") + r"must be class indices of shape \(2,\)",
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array([[0], [1]])),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "t"),
    ),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.ones((2, 2)) / 2),
        ValueError,
        prefix("SoftmaxWithLoss.forward", "t"),
    ),
    (lambda: SoftmaxWithLoss().forward(x23(), [0, 1]), TypeError, prefix("SoftmaxWithLoss.forward", "t")),
    (
        lambda: SoftmaxWithLoss().forward(x23(), np.array(["a", "b"])),
        TypeError,
        prefix("SoftmaxWithLoss.forward", "t"),
    ),
    (
        lambda: loss_after_forward().backward(np.ones(2)),
        ValueError,
        prefix("SoftmaxWithLoss.backward", "dout") + "must be a scalar",
    ),
    (
        lambda: loss_after_forward().backward("1"),
        TypeError,
        prefix("SoftmaxWithLoss.backward", "dout") + "must be a real scalar",
    ),
    (lambda: loss_after_forward().backward(True), TypeError, prefix("SoftmaxWithLoss.backward", "dout")),
    (
        lambda: loss_after_forward().backward(float("nan")),
        ValueError,
        prefix("SoftmaxWithLoss.backward", "dout") + "must be finite",
    ),
    # --- SigmoidWithLoss / MeanSquaredError ---
    (
        lambda: SigmoidWithLoss().forward(np.zeros(3), np.array([0, 1])),
        ValueError,
        prefix("SigmoidWithLoss.forward", "t") + r"must be of shape \(3,\)",
    ),
    (
        lambda: SigmoidWithLoss().forward(np.zeros(2), np.array([0, 2])),
        ValueError,
        prefix("SigmoidWithLoss.forward", "t") + r"must be labels in \[0, 1\]",
    ),
    (
        lambda: SigmoidWithLoss().forward(np.zeros(2), np.array([-1, 0])),
        ValueError,
        prefix("SigmoidWithLoss.forward", "t"),
    ),
    (
        lambda: SigmoidWithLoss().forward(np.zeros(2, dtype=int), np.array([0, 1])),
        TypeError,
        prefix("SigmoidWithLoss.forward", "x"),
    ),
    (
        lambda: SigmoidWithLoss().forward(np.array(0.0), np.array(1)),
        ValueError,
        prefix("SigmoidWithLoss.forward", "x"),
    ),
    (
        lambda: MeanSquaredError().forward(np.ones(3), np.ones(3)),
        ValueError,
        prefix("MeanSquaredError.forward", "x") + "must be a batch",
    ),
    (
        lambda: MeanSquaredError().forward(x23(), np.ones(3)),
        ValueError,
        prefix("MeanSquaredError.forward", "t") + r"must be of shape \(2, 3\)",
    ),
    (
        lambda: MeanSquaredError().forward(x23(), x23(F32)),
        TypeError,
        prefix("MeanSquaredError.forward", "t") + "must have the dtype",
    ),
    (
        lambda: MeanSquaredError().forward(x23(), np.ones((2, 3), dtype=int)),
        TypeError,
        prefix("MeanSquaredError.forward", "t"),
    ),
    # --- functions ---
    (lambda: sigmoid(np.ones(2, dtype=int)), TypeError, prefix("sigmoid", "x")),
    (lambda: softmax(np.array(1.0)), ValueError, prefix("softmax", "x")),
    (lambda: log_softmax([1.0, 2.0]), TypeError, prefix("log_softmax", "x")),
    (lambda: cross_entropy_error(x23(), np.array([0, 3])), ValueError, prefix("cross_entropy_error", "t")),
    (lambda: cross_entropy_error(x23(), np.array([0.0, 1.0])), TypeError, prefix("cross_entropy_error", "t")),
    (
        lambda: cross_entropy_error(np.ones((1, 2, 3)), np.array([0])),
        ValueError,
        prefix("cross_entropy_error", "y"),
    ),
    (lambda: cross_entropy_error(np.ones(3) / 3, 3), ValueError, prefix("cross_entropy_error", "t")),
    (
        lambda: softmax_cross_entropy(x23(), np.array([5, 0])),
        ValueError,
        prefix("softmax_cross_entropy", "t"),
    ),
    (lambda: mean_squared_error(x23(), np.ones((3, 2))), ValueError, prefix("mean_squared_error", "t")),
    (lambda: mean_squared_error(x23(), x23(F32)), TypeError, prefix("mean_squared_error", "t")),
    # --- TwoLayerNet ---
    (lambda: TwoLayerNet(0, 3, 2), ValueError, prefix("TwoLayerNet.__init__", "input_size")),
    (lambda: TwoLayerNet(2, 3, 2, dtype=np.int32), TypeError, prefix("TwoLayerNet.__init__", "dtype")),
]


def case_id(case: Any) -> str:
    _, exception, pattern = case
    return f"{exception.__name__}-{pattern.replace(chr(92), '')[:60]}"


@pytest.mark.parametrize(("call", "exception", "pattern"), CASES, ids=[case_id(c) for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(
    call: Callable[[], Any], exception: type[Exception], pattern: str
) -> None:
    with pytest.raises(exception, match=pattern):
        call()


def test_loss_backward_refuses_a_dout_that_overflows_the_loss_dtype_without_a_warning():
    """1e300 is finite in float64 but not in the loss' float32: a ValueError, not a RuntimeWarning."""
    layer = after_forward(SoftmaxWithLoss(), x23(F32), np.array([0, 2]))
    with pytest.raises(ValueError, match=prefix("SoftmaxWithLoss.backward", "dout") + "must be finite"):
        layer.backward(1e300)


def test_softmax_cross_entropy_names_its_own_argument_x_in_errors():
    """softmax_cross_entropy(x, t) must not report a wrong rank of x as a problem with "y"."""
    with pytest.raises(ValueError, match=prefix("softmax_cross_entropy", "x") + "must be a 2-D"):
        softmax_cross_entropy(np.ones((1, 2, 3)), np.array([0]))


def test_messages_say_what_was_expected_and_what_came():
    with pytest.raises(
        ValueError, match=r"Affine\.forward: x must be of shape \(N, 3\) .*; got shape \(2, 4\)"
    ):
        affine().forward(np.ones((2, 4)))
    with pytest.raises(TypeError, match=r"Add\.forward: y must have the dtype of x \(float64\); got float32"):
        Add().forward(x23(), x23(F32))


# --- optimizers: hyperparameters and lists ---

OPTIMIZER_BAD_HYPERPARAMETERS = [
    (SGD, {"lr": 0.0}, "lr"),
    (SGD, {"lr": -0.1}, "lr"),
    (SGD, {"lr": float("inf")}, "lr"),
    (SGD, {"lr": float("nan")}, "lr"),
    (SGD, {"lr": "0.1"}, "lr"),
    (Momentum, {"momentum": 1.0}, "momentum"),
    (Momentum, {"momentum": -0.1}, "momentum"),
    (Nesterov, {"momentum": 1.5}, "momentum"),
    (Nesterov, {"lr": 0}, "lr"),
    (AdaGrad, {"eps": 0.0}, "eps"),
    (AdaGrad, {"lr": -1.0}, "lr"),
    (RMSprop, {"decay_rate": 1.0}, "decay_rate"),
    (RMSprop, {"eps": -1e-7}, "eps"),
    (Adam, {"beta1": 1.0}, "beta1"),
    (Adam, {"beta2": -0.5}, "beta2"),
    (Adam, {"beta2": float("nan")}, "beta2"),
    (Adam, {"eps": 0.0}, "eps"),
]


@pytest.mark.parametrize(
    ("optimizer", "kwargs", "name"),
    OPTIMIZER_BAD_HYPERPARAMETERS,
    ids=[f"{o.__name__}-{k}" for o, k, _ in OPTIMIZER_BAD_HYPERPARAMETERS],
)
def test_optimizer_hyperparameters_out_of_range(optimizer, kwargs, name):
    with pytest.raises(ValueError, match=prefix(f"{optimizer.__name__}.__init__", name)):
        optimizer(**kwargs)


@pytest.mark.parametrize(
    ("optimizer", "kwargs"),
    [
        (SGD, {"lr": np.float32(0.1)}),
        (Momentum, {"lr": np.float64(0.1), "momentum": np.float32(0.5)}),
        (Adam, {"lr": 1, "beta1": 0, "beta2": np.float64(0.9)}),
    ],
    ids=["np.float32-lr", "np.float32-momentum", "int-and-np.float64"],
)
def test_optimizer_hyperparameters_accept_numpy_and_int_scalars(optimizer, kwargs):
    opt = optimizer(**kwargs)
    p = np.ones(2)
    opt.update([p], [np.ones(2)])
    assert np.all(p < 1)


@pytest.mark.parametrize("optimizer", [SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam])
def test_optimizer_update_refuses_mismatched_lists(optimizer):
    opt = optimizer()
    name = optimizer.__name__
    with pytest.raises(ValueError, match=prefix(f"{name}.update", "grads") + r"must be a list parallel"):
        opt.update([np.ones(2), np.ones(3)], [np.ones(2)])
    with pytest.raises(ValueError, match=prefix(f"{name}.update", "grads[1]")):
        opt.update([np.ones(2), np.ones(3)], [np.ones(2), np.ones(2)])
    with pytest.raises(TypeError, match=prefix(f"{name}.update", "params[0]")):
        opt.update([np.ones(2, dtype=int)], [np.ones(2)])


EMPTY_OR_NOT_FINITE = [
    pytest.param(
        lambda: SoftmaxWithLoss().forward(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)),
        r"SoftmaxWithLoss\.forward: x must be a non-empty array",
        id="softmax-loss-empty-batch",
    ),
    pytest.param(
        lambda: MeanSquaredError().forward(np.zeros((0, 3)), np.zeros((0, 3))),
        r"MeanSquaredError\.forward: x must be a non-empty array",
        id="mse-empty-batch",
    ),
    pytest.param(
        lambda: SigmoidWithLoss().forward(np.zeros(0), np.zeros(0)),
        r"SigmoidWithLoss\.forward: x must be a non-empty array",
        id="sigmoid-loss-empty",
    ),
    pytest.param(
        lambda: Softmax().forward(np.zeros((2, 0))),
        r"Softmax\.forward: x must be an array with at least one class",
        id="softmax-no-classes",
    ),
    pytest.param(
        lambda: SoftmaxWithLoss().forward(np.zeros((2, 2)), np.full((2, 2), np.nan)),
        r"SoftmaxWithLoss\.forward: t must be one-hot labels with values in \[0, 1\]",
        id="nan-one-hot",
    ),
    pytest.param(
        lambda: SigmoidWithLoss().forward(np.zeros(2), np.array([0.0, np.nan])),
        r"SigmoidWithLoss\.forward: t must be labels in \[0, 1\]",
        id="nan-binary-label",
    ),
]


@pytest.mark.parametrize(("call", "message"), EMPTY_OR_NOT_FINITE)
def test_empty_batches_and_nan_labels_are_refused_before_a_nan_loss(call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()
