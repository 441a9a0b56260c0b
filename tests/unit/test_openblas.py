"""NumPy's OpenBLAS through ctypes: axpy's result, the arrays it refuses, and SGD's use of it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import scratchnn.optimizers
from scratchnn._openblas import axpy, numpy_openblas
from scratchnn.optimizers import SGD

FLOATS = [np.float32, np.float64]


def wheel_bundles_openblas() -> bool:
    """NumPy says it was built with the OpenBLAS its wheels bundle (as on this project's machines)."""
    config: Any = np.show_config(mode="dicts")
    return "openblas" in str(config["Build Dependencies"]["blas"].get("name", "")).lower()


def within_two_roundings(result: np.ndarray, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """y + alpha * x, computed in float64 from the dtype-rounded alpha, against ``result``.

    A fused multiply-add rounds once, NumPy's product and sum round twice; each rounding is at
    most half an epsilon relative to the value rounded, so |error| <= eps * (|alpha x| + |y'|).
    """
    dtype = result.dtype
    rounded_alpha = np.float64(dtype.type(alpha))
    product = rounded_alpha * x.astype(np.float64)
    exact = y.astype(np.float64) + product
    bound = np.finfo(dtype).eps * (np.abs(product) + np.abs(exact))
    assert np.all(np.abs(result.astype(np.float64) - exact) <= bound)


def test_numpy_wheels_openblas_is_found_with_axpy_for_both_float_dtypes():
    if not wheel_bundles_openblas():
        pytest.skip("NumPy here is not built with OpenBLAS")
    blas = numpy_openblas()
    assert blas is not None
    assert blas.get_threads() >= 1
    assert set(blas.axpy_functions) == {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("dtype", FLOATS)
def test_axpy_adds_alpha_times_x_to_y_in_place(dtype):
    if numpy_openblas() is None:
        pytest.skip("no OpenBLAS found")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 7)).astype(dtype)
    y = rng.standard_normal((300, 7)).astype(dtype)
    before, target = y.copy(), y
    assert axpy(-0.1, x, y) is True
    assert y is target
    within_two_roundings(y, -0.1, x, before)
    assert not np.array_equal(y, before)


def refused_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)

    def matrix(dtype: Any = np.float32) -> np.ndarray:
        return rng.standard_normal((6, 4)).astype(dtype)

    read_only = matrix()
    read_only.flags.writeable = False
    shared = matrix()
    return {
        "y transposed": (matrix().T.copy(), matrix().T),
        "x strided": (matrix()[::2], matrix()[:3]),
        "dtypes differ": (matrix(np.float64), matrix(np.float32)),
        "float16": (matrix(np.float16), matrix(np.float16)),
        "byte-swapped": (matrix().astype(">f4"), matrix().astype(">f4")),
        "shapes differ": (matrix().reshape(4, 6), matrix()),
        "read-only y": (matrix(), read_only),
        "x is y": (shared, shared),
        "x overlaps y": (shared.reshape(-1)[1:5], shared.reshape(-1)[:4]),
    }


@pytest.mark.parametrize("case", list(refused_cases()))
def test_axpy_refuses_what_it_cannot_do_exactly_and_leaves_y_alone(case):
    x, y = refused_cases()[case]
    before = y.copy()
    assert axpy(0.5, x, y) is False
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


def test_sgd_without_blas_is_numpys_two_roundings_exactly(monkeypatch):
    monkeypatch.setattr(scratchnn.optimizers, "axpy", lambda alpha, x, y: False)
    rng = np.random.default_rng(3)
    param = rng.standard_normal((20, 5)).astype(np.float32)
    grad = rng.standard_normal((20, 5)).astype(np.float32)
    expected = param - np.float32(0.1) * grad
    SGD(lr=0.1).update([param], [grad])
    np.testing.assert_array_equal(param, expected)
