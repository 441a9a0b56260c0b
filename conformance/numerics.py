"""Tolerances, the one comparison helper, finite differences and the Taylor-remainder test.

Every tolerance the harness applies is defined here, derived from the unit
roundoff of the dtype and the finite-difference step, and recorded with each
measurement.

Error measure. Errors are relative to the scale of the reference tensor:

    rel_err_i = |actual_i - expected_i| / s,    s = max(1, max_j |expected_j|)

The examples are drawn with values of order one or larger (inputs, weights and
upstream gradients), so a difference far below one rounding unit at that scale
is not a disagreement; measuring against the tensor's largest element keeps
near-zero entries (softmax tails, cancelling sums) from producing huge relative
errors out of rounding noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def unit_roundoff(dtype: Any) -> float:
    """Machine epsilon of ``dtype`` (2^-52 for float64, 2^-23 for float32)."""
    return float(np.finfo(np.dtype(dtype)).eps)


# --- tolerances --------------------------------------------------------------

REFERENCE_SAFETY = 32
"""Factor in :func:`reference_tolerance`.

The implementation and the reference evaluate the same formula in the same
precision, so they differ by rounding only. A sum of K terms is accurate to
gamma_K ~ K u relative to the sum of the magnitudes of its terms (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., eq. 3.5). Each side
contributes (x2), a layer chains up to four rounding stages (product, sum,
elementwise function, final reduction: x4), and the sum of magnitudes exceeds
the tensor scale s by up to about the same factor for the drawn values (x4).
"""


def reference_tolerance(dtype: Any, reduction_length: int) -> float:
    """Tolerance on rel_err between two evaluations of the same formula in ``dtype``.

    ``reduction_length`` is K, the longest sum involved: the largest tensor of
    the example (no reduction in these layers runs over more elements than one
    tensor holds).
    """
    return REFERENCE_SAFETY * max(reduction_length, 1) * unit_roundoff(dtype)


FD_STEP: float = float(np.finfo(np.float64).eps) ** (1 / 3)
"""Central-difference step h = u^(1/3) ~ 6.1e-6.

The central difference has truncation error h^2/6 |f'''| and rounding error
~u |f| / h; h ~ (3 u |f| / |f'''|)^(1/3) balances them (Nocedal and Wright,
*Numerical Optimization*, 2nd ed., §8.1), i.e. u^(1/3) for O(1) functions.
"""

FD_CURVATURE_BOUND = 10.0
"""Assumed bound on |d^3 L / dx^3| relative to the gradient scale s.

