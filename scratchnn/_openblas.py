"""The OpenBLAS that NumPy loaded, reached through ctypes: its thread count and its axpy.

NumPy exposes neither. Its wheels bundle OpenBLAS with prefixed, 64-bit-integer symbols
(``scipy_openblas_set_num_threads64_``, ``scipy_cblas_saxpy64_``); other OpenBLAS builds
export ``openblas_set_num_threads`` and, when built with 64-bit integers and a symbol
suffix, ``cblas_saxpy64_``. The library is found among those this process has mapped
(``/proc/self/maps``, Linux), preferring one installed beside NumPy, so that it is the one
NumPy uses; elsewhere, or with another BLAS, :func:`numpy_openblas` is None and callers fall
back to plain NumPy.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = ["OpenBlas", "axpy", "blas_threads", "numpy_openblas"]

# (get, set) thread-count symbols, tried in this order: NumPy's wheels' own names first.
_THREAD_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)
# axpy symbols whose integers are known to be 64 bits wide (the "64_" suffix says so). A
# plain ``cblas_saxpy`` may take 32- or 64-bit integers depending on how it was built, and
# nothing in the library tells which: it is not used.
_AXPY_SYMBOLS: dict[np.dtype[Any], tuple[str, str]] = {
    np.dtype(np.float32): ("scipy_cblas_saxpy64_", "cblas_saxpy64_"),
    np.dtype(np.float64): ("scipy_cblas_daxpy64_", "cblas_daxpy64_"),
}
_SCALARS: dict[np.dtype[Any], Any] = {
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
}


@dataclass(frozen=True)
class OpenBlas:
    """NumPy's OpenBLAS: where it is, its thread count, and its axpy per dtype (when exported)."""

    path: str
    get_threads: Callable[[], int]
    set_threads: Callable[[int], None]
    axpy_functions: Mapping[np.dtype[Any], Any]


@functools.cache
def numpy_openblas() -> OpenBlas | None:
    """The OpenBLAS NumPy loaded, or None (not Linux, another BLAS, or no thread controls)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    mapped = {line.split()[-1] for line in maps.splitlines() if "openblas" in line and "/" in line}
    # NumPy's wheels put their OpenBLAS in site-packages/numpy.libs; another package's copy
    # (SciPy's, say) or a system library may be mapped too, and must not be taken for it.
    numpy_home = Path(np.__file__).resolve().parent.parent
    libraries = []
    for path in sorted(mapped, key=lambda p: (not Path(p).is_relative_to(numpy_home), p)):
        try:
            libraries.append((path, ctypes.CDLL(path)))
        except OSError:
            continue
    for get_name, set_name in _THREAD_SYMBOLS:
        for path, library in libraries:
            getter, setter = getattr(library, get_name, None), getattr(library, set_name, None)
            if getter is not None and setter is not None:
                get_threads, set_threads = _thread_controls(getter, setter)
                return OpenBlas(path, get_threads, set_threads, _axpy_functions(library))
    return None


def _thread_controls(getter: Any, setter: Any) -> tuple[Callable[[], int], Callable[[int], None]]:
    getter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]

    def get_threads() -> int:
        return int(getter())

    def set_threads(count: int) -> None:
        setter(count)

    return get_threads, set_threads


def _axpy_functions(library: ctypes.CDLL) -> Mapping[np.dtype[Any], Any]:
    functions: dict[np.dtype[Any], Any] = {}
    for dtype, names in _AXPY_SYMBOLS.items():
        for name in names:
            function = getattr(library, name, None)
            if function is not None:
                # cblas_?axpy(n, alpha, x, incx, y, incy): y <- alpha * x + y
                integer, pointer = ctypes.c_int64, ctypes.c_void_p
                function.argtypes = [integer, _SCALARS[dtype], pointer, integer, pointer, integer]
                function.restype = None
                functions[dtype] = function
                break
    return MappingProxyType(functions)


def axpy(alpha: float, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> bool:
    """y += alpha * x in one pass over memory, by BLAS ?axpy; False, with y untouched, when it cannot.

    NumPy's ``y += alpha * x`` makes two passes (the product into a temporary, then the sum);
    on a 4 MB float32 array that is about 200 us here against 100 us for one axpy on one
    thread. It is used only where it computes what NumPy would, up to one rounding:

    - ``alpha`` a Python float or int, rounded to the arrays' dtype first, as NumPy rounds
      a Python number multiplying a float32 array (a NumPy float64 scalar would make NumPy
      compute in float64 instead), and not zero after that rounding (OpenBLAS skips the
      whole update when alpha is 0, where NumPy would carry a NaN or inf of x into y);
    - x and y plain ``numpy.ndarray`` (a subclass such as a masked array has its own
      arithmetic), of one native float32 or float64 dtype and one shape, both C-contiguous
      and aligned, y writeable, no memory shared.

    OpenBLAS' kernels for current x86 CPUs use fused multiply-adds, so each element is
    rounded once instead of twice: the result may differ from NumPy's by one rounding of
    ``alpha * x`` (it is the more accurate of the two).
    """
    if type(alpha) not in (float, int):
        return False
    blas = numpy_openblas()
    if blas is None or type(x) is not np.ndarray or type(y) is not np.ndarray:
        return False
    function = blas.axpy_functions.get(y.dtype)
    if function is None or x.dtype != y.dtype or x.shape != y.shape or y.dtype.type(alpha) == 0:
        return False
    if not (x.flags.c_contiguous and y.flags.c_contiguous and x.flags.aligned and y.flags.aligned):
        return False
    if not y.flags.writeable or np.may_share_memory(x, y):
        return False
    function(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


@contextmanager
def blas_threads(count: int) -> Iterator[str]:
    """Run with NumPy's OpenBLAS limited to ``count`` threads (0: leave it), then restore it.

    For the examples: their products are small (20 x 100 by 100 x 400 inside an RNN's time
    loop, 128 x 128 by 128 x 512 in a seq2seq step), so a second BLAS thread gains little,
    and on a shared machine each product's barrier waits for a time slice. With other jobs
    running, the rnnlm example took 445 s on two threads against 66 s on one, and a
    PeekySeq2seq step 270-820 ms against 22 ms. OpenBLAS reads OPENBLAS_NUM_THREADS only
    when it loads, so its own ``openblas_set_num_threads`` is called. Yields what was done,
    for the log.
    """
    blas = None if count <= 0 else numpy_openblas()
    if blas is None:
        yield "BLAS threads left as they are" if count <= 0 else "BLAS threads left as they are (no OpenBLAS)"
        return
    before = blas.get_threads()
    blas.set_threads(count)
    try:
        yield f"OpenBLAS threads {before} -> {count}"
    finally:
        blas.set_threads(before)
