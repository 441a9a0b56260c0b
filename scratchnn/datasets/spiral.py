"""The spiral dataset of section 1.4: points on interleaved spiral arms, one arm per class."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check

__all__ = ["load_data"]


def load_data(
    seed: int = 1984,
    n_per_class: int = 100,
    n_classes: int = 3,
    noise: float = 0.2,
    dtype: type[np.floating[Any]] = np.float64,
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]:
    """Points x of shape (n_classes * n_per_class, 2) and one-hot labels t (n, n_classes).

    Point i of class j (rate r = i / n_per_class) sits at radius r and angle
    4 j + 4 r + noise * N(0, 1): each class is an arm that turns 4 radians.
    Rows are ordered by class. ``seed`` makes the data reproducible without
    touching NumPy's global random state.
    """
    owner = "spiral.load_data"
    n_per_class = check.positive_int(owner, "n_per_class", n_per_class)
    n_classes = check.positive_int(owner, "n_classes", n_classes)
    rng = np.random.default_rng(seed)
    rate = np.tile(np.arange(n_per_class) / n_per_class, n_classes)
    klass = np.repeat(np.arange(n_classes), n_per_class)
    theta = 4.0 * klass + 4.0 * rate + noise * rng.standard_normal(rate.size)
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=1).astype(dtype)
    t = np.eye(n_classes, dtype=dtype)[klass]
    return x, t