The chapter's functions have bounded third derivatives at unit scale
(|sigmoid'''| <= 1/8, |tanh'''| <= 2, softmax and log-sum-exp derivatives <= 1)
and products are at most cubic in the drawn O(1) values.
"""

FD_ELEMENTWISE_LIMIT = 64
"""Tensors with at most this many elements get an element-wise finite-difference gradient;
larger ones are checked along ``FD_DIRECTIONS`` random directions."""

FD_DIRECTIONS = 6


def finite_difference_tolerance(reduction_length: int, loss_magnitude: float, gradient_scale: float) -> float:
    """Tolerance on rel_err between a gradient and its central-difference estimate.

    truncation: h^2 / 6 * FD_CURVATURE_BOUND * s;
    rounding: each evaluation of L = sum(dout * out) is off by up to K u sum|dout * out|
    (``loss_magnitude``), and the difference is divided by 2h: K u |L| / h.
    Both are divided by s to become a relative error, and doubled as a margin.
    """
    u = unit_roundoff(np.float64)
    truncation = FD_STEP**2 / 6 * FD_CURVATURE_BOUND
    rounding = max(reduction_length, 1) * u * loss_magnitude / FD_STEP / gradient_scale
    return 2 * (truncation + rounding)


TAYLOR_SLOPE_THRESHOLD = 1.5
"""The remainder |L(x + h v) - L(x) - h <g, v>| shrinks like h^2 for the right gradient
and like h for a wrong one; the verdict splits the two at the midpoint of the slopes."""

TAYLOR_STEPS = tuple(0.1 * 2.0**-k for k in range(17))
"""Step sizes from 0.1 down to 1.5e-6, halving."""

TAYLOR_NOISE_MARGIN = 100.0
"""A remainder counts as measured only above 100x the rounding noise of L."""

TAYLOR_DIRECTIONS = 3
"""Random directions per gradient. The check fails only if every one shows a slope at or
below the threshold: a wrong gradient g' = g + e leaves <e, v> != 0 along almost every v,
while a second-order term that happens to cancel along one v (so that the h^3 term hides
the h^2 regime) is a property of that v alone."""


def taylor_noise(reduction_length: int, loss_magnitude: float) -> float:
    """Rounding noise of one evaluation of L = sum(dout * out): sqrt(K) u sum|dout * out|.

    sqrt(K), not the worst-case K: rounding errors of a K-term sum behave like a
    random walk in practice (Higham, *Accuracy and Stability*, §2.8). The worst
    case hid the clean h^2 tail of correct layers below a threshold 10x too high.
    """
    return math.sqrt(max(reduction_length, 1)) * unit_roundoff(np.float64) * loss_magnitude


TAYLOR_FIT_POINTS = 4
"""The slope is read on the smallest steps that are still measured (the asymptotic end):
the median of the local slopes between consecutive ones. A median, not a least-squares
fit: where the second- and third-order terms have opposite signs the remainder dips to
zero at one step, and a fit across that dip gave a correct Sigmoid a slope of 1.31
(1 example in 20,000); the median ignores the dip."""


# --- comparison --------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing an array with its expected value."""

    passed: bool
    max_abs_err: float
    max_rel_err: float
    median_rel_err: float
    tolerance: float
    worst_index: tuple[int, ...] | None
    actual_at_worst: float | None
    expected_at_worst: float | None
    compared: int
    problem: str = ""  # why it failed before any number could be compared (shape, NaN)


def scale_of(expected: Array) -> float:
    """s = max(1, max |expected|): the scale errors are measured against."""
    if expected.size == 0:
        return 1.0
    return max(1.0, float(np.max(np.abs(expected))))


def compare(actual: Any, expected: Array, tolerance: float, exclude: Array | None = None) -> Comparison:
    """Compare ``actual`` with ``expected`` element-wise; ``exclude`` masks elements not judged."""
    expected = np.asarray(expected, dtype=np.float64)
    if not isinstance(actual, np.ndarray) and not np.isscalar(actual):
        return _broken(tolerance, f"expected an array, got {type(actual).__name__}")
    actual_arr = np.asarray(actual)
    if actual_arr.shape != expected.shape:
        return _broken(tolerance, f"shape {actual_arr.shape}, expected {expected.shape}")
    if not np.issubdtype(actual_arr.dtype, np.number) or np.issubdtype(actual_arr.dtype, np.complexfloating):
        return _broken(tolerance, f"dtype {actual_arr.dtype} is not real")
    actual64 = actual_arr.astype(np.float64)
    judged = np.ones(expected.shape, dtype=bool) if exclude is None else ~exclude
    if not np.all(np.isfinite(actual64[judged])):
        bad = np.argwhere(~np.isfinite(actual64) & judged)[0]
        index = tuple(int(i) for i in bad)
        return Comparison(
            False,
            math.inf,
            math.inf,
            math.inf,
            tolerance,
            index,
            float(actual64[index]),
            float(expected[index]),
            int(judged.sum()),
            "non-finite values",
        )
    scale = scale_of(expected)
    abs_err = np.where(judged, np.abs(actual64 - expected), 0.0)
    rel_err = abs_err / scale
    if not judged.any():
        return Comparison(True, 0.0, 0.0, 0.0, tolerance, None, None, None, 0)
    flat = int(np.argmax(rel_err))
    index = tuple(int(i) for i in np.unravel_index(flat, expected.shape))
    worst = float(rel_err.reshape(-1)[flat])
    return Comparison(
        passed=worst <= tolerance,
        max_abs_err=float(abs_err.max()),
        max_rel_err=worst,
        median_rel_err=float(np.median(rel_err[judged])),
        tolerance=tolerance,
        worst_index=index,
        actual_at_worst=float(actual64[index]),
        expected_at_worst=float(expected[index]),
        compared=int(judged.sum()),
    )


