"""One test per registry row and check: ``test_conformance[Affine-gradient]``.

Select with ``-k``, e.g. ``-k "Affine and gradient"`` or ``-k taylor``.
"""

from __future__ import annotations

import pytest

from conformance.checks import CHECKS
from conformance.engine import Sink, verify
from conformance.implementation import Implementation
from conformance.registry import ROWS, row_named

CASES = [pytest.param(row.name, check, id=f"{row.name}-{check}") for row in ROWS for check in CHECKS]


@pytest.mark.parametrize(("row_name", "check"), CASES)
def test_conformance(
    row_name: str, check: str, conformance_implementation: Implementation, conformance_sink: Sink
) -> None:
    outcome = verify(row_named(row_name), check, conformance_implementation, conformance_sink)
    if outcome.status in ("not_implemented", "skipped"):
        pytest.skip(outcome.message)
    if outcome.failed:
        pytest.fail(f"{outcome.message}\n{outcome.reproduce}".rstrip(), pytrace=False)
