"""Deliberately broken classes of ``scratchnn.nodes``, ``scratchnn.layers`` and TwoLayerNet:
the bugs the harness exists to catch.

Each variant subclasses the correct scratchnn class and changes one thing, the
way a hand-written layer goes wrong: a missing transpose, a sum over the wrong
axis, a forgotten 1/N, an unstable exponential, a gradient rebound instead of
written in place, an argument mutated. ``caught_by`` names the checks that must
catch it under the ``ci`` profile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnn
from scratchnn.functions import softmax
from tests.harness.broken.variant import Variant

# --- Affine ---------------------------------------------------------------------------


class AffineMissingTranspose(scratchnn.Affine):
    def backward(self, dout: Any) -> Any:
        W, _ = self.params
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = dout.sum(axis=0)
        return dout @ W  # should be W.T


class AffineBiasSumWrongAxis(scratchnn.Affine):
    def backward(self, dout: Any) -> Any:
        W, _ = self.params
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = np.sum(dout, axis=1)  # over the outputs instead of the batch
        return dout @ W.T


class AffineBiasMean(scratchnn.Affine):
    def backward(self, dout: Any) -> Any:
        W, _ = self.params
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = dout.mean(axis=0)  # should be the sum over the batch
        return dout @ W.T


class AffineForgetsBias(scratchnn.Affine):
    def forward(self, x: Any) -> Any:
        super().forward(x)
        return x @ self.params[0]


class AffineRebindsGrads(scratchnn.Affine):
    def backward(self, dout: Any) -> Any:
        W, _ = self.params
        self.grads[0] = self.x.T @ dout  # a new array: an optimizer holding grads[0] never sees it
        self.grads[1] = dout.sum(axis=0)
        return dout @ W.T


class AffineAccumulatesGrads(scratchnn.Affine):
    def backward(self, dout: Any) -> Any:
        W, _ = self.params
        self.grads[0][...] += self.x.T @ dout  # accumulates across backward calls
        self.grads[1][...] += dout.sum(axis=0)
        return dout @ W.T


class AffineFloat64Grads(scratchnn.Affine):
    def __init__(self, W: Any, b: Any) -> None:
        super().__init__(W, b)
        self.grads = [np.zeros(W.shape), np.zeros(b.shape)]  # float64 whatever the params are


class AffineFloat32Buffer(scratchnn.Affine):
    def backward(self, dout: Any) -> Any:
        W, _ = self.params
        self.grads[0][...] = np.asarray(self.x.T @ dout, dtype="f")  # a float32 scratch buffer
        self.grads[1][...] = dout.sum(axis=0)
        return dout @ W.T


class AffineBook(scratchnn.Affine):
    """The book's Affine: right numbers, no input checks."""

    def __init__(self, W: Any, b: Any) -> None:
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x: Any) -> Any:
        W, b = self.params
        self.x = x
        return np.dot(x, W) + b

    def backward(self, dout: Any) -> Any:
        W, _ = self.params
        self.grads[0][...] = np.dot(self.x.T, dout)
        self.grads[1][...] = np.sum(dout, axis=0)
        return np.dot(dout, W.T)


# --- MatMul ------------------------------------------------------------------------------


class MatMulMissingTranspose(scratchnn.MatMul):
    def backward(self, dout: Any) -> Any:
        (W,) = self.params
        self.grads[0][...] = self.x.T @ dout
        return dout @ W


class MatMulKeepsFirstInput(scratchnn.MatMul):
    def forward(self, x: Any) -> Any:
        first = self.x
        out = super().forward(x)
        if first is not None:
            self.x = first  # caches only the first input it ever saw
        return out


# --- activations ---------------------------------------------------------------------


class SigmoidDerivativeOfInput(scratchnn.Sigmoid):
    def forward(self, x: Any) -> Any:
        self.x = x.copy()
        return super().forward(x)

    def backward(self, dout: Any) -> Any:
        return dout * self.x * (1 - self.x)  # y(1-y) evaluated at x


