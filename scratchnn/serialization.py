"""Saving and loading parameter lists as ``.npz`` files (never pickle)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scratchnn import _validation as check
from scratchnn._validation import FloatArray

__all__ = ["load_params", "save_params"]


def save_params(params: Sequence[FloatArray], path: str | Path) -> Path:
    """Write ``params`` in order as ``param_0``, ``param_1``, ... of an uncompressed ``.npz``.

    Shared arrays are saved once per position, so loading restores every position.
    """
    path = Path(path)
    arrays = {f"param_{i}": np.asarray(p) for i, p in enumerate(params)}
    with path.open("wb") as file:
        np.savez(file, **arrays)  # type: ignore[arg-type]
    return path


def load_params(params: Sequence[FloatArray], path: str | Path) -> None:
    """Copy the arrays saved by :func:`save_params` into ``params`` in place.

    Refuses files whose number of arrays, shapes or dtypes differ from ``params``.
    Loading with ``allow_pickle=False`` never executes code from the file.
    """
    owner = "load_params"
    expected = [f"param_{i}" for i in range(len(params))]
    with np.load(Path(path), allow_pickle=False) as data:
        if sorted(data.files) != sorted(expected):
            found = ", ".join(sorted(data.files)[:5]) + (" ..." if len(data.files) > 5 else "")
            raise check.fail_value(
                owner, "path", f"a file with {len(params)} parameters", f"{len(data.files)} arrays: {found}"
            )
        saved = [data[name] for name in expected]
    # Check every array before copying any, so a refused file leaves the model as it was.
    for i, (param, array) in enumerate(zip(params, saved, strict=True)):
        if array.shape != param.shape or array.dtype != param.dtype:
            raise check.fail_value(
                owner,
                f"param_{i}",
                f"{param.dtype} of shape {param.shape}",
                f"{array.dtype} of shape {array.shape}",
            )
    for param, array in zip(params, saved, strict=True):
        param[...] = array
