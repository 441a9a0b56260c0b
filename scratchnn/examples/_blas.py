"""OpenBLAS thread control for the examples: their many small products run faster on one
thread than on two on a shared machine (see :func:`blas_threads`)."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def blas_threads(count: int) -> Iterator[str]:
    """Run with NumPy's OpenBLAS limited to ``count`` threads (0: leave it), then restore it.

    The examples' products are small (20 x 100 by 100 x 400 inside an RNN's time loop, 128 x 128
    by 128 x 512 in a seq2seq step): a second BLAS thread gains little, and on a shared machine
    each product's barrier waits for a time slice. With other jobs running, the rnnlm example
    took 445 s on two threads against 66 s on one, and a PeekySeq2seq step 270-820 ms against
    22 ms. OpenBLAS reads OPENBLAS_NUM_THREADS only when it loads, so its own
    ``openblas_set_num_threads`` is called through ctypes, as threadpoolctl does. Yields what
    was done, for the log.
    """
    controls = None if count <= 0 else openblas_thread_controls()
    if controls is None:
        yield "BLAS threads left as they are" if count <= 0 else "BLAS threads left as they are (no OpenBLAS)"
        return
    get, set_count = controls
    before = int(get())
    set_count(count)
    try:
        yield f"OpenBLAS threads {before} -> {count}"
    finally:
        set_count(before)


def openblas_thread_controls() -> tuple[Any, Any] | None:
    """(get, set) thread-count functions of the OpenBLAS this process loaded, or None (Linux only:
    the library is found in /proc/self/maps)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for path in sorted(
        {line.split()[-1] for line in maps.splitlines() if "openblas" in line and "/" in line}
    ):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        # NumPy's wheels prefix OpenBLAS' symbols; other builds export the plain names.
        for pattern in (
            "scipy_openblas_{}_num_threads64_",
            "openblas_{}_num_threads64_",
            "openblas_{}_num_threads",
        ):
            getter = getattr(library, pattern.format("get"), None)
            setter = getattr(library, pattern.format("set"), None)
            if getter is not None and setter is not None:
                getter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
                return getter, setter
    return None