class SigmoidNaiveExp(scratchnn.Sigmoid):
    def forward(self, x: Any) -> Any:
        self.out = 1 / (1 + np.exp(-x))  # exp overflows for x << 0
        return self.out.copy()


class SigmoidIgnoresDout(scratchnn.Sigmoid):
    def backward(self, dout: Any) -> Any:
        return (1 - self.out) * self.out


class SigmoidOverwritesDout(scratchnn.Sigmoid):
    def backward(self, dout: Any) -> Any:
        dout *= (1 - self.out) * self.out  # in place, to save memory: the caller's dout is gone
        return dout


class SigmoidUpcasts(scratchnn.Sigmoid):
    def forward(self, x: Any) -> Any:
        self.out = scratchnn.functions.sigmoid(x.astype(np.float64))  # float32 in, float64 out
        return self.out.copy()


class SigmoidForgetsReturn(scratchnn.Sigmoid):
    def forward(self, x: Any) -> Any:
        self.out = scratchnn.functions.sigmoid(x)  # and no return: the caller gets None


class TanhNaNAtZero(scratchnn.Tanh):
    def forward(self, x: Any) -> Any:
        self.x = x.copy()
        return super().forward(x)

    def backward(self, dout: Any) -> Any:
        with np.errstate(invalid="ignore", divide="ignore"):
            return dout * (1 - self.out**2) * (self.x / self.x)  # 0/0 = NaN wherever x == 0


class AddChecksOnlyInBackward(scratchnn.Add):
    def forward(self, x: Any, y: Any) -> Any:
        self.seen = scratchnn.nodes._Seen(y.shape, x.dtype)  # remembers y's shape ...
        return x + y  # ... but lets NumPy broadcast a mismatched y into a wrong answer


class ReLUOtherSubgradient(scratchnn.ReLU):
    """Correct: at x == 0 any value in [0, 1] is a subgradient; this one takes 1."""

    def forward(self, x: Any) -> Any:
        out = super().forward(x)
        self.mask = x >= 0
        return out


class ReLUInvertedMask(scratchnn.ReLU):
    def backward(self, dout: Any) -> Any:
        return np.where(self.mask, 0, dout).astype(dout.dtype)


class ReLUInPlace(scratchnn.ReLU):
    def forward(self, x: Any) -> Any:
        self.mask, self.dtype = x > 0, x.dtype
        x[~self.mask] = 0  # overwrites the caller's x
        return x.copy()


class TanhMissingSquare(scratchnn.Tanh):
    def backward(self, dout: Any) -> Any:
        return dout * (1 - self.out)


class SoftmaxNoMaxShift(scratchnn.Softmax):
    def forward(self, x: Any) -> Any:
        e = np.exp(x)  # overflows for large logits
        self.out = e / e.sum(axis=-1, keepdims=True)
        return self.out.copy()


class SoftmaxBackward2D(scratchnn.Softmax):
    """The book's Softmax backward: right for (N, C) only."""

    def backward(self, dout: Any) -> Any:
        dx = self.out * dout
        sumdx = np.sum(dx, axis=1, keepdims=True)
        dx -= self.out * sumdx
        return dx


class SoftmaxBackwardMissingSum(scratchnn.Softmax):
    def backward(self, dout: Any) -> Any:
        return self.out * dout


class SoftmaxOverBatchAxis(scratchnn.Softmax):
    def forward(self, x: Any) -> Any:
        e = np.exp(x - x.max(axis=0, keepdims=True))
        self.out = e / e.sum(axis=0, keepdims=True)
        return self.out.copy()


# --- losses --------------------------------------------------------------------------------


class SoftmaxWithLossForgetsN(scratchnn.SoftmaxWithLoss):
    def backward(self, dout: float = 1) -> Any:
        dx = self.y.copy()
        if self.t.ndim == 1:
            dx[np.arange(len(dx)), self.t] -= 1
        else:
            dx -= self.t
        return dx * dout  # no / N


class SoftmaxWithLossIgnoresDout(scratchnn.SoftmaxWithLoss):
    def backward(self, dout: float = 1) -> Any:
        return super().backward(1)


