"""NumPy's OpenBLAS through ctypes: axpy's result, the arrays it refuses, and SGD's use of it."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import scratchnn.optimizers
from scratchnn._openblas import axpy, numpy_openblas
from scratchnn.optimizers import SGD

FLOATS = [np.float32, np.float64]

needs_openblas = pytest.mark.skipif(numpy_openblas() is None, reason="NumPy's OpenBLAS not found here")


def wheel_bundles_openblas() -> bool:
    """NumPy says it was built with the OpenBLAS its wheels bundle (as on this project's machines)."""
    config: Any = np.show_config(mode="dicts")
    return "openblas" in str(config["Build Dependencies"]["blas"].get("name", "")).lower()


def within_two_roundings(result: np.ndarray, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """``result`` against y + a * x computed exactly (fractions), a = alpha rounded to the dtype.

    With u = eps / 2 the unit roundoff, NumPy computes r = fl(y + fl(a x)): the product is
    off by at most u |a x|, the sum adds at most u |r| / (1 - u), so |r - exact| <= u (|a x| +
    |r|) (1 + 2u). A fused multiply-add rounds once, |r - exact| <= u |exact|, inside the same
    bound. Checked on every element (up to 2,000 of them, spread over the array).
    """
    dtype = result.dtype
    u = Fraction(float(np.finfo(dtype).eps)) / 2
    a = Fraction(float(dtype.type(alpha)))
    flat = [array.reshape(-1) for array in (result, x, y)]
    for i in np.unique(np.linspace(0, result.size - 1, 2000).astype(int)):
        r, xi, yi = (Fraction(float(array[i])) for array in flat)
        exact = yi + a * xi
        assert abs(r - exact) <= u * (abs(a * xi) + abs(r)) * (1 + 2 * u), (i, float(r), float(exact))


def test_numpy_wheels_openblas_is_found_with_axpy_for_both_float_dtypes():
    if not wheel_bundles_openblas():
        pytest.skip("NumPy here is not built with OpenBLAS")
    blas = numpy_openblas()
    assert blas is not None
    assert "numpy" in blas.path  # NumPy's own copy (site-packages/numpy.libs), not another
    assert blas.get_threads() >= 1
    assert set(blas.axpy_functions) == {np.dtype(np.float32), np.dtype(np.float64)}


@needs_openblas
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("size", [7, 2_100, 120_000])  # OpenBLAS splits axpy over threads above 10,000
def test_axpy_adds_alpha_times_x_to_y_in_place(dtype, threads, size):
    blas = numpy_openblas()
    assert blas is not None
    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(dtype)
    y = rng.standard_normal(size).astype(dtype)
    before, target = y.copy(), y
    threads_before = blas.get_threads()
    blas.set_threads(threads)
    try:
        assert axpy(-0.1, x, y) is True
    finally:
        blas.set_threads(threads_before)
    assert y is target
    within_two_roundings(y, -0.1, x, before)
    assert np.count_nonzero(y != before) >= 0.99 * size  # every element moved, not a prefix


@needs_openblas
@pytest.mark.parametrize("dtype", FLOATS)
def test_axpy_rounds_alpha_to_the_arrays_dtype_first(dtype):
    x, y = np.ones(5, dtype), np.zeros(5, dtype)
    assert axpy(1 / 3, x, y) is True
    np.testing.assert_array_equal(y, np.full(5, dtype(1 / 3)))


@needs_openblas
def test_axpy_accepts_edge_shapes_and_a_read_only_x():
    x, y = np.array(2.0, np.float32), np.array(1.0, np.float32)  # 0-d
    assert axpy(0.5, x, y) is True
    assert y == 2.0
    empty = np.zeros((0, 3))
    assert axpy(0.5, empty.copy(), empty) is True
    x = np.ones(4)
    x.flags.writeable = False
    y = np.zeros(4)
    assert axpy(2.0, x, y) is True
    np.testing.assert_array_equal(y, np.full(4, 2.0))


def refused_cases() -> dict[str, tuple[float, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)

    def matrix(dtype: Any = np.float32) -> np.ndarray:
        return rng.standard_normal((6, 4)).astype(dtype)

    read_only = matrix()
    read_only.flags.writeable = False
    shared = matrix()
    unaligned = np.zeros(6 * 4 * 4 + 1, np.uint8)[1:].view(np.float32).reshape(6, 4)
    with_nan = matrix()
    with_nan[0, 0] = np.nan
    return {
        "y transposed": (0.5, matrix().T.copy(), matrix().T),
        "x strided": (0.5, matrix()[::2], matrix()[:3]),
        "dtypes differ": (0.5, matrix(np.float64), matrix(np.float32)),
        "float16": (0.5, matrix(np.float16), matrix(np.float16)),
        "byte-swapped": (0.5, matrix().astype(">f4"), matrix().astype(">f4")),
        "shapes differ": (0.5, matrix().reshape(4, 6), matrix()),
        "read-only y": (0.5, matrix(), read_only),
        "unaligned y": (0.5, matrix(), unaligned),
        "x is y": (0.5, shared, shared),
        "x overlaps y": (0.5, shared.reshape(-1)[1:5], shared.reshape(-1)[:4]),
        "masked y": (0.5, matrix(), np.ma.masked_array(matrix(), mask=np.eye(6, 4, dtype=bool))),
        "NumPy scalar alpha": (np.float64(0.5), matrix(), matrix()),  # NumPy would compute in float64
        "alpha zero in float32": (1e-50, with_nan, matrix()),  # NumPy carries the NaN, OpenBLAS would not
    }


@needs_openblas
@pytest.mark.parametrize("case", list(refused_cases()))
def test_axpy_refuses_what_it_cannot_do_as_numpy_would_and_leaves_y_alone(case):
    alpha, x, y = refused_cases()[case]
    before = y.copy()
    assert axpy(alpha, x, y) is False
    np.testing.assert_array_equal(y, before)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sgd_goes_through_axpy_when_it_can_and_through_numpy_when_it_cannot(dtype, monkeypatch):
    calls: list[bool] = []

    def spy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
        done = axpy(alpha, x, y)
        calls.append(done)
        return done

    monkeypatch.setattr(scratchnn.optimizers, "axpy", spy)
    rng = np.random.default_rng(2)
    contiguous = rng.standard_normal((50, 8)).astype(dtype)
    transposed = rng.standard_normal((8, 50)).astype(dtype).T  # not C-contiguous: NumPy's path
    grads = [rng.standard_normal(p.shape).astype(dtype) for p in (contiguous, transposed)]
    before = [contiguous.copy(), transposed.copy()]
    SGD(lr=0.3).update([contiguous, transposed], grads)
    assert calls == [numpy_openblas() is not None, False]
    for param, old, grad in zip((contiguous, transposed), before, grads, strict=True):
        assert param.dtype == dtype
        within_two_roundings(param, -0.3, grad, old)


def test_sgd_keeps_a_float32_weight_float32_under_a_float64_gradient():
    rng = np.random.default_rng(4)
    param = rng.standard_normal((10, 3)).astype(np.float32)
    grad = rng.standard_normal((10, 3))
    expected = param - 0.1 * grad  # float64, rounded to float32 when assigned in place
    SGD(lr=0.1).update([param], [grad])
    assert param.dtype == np.float32
    np.testing.assert_array_equal(param, expected.astype(np.float32))


def test_sgd_without_blas_is_numpys_two_roundings_exactly(monkeypatch):
    monkeypatch.setattr(scratchnn.optimizers, "axpy", lambda alpha, x, y: False)
    rng = np.random.default_rng(3)
    param = rng.standard_normal((20, 5)).astype(np.float32)
    grad = rng.standard_normal((20, 5)).astype(np.float32)
    expected = param - np.float32(0.1) * grad
    SGD(lr=0.1).update([param], [grad])
    np.testing.assert_array_equal(param, expected)
