"""OpenBLAS thread control for the examples: their many small products run faster on one
thread than on two on a shared machine (see :func:`blas_threads`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from scratchnn._openblas import numpy_openblas


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