class SoftmaxWithLossLogEpsilon(scratchnn.SoftmaxWithLoss):
    def forward(self, x: Any, t: Any) -> Any:
        super().forward(x, t)
        n = len(x)
        y = softmax(x)
        if self.t.ndim == 1:
            return -np.sum(np.log(y[np.arange(n), self.t] + 1e-7)) / n
        return -np.sum(self.t * np.log(y + 1e-7)) / n


class SoftmaxWithLossOneHotWrongAxis(scratchnn.SoftmaxWithLoss):
    def forward(self, x: Any, t: Any) -> Any:
        if t.shape == x.shape:
            t = t.argmax(axis=0)[: len(x)]  # the class of each row is argmax over axis 1
            t = np.resize(t, len(x))
        return super().forward(x, t)


class SoftmaxWithLossBook(scratchnn.SoftmaxWithLoss):
    """Right numbers, but a label of -1 silently indexes the last class."""

    def forward(self, x: Any, t: Any) -> Any:
        self.y = softmax(x)
        self.t = t.argmax(axis=1) if t.size == self.y.size else t
        n = len(x)
        return -np.sum(np.log(self.y[np.arange(n), self.t])) / n


class SigmoidWithLossForgetsN(scratchnn.SigmoidWithLoss):
    def backward(self, dout: float = 1) -> Any:
        return (self.y - self.t) * dout


class SigmoidWithLossFlippedSign(scratchnn.SigmoidWithLoss):
    def backward(self, dout: float = 1) -> Any:
        return (self.t - self.y) * dout / self.t.size  # the sign of the derivative flipped


class SigmoidWithLossNaiveLog(scratchnn.SigmoidWithLoss):
    def forward(self, x: Any, t: Any) -> Any:
        super().forward(x, t)
        y = 1 / (1 + np.exp(-x))
        return -np.mean(self.t * np.log(y) + (1 - self.t) * np.log(1 - y))


class MeanSquaredErrorDoubleGradient(scratchnn.MeanSquaredError):
    def backward(self, dout: float = 1) -> Any:
        return 2 * self.diff * dout / self.n  # the derivative of (x - t)^2, not of half of it


class MeanSquaredErrorMeanOverElements(scratchnn.MeanSquaredError):
    def forward(self, x: Any, t: Any) -> Any:
        super().forward(x, t)
        return np.sum(self.diff**2) / (2 * self.diff.size)


# --- nodes ------------------------------------------------------------------------------


class AddDropsSecondGradient(scratchnn.Add):
    def backward(self, dout: Any) -> Any:
        return dout.copy(), np.zeros_like(dout)


class MulSwapsGradients(scratchnn.Mul):
    def backward(self, dout: Any) -> Any:
        return dout * self.x, dout * self.y


class BranchKeepsFirstGradient(scratchnn.Branch):
    def backward(self, *douts: Any) -> Any:
        return douts[0].copy()


class RepeatAveragesGradient(scratchnn.Repeat):
    def backward(self, dout: Any) -> Any:
        return super().backward(dout) / self.repeats


class RepeatTiles(scratchnn.Repeat):
    def forward(self, x: Any) -> Any:
        super().forward(x)
        reps = [1] * x.ndim
        reps[self.axis] = self.repeats
        return np.tile(x, reps)  # repeats the whole block, not each element


class SumBackwardWithoutRepeat(scratchnn.Sum):
    def backward(self, dout: Any) -> Any:
        return dout.copy()


# --- Embedding and Dropout ----------------------------------------------------------------


class EmbeddingDropsDuplicates(scratchnn.Embedding):
    def backward(self, dout: Any) -> Any:
        dW = self.grads[0]
        dW[...] = 0
        dW[self.idx] = dout  # a repeated index keeps one of its gradients instead of their sum


class EmbeddingKeepsOldGradient(scratchnn.Embedding):
    def backward(self, dout: Any) -> Any:
        np.add.at(self.grads[0], self.idx, dout)  # dW is never zeroed: backward adds to the last one


