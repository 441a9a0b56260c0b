"""The one fixture the unit tests share: ``dtype``, each supported float dtype in turn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

FLOAT_DTYPES = (np.float32, np.float64)


@pytest.fixture(params=FLOAT_DTYPES, ids=lambda dtype: np.dtype(dtype).name)
def dtype(request: pytest.FixtureRequest) -> Any:
    """Each test that takes ``dtype`` runs in float32 and in float64."""
    return request.param
