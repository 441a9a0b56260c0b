"""Records of real runs, for the tests of the reports: verify rows into a records directory
the way ``python -m conformance run`` does, with the same sink and manifest."""

from __future__ import annotations

import types
from collections.abc import Sequence
from pathlib import Path

from hypothesis import settings

import conformance.profiles  # noqa: F401  (registers the profiles)
from conformance import records
from conformance.engine import verify
from conformance.environment import describe_environment
from conformance.implementation import Implementation
from conformance.records import JsonLinesSink
from conformance.registry import ROWS_BY_NAME

CI = settings.get_profile("ci")


def learner(**classes: type) -> Implementation:
    """An implementation made of the given classes, as a learner's module would hold them."""
    module = types.ModuleType("learner")
    for name, cls in classes.items():
        setattr(module, name, cls)
    return Implementation((module,))


def record_run(
    directory: Path,
    implementation: Implementation,
    tests: Sequence[tuple[str, str]],
    complete: bool = True,
    planned: Sequence[tuple[str, str]] | None = None,
    worker: str = "gw0",
    chosen: settings = CI,
) -> Path:
    """Verify each (row, check) of ``tests`` into ``directory`` as one run (``planned``: what
    the run meant to check, default ``tests``; more than ran makes an interrupted run)."""
    plan = list(planned if planned is not None else tests)
    records.write_manifest(
        directory,
        {
            "profile": "ci",
            "implementation": implementation.spec,
            "checks": "all",
            "caps": {"size": 8, "time": 4, "vocab": 12, "hidden": 5},
            "complete": complete,
            "environment": describe_environment(),
        },
    )
    sink = JsonLinesSink(directory, worker, implementation.spec)
    sink.planned(plan, {layer: ROWS_BY_NAME[layer].declarations() for layer, _ in plan})
    for layer, check in tests:
        verify(ROWS_BY_NAME[layer], check, implementation, sink, chosen)
    sink.close()
    return directory