class DropoutRedrawsInBackward(scratchnn.Dropout):
    def backward(self, dout: Any) -> Any:
        if self.mask is None:
            return super().backward(dout)
        return dout * (self.rng.random(dout.shape) > self.dropout_ratio)  # a new mask


class DropoutForgetsMaskInBackward(scratchnn.Dropout):
    def backward(self, dout: Any) -> Any:
        if self.mask is None:
            return super().backward(dout)
        return dout.copy()  # every unit passes the gradient, dropped or not


class DropoutInvertedAtTest(scratchnn.Dropout):
    def forward(self, x: Any, train_flg: bool = True) -> Any:
        out = super().forward(x, train_flg)
        return out if train_flg else x.copy()  # the inverted convention's test mode, not the book's


# --- model ---------------------------------------------------------------------------------


class TwoLayerNetSkipsSigmoid(scratchnn.TwoLayerNet):
    def backward(self, dout: float = 1) -> Any:
        grad = self.loss_layer.backward(dout)
        grad = self.layers[2].backward(grad)
        return self.layers[0].backward(grad)  # the Sigmoid's backward is skipped


class TwoLayerNetCopiesParams(scratchnn.TwoLayerNet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = [p.copy() for p in self.params]  # the optimizer would update copies


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "affine-missing-transpose",
        "Affine",
        AffineMissingTranspose,
        ("gradient", "finite_difference", "taylor"),
        "dx = dout @ W instead of dout @ W.T",
        diagnosis="parameter_transposed",
        family=True,
    ),
    Variant(
        "affine-bias-wrong-axis",
        "Affine",
        AffineBiasSumWrongAxis,
        ("gradient",),
        "db summed over the wrong axis",
        diagnosis="upstream_wrong_axis",
        family=True,
    ),
    Variant(
        "affine-bias-mean",
        "Affine",
        AffineBiasMean,
        ("gradient", "taylor"),
        "db averaged instead of summed",
        diagnosis="mean_for_sum",
        family=True,
    ),
    Variant("affine-forgets-bias", "Affine", AffineForgetsBias, ("forward",), "forward drops + b"),
    Variant(
        "affine-rebinds-grads",
        "Affine",
        AffineRebindsGrads,
        ("contract",),
        "grads[0] = dW rebinds the list entry",
    ),
    Variant(
        "affine-accumulates-grads",
        "Affine",
        AffineAccumulatesGrads,
        ("contract",),
        "grads[0][...] += dW adds up across backward calls",
    ),
    Variant(
        "affine-float64-grads",
        "Affine",
        AffineFloat64Grads,
        ("float32",),
        "float64 gradients for float32 params",
    ),
    Variant(
        "affine-float32-buffer",
        "Affine",
        AffineFloat32Buffer,
        ("gradient",),
        "dW goes through a float32 buffer in a float64 computation",
        diagnosis="float32_rounding",
        family=True,
    ),
    Variant(
        "affine-book-unchecked",
        "Affine",
        AffineBook,
        ("bad_input",),
        "no input checks: wrong sizes broadcast",
    ),
    Variant(
        "matmul-missing-transpose",
        "MatMul",
        MatMulMissingTranspose,
        ("gradient", "finite_difference"),
        "dx = dout @ W",
        diagnosis="parameter_transposed",
        family=True,
    ),
    Variant(
        "matmul-keeps-first-input",
        "MatMul",
        MatMulKeepsFirstInput,
        ("contract",),
        "a second forward does not replace the cached input",
    ),
    Variant(
        "sigmoid-derivative-of-input",
        "Sigmoid",
        SigmoidDerivativeOfInput,
        ("gradient", "finite_difference"),
        "x(1 - x) instead of y(1 - y)",
    ),
    Variant("sigmoid-naive-exp", "Sigmoid", SigmoidNaiveExp, ("stability",), "1 / (1 + exp(-x)) overflows"),
    Variant(
        "sigmoid-ignores-dout",
        "Sigmoid",
        SigmoidIgnoresDout,
        ("gradient", "taylor"),
        "backward drops dout",
        diagnosis="ignores_dout",
        family=True,
    ),
    Variant(
        "sigmoid-overwrites-dout", "Sigmoid", SigmoidOverwritesDout, ("contract",), "dout modified in place"
    ),
    Variant("sigmoid-upcasts", "Sigmoid", SigmoidUpcasts, ("float32",), "float32 input gives float64 output"),
    Variant(
        "sigmoid-forgets-return",
        "Sigmoid",
        SigmoidForgetsReturn,
        ("forward",),
        "forward computes the output and returns None (reported once, under forward)",
    ),
    Variant(
        "tanh-nan-at-zero",
        "Tanh",
        TanhNaNAtZero,
        ("gradient", "finite_difference", "taylor"),
        "a 0/0 in backward puts NaN in dx wherever x == 0",
    ),
    Variant(
        "add-checks-only-in-backward",
        "Add",
        AddChecksOnlyInBackward,
        ("bad_input",),
        "forward broadcasts a mismatched y; only backward complains",
    ),
    Variant(
        "relu-inverted-mask", "ReLU", ReLUInvertedMask, ("gradient", "finite_difference"), "mask inverted"
    ),
    Variant("relu-in-place", "ReLU", ReLUInPlace, ("contract",), "forward zeroes the caller's x"),
    Variant(
        "tanh-missing-square", "Tanh", TanhMissingSquare, ("gradient", "taylor"), "1 - y instead of 1 - y^2"
    ),
    Variant(
        "softmax-no-max-shift",
        "Softmax",
        SoftmaxNoMaxShift,
        ("stability",),
        "exp without subtracting the max",
    ),
    Variant(
        "softmax-backward-2d",
        "Softmax",
        SoftmaxBackward2D,
        ("gradient",),
        "backward sums over axis 1",
        breaks=("rank 1 · moderate", "rank 3 · moderate", "rank 4 · moderate"),
        holds=("rank 2 · moderate", "rank 2 · zeros"),
        family=True,
    ),
    Variant(
        "softmax-backward-missing-sum",
        "Softmax",
        SoftmaxBackwardMissingSum,
        ("gradient", "taylor"),
        "y * dout without the - y sum(y dout) term",
    ),
    Variant(
        "softmax-over-batch",
        "Softmax",
        SoftmaxOverBatchAxis,
        ("forward",),
        "normalises along axis 0",
        diagnosis="normalised_over_wrong_axis",
        family=True,
    ),
    Variant(
        "softmaxloss-forgets-n",
        "SoftmaxWithLoss",
        SoftmaxWithLossForgetsN,
        ("gradient", "finite_difference"),
        "dx without / N",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "softmaxloss-ignores-dout",
        "SoftmaxWithLoss",
        SoftmaxWithLossIgnoresDout,
        ("gradient",),
        "backward(dout) ignores dout",
        diagnosis="ignores_dout",
        family=True,
    ),
    Variant(
        "softmaxloss-log-epsilon",
        "SoftmaxWithLoss",
        SoftmaxWithLossLogEpsilon,
        ("forward",),
        "log(y + 1e-7) biases the loss",
    ),
    Variant(
        "softmaxloss-one-hot-wrong-axis",
        "SoftmaxWithLoss",
        SoftmaxWithLossOneHotWrongAxis,
        ("forward", "gradient"),
        "one-hot labels decoded along the batch axis",
        family=True,
    ),
    Variant(
        "softmaxloss-book-unchecked",
        "SoftmaxWithLoss",
        SoftmaxWithLossBook,
        ("bad_input",),
        "label -1 silently picks the last class",
    ),
    Variant(
        "sigmoidloss-forgets-n",
        "SigmoidWithLoss",
        SigmoidWithLossForgetsN,
        ("gradient",),
        "dx without / N",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "sigmoidloss-flipped-sign",
        "SigmoidWithLoss",
        SigmoidWithLossFlippedSign,
        ("gradient", "finite_difference"),
        "dx = (t - y) / N: the sign flipped",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "sigmoidloss-naive-log",
        "SigmoidWithLoss",
        SigmoidWithLossNaiveLog,
        ("stability",),
        "log(y) and log(1 - y) of a sigmoid that saturates",
    ),
    Variant(
        "mse-double-gradient",
        "MeanSquaredError",
        MeanSquaredErrorDoubleGradient,
        ("gradient", "taylor"),
        "gradient of (x - t)^2 for a loss of (x - t)^2 / 2",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "mse-mean-over-elements",
        "MeanSquaredError",
        MeanSquaredErrorMeanOverElements,
        ("forward",),
        "averages over every element instead of the batch",
        diagnosis="scaled",
        family=True,
    ),
    Variant(
        "add-drops-dy",
        "Add",
        AddDropsSecondGradient,
        ("gradient", "finite_difference"),
        "dy = 0",
        diagnosis="zero",
    ),
    Variant(
        "mul-swaps-gradients",
        "Mul",
        MulSwapsGradients,
        ("gradient", "taylor"),
        "dx = dout * x",
        diagnosis="other_gradient",
        family=True,
    ),
    Variant(
        "branch-first-gradient",
        "Branch",
        BranchKeepsFirstGradient,
        ("gradient",),
        "backward keeps one upstream gradient instead of summing them",
        diagnosis="first_upstream_only",
        family=True,
    ),
    Variant(
        "repeat-averages",
        "Repeat",
        RepeatAveragesGradient,
        ("gradient",),
        "backward averages the copies",
        diagnosis="scaled",
        family=True,
    ),
    Variant("repeat-tiles", "Repeat", RepeatTiles, ("forward",), "np.tile instead of np.repeat"),
    Variant(
        "sum-backward-without-repeat",
        "Sum",
        SumBackwardWithoutRepeat,
        ("gradient",),
        "backward returns dout without repeating it",
        diagnosis="not_repeated",
    ),
    Variant(
        "twolayer-skips-sigmoid",
        "TwoLayerNet",
        TwoLayerNetSkipsSigmoid,
        ("gradient", "finite_difference"),
        "backward skips the hidden Sigmoid",
    ),
    Variant(
        "twolayer-copies-params",
        "TwoLayerNet",
        TwoLayerNetCopiesParams,
        ("finite_difference",),
        "params holds copies, not the layers' arrays",
    ),
)