def _broken(tolerance: float, problem: str) -> Comparison:
    return Comparison(False, math.inf, math.inf, math.inf, tolerance, None, None, None, 0, problem)


# --- finite differences --------------------------------------------------------

Loss = Callable[[], float]
"""Evaluates the scalar L at the current contents of the arrays it reads."""


def central_difference_gradient(loss: Loss, array: Array, skip: Array | None = None) -> Array:
    """dL/d(array) element by element, perturbing ``array`` in place (and restoring it).

    Uses the step actually represented, (x + h) - (x - h), so that rounding of
    x + h for large |x| does not bias the quotient. Elements in ``skip`` are NaN.
    """
    gradient = np.full(array.shape, np.nan)
    for index in np.ndindex(array.shape):
        if skip is not None and skip[index]:
            continue
        original = array[index]
        plus, minus = original + FD_STEP, original - FD_STEP
        array[index] = plus
        loss_plus = loss()
        array[index] = minus
        loss_minus = loss()
        array[index] = original
        gradient[index] = (loss_plus - loss_minus) / (plus - minus)
    return gradient


def directional_differences(loss: Loss, array: Array, directions: list[Array]) -> Array:
    """(L(x + h v) - L(x - h v)) / 2h for each direction v: estimates of <dL/dx, v>."""
    original = array.copy()
    estimates = []
    for direction in directions:
        array[...] = original + FD_STEP * direction
        loss_plus = loss()
        array[...] = original - FD_STEP * direction
        loss_minus = loss()
        estimates.append((loss_plus - loss_minus) / (2 * FD_STEP))
    array[...] = original
    return np.array(estimates)


# --- Taylor remainder ----------------------------------------------------------


@dataclass(frozen=True)
class TaylorResult:
    """Remainders r(h) = |L(x + h v) - L(x) - h <g, v>| and the fitted log-log slope.

    ``slope`` is None when fewer than three remainders rise above the rounding
    noise: L is then linear along v to working precision, and the first-order
    term, hence <g, v>, is exact to rounding.
    """

    steps: tuple[float, ...]
    remainders: tuple[float, ...]
    noise: float
    slope: float | None
    finite: bool = True  # False when L, <g, v> or a remainder is NaN or infinite

    @property
    def passed(self) -> bool:
        return self.finite and (self.slope is None or self.slope > TAYLOR_SLOPE_THRESHOLD)


def taylor_remainders(
    loss: Loss, array: Array, gradient: Array, direction: Array, max_step: float, noise: float
) -> TaylorResult:
    """Walk x + h v for the steps in TAYLOR_STEPS not above ``max_step``; restore ``array``."""
    original = array.copy()
    loss_at_x = loss()
    slope_along = float(np.sum(gradient * direction))
    steps = tuple(h for h in TAYLOR_STEPS if h <= max_step)
    remainders = []
    for h in steps:
        array[...] = original + h * direction
        remainders.append(abs(loss() - loss_at_x - h * slope_along))
    array[...] = original
    if not (math.isfinite(loss_at_x) and math.isfinite(slope_along) and all(map(math.isfinite, remainders))):
        # NaN compares false with everything: without this, a NaN gradient would look "linear".
        return TaylorResult(steps, tuple(remainders), noise, None, finite=False)
    measured = [(h, r) for h, r in zip(steps, remainders, strict=True) if r > TAYLOR_NOISE_MARGIN * noise]
    slope = None
    if len(measured) >= 3:
        tail = np.log(measured[-TAYLOR_FIT_POINTS:])
        local = np.diff(tail[:, 1]) / np.diff(tail[:, 0])
        slope = float(np.median(local))
    return TaylorResult(steps, tuple(remainders), noise, slope)
