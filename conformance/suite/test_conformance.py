"""One test per registry row and check: ``test_conformance[Affine-gradient]``.

Select with ``-k``, e.g. ``-k "Affine and gradient"`` or ``-k taylor``, and a group of
checks with ``--checks correctness|robustness|all|NAME,...`` (see the plugin).
"""

from __future__ import annotations

import json

import pytest

from conformance.engine import Sink, verify
from conformance.implementation import Implementation
from conformance.measurement import select_checks
from conformance.registry import ROWS, row_named
from conformance.settings import selected_checks

CASES = [
    pytest.param(row.name, check, id=f"{row.name}-{check}")
    for row in ROWS
    for check in select_checks(selected_checks())
]

NOT_A_FAILURE = ("not_implemented", "skipped", "signature_mismatch")


@pytest.mark.parametrize(("row_name", "check"), CASES)
def test_conformance(
    row_name: str,
    check: str,
    conformance_implementation: Implementation,
    conformance_sink: Sink,
    request: pytest.FixtureRequest,
) -> None:
    outcome = verify(row_named(row_name), check, conformance_implementation, conformance_sink)
    summary = {
        "layer": outcome.layer,
        "check": outcome.check,
        "status": outcome.status,
        "cases": len(outcome.cases),
        "examples": outcome.examples,
        "seconds": round(outcome.seconds, 2),
        "lines": outcome.case_lines() if outcome.status != "pass" else [],
        "message": outcome.message,
    }
    request.node.user_properties.append(("conformance", json.dumps(summary)))
    if outcome.status in NOT_A_FAILURE:
        pytest.skip(outcome.message)
    if outcome.failed:
        pytest.fail(outcome.describe(), pytrace=False)