VARIANTS += (
    Variant(
        "embedding-drops-duplicates",
        "Embedding",
        EmbeddingDropsDuplicates,
        ("gradient", "finite_difference"),
        "dW[idx] = dout keeps one gradient of a repeated index",
        diagnosis="except_duplicates",
        family=True,
    ),
    Variant(
        "embedding-keeps-old-gradient",
        "Embedding",
        EmbeddingKeepsOldGradient,
        ("contract",),
        "dW is never zeroed: a second backward adds to the first",
    ),
    Variant(
        "dropout-redraws-in-backward",
        "Dropout",
        DropoutRedrawsInBackward,
        ("gradient", "contract"),
        "backward draws a new mask",
        breaks=("rank 1 · train · moderate",),
        holds=("rank 1 · test · moderate",),
        diagnosis="mask_redrawn",
        family=True,
    ),
    Variant(
        "dropout-forgets-mask-in-backward",
        "Dropout",
        DropoutForgetsMaskInBackward,
        ("gradient",),
        "training backward passes dout through every unit, dropped or not",
        breaks=("rank 1 · train · moderate",),
        holds=("rank 1 · test · moderate",),
        diagnosis="mask_forgotten",
        family=True,
    ),
    Variant(
        "dropout-inverted-at-test",
        "Dropout",
        DropoutInvertedAtTest,
        ("forward",),
        "test mode returns x unscaled (the inverted convention) instead of x (1 - ratio)",
        breaks=("rank 1 · test · moderate",),
        holds=("rank 1 · train · moderate",),
        diagnosis="scaled",
    ),
)


CORRECT_ALTERNATIVES: tuple[Variant, ...] = (
    Variant(
        "relu-other-subgradient", "ReLU", ReLUOtherSubgradient, (), "subgradient 1 instead of 0 at x == 0"
    ),
)
"""Right implementations that differ from scratchnn where the math allows it: no check may fail them."""
