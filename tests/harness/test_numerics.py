"""The numerical core: the comparison helper, finite differences, the Taylor verdict, tolerances."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conformance import numerics
from conformance.numerics import (
    FD_STEP,
    central_difference_gradient,
    compare,
    directional_differences,
    finite_difference_tolerance,
    reference_tolerance,
    taylor_remainders,
)


def test_compare_measures_error_against_the_tensor_scale() -> None:
    expected = np.array([[100.0, 1e-3], [-50.0, 0.0]])
    actual = expected + np.array([[0.0, 2e-3], [0.0, 0.0]])
    result = compare(actual, expected, tolerance=1e-4)
    # the 2e-3 error sits on an element of 1e-3, but is judged against max|expected| = 100
    assert result.max_abs_err == pytest.approx(2e-3)
    assert result.max_rel_err == pytest.approx(2e-5)
    assert result.passed
    assert result.worst_index == (0, 1)
    assert result.actual_at_worst == pytest.approx(3e-3)
    assert result.expected_at_worst == pytest.approx(1e-3)


def test_compare_uses_unit_scale_for_small_tensors() -> None:
    result = compare(np.array([1e-9]), np.array([0.0]), tolerance=1e-12)
    assert result.max_rel_err == pytest.approx(1e-9)
    assert not result.passed


def test_compare_reports_shape_mismatch_and_non_finite_values() -> None:
    assert compare(np.zeros((2, 3)), np.zeros((3, 2)), 1.0).problem == "shape (2, 3), expected (3, 2)"
    broken = compare(np.array([1.0, np.nan]), np.array([1.0, 2.0]), 1.0)
    assert not broken.passed
    assert broken.problem == "non-finite values"
    assert broken.worst_index == (1,)


def test_compare_ignores_excluded_elements() -> None:
    result = compare(np.array([5.0, 1.0]), np.array([0.0, 1.0]), 1e-12, exclude=np.array([True, False]))
    assert result.passed
    assert result.compared == 1


def test_central_differences_recover_a_known_gradient_and_restore_the_array() -> None:
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    original = x.copy()
    weights = np.array([[1.0, -2.0], [0.5, 3.0]])

    def loss() -> float:
        return float(np.sum(weights * np.sin(x)))

    gradient = central_difference_gradient(loss, x)
    np.testing.assert_allclose(gradient, weights * np.cos(original), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(x, original)


def test_central_differences_skip_masked_elements() -> None:
    x = np.array([0.0, 1.0])
    gradient = central_difference_gradient(lambda: float(np.sum(np.abs(x))), x, skip=np.array([True, False]))
    assert math.isnan(gradient[0])
    assert gradient[1] == pytest.approx(1.0)


def test_directional_differences_estimate_projections() -> None:
    x = np.array([0.5, -0.25, 1.5])
    directions = [np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.6, 0.8])]
    estimates = directional_differences(lambda: float(np.sum(x**3)), x, directions)
    exact = [3 * 0.5**2, 0.6 * 3 * 0.25**2 + 0.8 * 3 * 1.5**2]
    np.testing.assert_allclose(estimates, exact, atol=1e-8)


def quadratic_case() -> tuple[np.ndarray, np.ndarray, object]:
    x = np.array([0.4, -1.1, 0.9])
    a = np.array([2.0, 0.5, -1.5])

    def loss() -> float:
        return float(np.sum(a * x**2 + np.sin(x)))

    return x, a, loss


def test_taylor_slope_is_two_for_the_right_gradient_and_one_for_a_wrong_one() -> None:
    x, a, loss = quadratic_case()
    right = 2 * a * x + np.cos(x)
    direction = np.array([1.0, -0.5, 0.25])
    good = taylor_remainders(loss, x, right, direction, max_step=0.1, noise=1e-16)  # type: ignore[arg-type]
    bad = taylor_remainders(loss, x, right * 1.01, direction, max_step=0.1, noise=1e-16)  # type: ignore[arg-type]
    assert good.slope == pytest.approx(2.0, abs=0.1)
    assert good.passed
    assert bad.slope == pytest.approx(1.0, abs=0.1)
    assert not bad.passed


def test_taylor_verdict_for_a_linear_function_needs_no_slope() -> None:
    x = np.array([1.0, 2.0])
    w = np.array([3.0, -1.0])

    def loss() -> float:
        return float(w @ x)

    exact = taylor_remainders(loss, x, w, np.array([1.0, 1.0]), 0.1, noise=1e-15)
    assert exact.slope is None
    assert exact.passed
    wrong = taylor_remainders(loss, x, w + 0.5, np.array([1.0, 1.0]), 0.1, noise=1e-15)
    assert wrong.slope == pytest.approx(1.0, abs=0.05)
    assert not wrong.passed


def test_tolerances_follow_from_epsilon_and_step() -> None:
    eps64, eps32 = np.finfo(np.float64).eps, np.finfo(np.float32).eps
    assert reference_tolerance(np.float64, 10) == numerics.REFERENCE_SAFETY * 10 * eps64
    assert reference_tolerance(np.float32, 10) / reference_tolerance(np.float64, 10) == pytest.approx(
        eps32 / eps64
    )
    assert pytest.approx(eps64 ** (1 / 3)) == FD_STEP
    # a larger loss means more rounding in each evaluation of L, hence a larger tolerance
    assert finite_difference_tolerance(8, 1e4, 1.0) > finite_difference_tolerance(8, 1.0, 1.0)
    # and even for a unit loss it stays far below any real gradient bug (a relative error of ~1e-2)
    assert finite_difference_tolerance(64, 100.0, 1.0) < 1e-6
