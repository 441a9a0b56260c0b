"""Builds the report document (the content of ``conformance.json``) from a run's records.

The document is plain JSON data; ``reports/README.md`` documents its schema
(version :data:`SCHEMA_VERSION`) and ``schema.json`` states it for validators.
Markdown and HTML are rendered from the document alone.

Aggregation: measurements are grouped by (layer, check, target, dtype). A
group's status is ``fail`` if any of its measurements failed, else ``error`` if
any errored, else ``pass`` (or ``not_implemented`` / ``skipped`` when that is
all it has). The minimal failing example is the last failing measurement of the
group: Hypothesis replays its shrunk example last. The worst example is the
one that went furthest past its tolerance (or, in a passing group, came closest).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance import numerics, records
from conformance.measurement import FAILING, Measurement

SCHEMA_VERSION = "1.0"

SAMPLE_LIMIT = 400
"""Per group, at most this many per-example errors are kept for the plots (evenly thinned)."""

STATUS_ORDER = ("fail", "error", "pass", "skipped", "not_implemented")
"""Worst first: a row's status is the first of these any of its checks has."""


def tolerance_notes() -> dict[str, Any]:
    """The constants every judgement derives from (see ``conformance.numerics``)."""
    return {
        "error_measure": "|actual - expected| / max(1, max |expected|) per element; maximum over the tensor",
        "reference_tolerance": f"{numerics.REFERENCE_SAFETY} * K * eps(dtype), K = largest tensor size",
        "finite_difference_step": numerics.FD_STEP,
        "finite_difference_tolerance": "2 * (h^2 / 6 * C + K * eps * sum|dout * out| / (h * s)), "
        f"C = {numerics.FD_CURVATURE_BOUND}",
        "finite_difference_elementwise_limit": numerics.FD_ELEMENTWISE_LIMIT,
        "taylor_slope_threshold": numerics.TAYLOR_SLOPE_THRESHOLD,
        "eps": {"float64": numerics.unit_roundoff("float64"), "float32": numerics.unit_roundoff("float32")},
    }


def build(directory: Path) -> dict[str, Any]:
    """The report document of the records in ``directory``."""
    manifest = records.read_manifest(directory)
    measurements: list[Measurement] = []
    outcomes: dict[tuple[str, str], dict[str, Any]] = {}
    planned: dict[tuple[str, str], None] = {}  # ordered: the collection order is the registry's
    for record in records.read(directory):
        kind = record.get("type")
        if kind == "measurement":
            measurements.append(Measurement.from_json(record))
        elif kind == "outcome":
            outcomes[(record["layer"], record["check"])] = record
        elif kind == "planned":
            planned.update(((layer, check), None) for layer, check in record["tests"])
    missing = [test for test in planned if test not in outcomes]
    complete = bool(manifest.get("complete", False)) and not missing
    order = [layer for layer, _ in planned]
    rows = _rows(measurements, outcomes, missing, order)
    return {
        "schema_version": SCHEMA_VERSION,
        "complete": complete,
        "environment": _environment(manifest),
        "tolerances": tolerance_notes(),
        "summary": _summary(rows, complete, missing),
        "rows": rows,
        "baseline": None,
    }


def _environment(manifest: dict[str, Any]) -> dict[str, Any]:
    environment = dict(manifest.get("environment", {}))
    profile = manifest.get("profile")
    environment |= {
        "profile": profile,
        "seed": "derandomized" if profile == "ci" else manifest.get("seed", "random"),
        "max_size": manifest.get("max_size"),
        "implementation": manifest.get("implementation"),
        "keyword": manifest.get("keyword"),
        "workers": manifest.get("workers"),
        "started": manifest.get("started"),
        "finished": manifest.get("finished"),
        "pytest_exit_code": manifest.get("pytest_exit_code"),
    }
    return environment


def _rows(
    measurements: list[Measurement],
    outcomes: dict[tuple[str, str], dict[str, Any]],
    missing: list[tuple[str, str]],
    order: list[str],
) -> list[dict[str, Any]]:
    """One row per layer, in ``order`` (the planned tests', i.e. the registry's) first."""
    groups: dict[str, dict[tuple[str, str, str], list[Measurement]]] = defaultdict(dict)
    for m in measurements:
        groups[m.layer].setdefault((m.check, m.target, m.dtype), []).append(m)
    layers = list(dict.fromkeys([*order, *groups, *(layer for layer, _ in outcomes)]))
    rows = []
    for layer in layers:
        checks = [_group(key, group) for key, group in groups.get(layer, {}).items()]
        layer_outcomes = {check: _outcome(o) for (name, check), o in outcomes.items() if name == layer}
        for name, check in missing:
            if name == layer:
                layer_outcomes[check] = _not_run()
        statuses = [o["status"] for o in layer_outcomes.values()] + [c["status"] for c in checks]
        rows.append(
            {
                "layer": layer,
                "status": worst_status(statuses),
                "seconds": round(sum(o.get("seconds") or 0.0 for o in layer_outcomes.values()), 3),
                "outcomes": layer_outcomes,
                "checks": checks,
            }
        )
    return rows


def _not_run() -> dict[str, Any]:
    message = "not run: the run was interrupted"
    return {"status": "skipped", "examples": 0, "message": message, "reproduce": "", "seconds": 0.0}


def _outcome(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("status", "examples", "message", "reproduce", "seconds")}


def worst_status(statuses: Iterable[str]) -> str:
    """The first of STATUS_ORDER present: fail > error > pass > skipped > not_implemented."""
    present = set(statuses)
    return next((s for s in STATUS_ORDER if s in present), "skipped")


def _finite(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _rounded(value: float | None) -> float | None:
    """4 significant digits: enough for a plot, a third of the bytes."""
    return None if value is None else float(f"{value:.4g}")


def _samples(group: list[Measurement]) -> dict[str, list[float | None]]:
    """Per-example values for the plots, parallel (index i is one example; None where a check
    does not measure that quantity), thinned evenly to at most SAMPLE_LIMIT examples."""
    step = max(1.0, len(group) / SAMPLE_LIMIT)
    chosen = [group[int(i * step)] for i in range(min(len(group), SAMPLE_LIMIT))]
    return {
        "rel_err": [_rounded(m.max_rel_err) for m in chosen],
        "tolerance": [_rounded(m.tolerance) for m in chosen],
        "noise_floor": [_rounded(m.noise_floor) for m in chosen],
        "slope": [_rounded(m.slope) for m in chosen],
    }


def _example(m: Measurement) -> dict[str, Any]:
    return {
        "example": m.example,
        "shapes": m.shapes,
        "worst_index": m.worst_index,
        "actual": m.actual,
        "expected": m.expected,
        "max_abs_err": m.max_abs_err,
        "max_rel_err": m.max_rel_err,
        "tolerance": m.tolerance,
        "noise_floor": m.noise_floor,
        "slope": m.slope,
        "status": m.status,
        "detail": m.detail,
        "replay": m.replay_command() if m.example else "",
    }


def _closeness(check: str, m: Measurement) -> float:
    """How close an example came to failing: error over tolerance, or for the Taylor
    test the threshold over the slope (a linear example, with no slope, is exact)."""
    if m.non_finite:
        return math.inf
    if check == "taylor":
        return (m.tolerance or 0.0) / m.slope if m.slope else 0.0
    return (m.max_rel_err or 0.0) / m.tolerance if m.tolerance else 0.0


def _margin(check: str, worst: Measurement | None) -> float | None:
    """tolerance / error of the worst example (slope / threshold for taylor): > 1 passes."""
    if worst is None or worst.tolerance is None:
        return None
    if check == "taylor":
        return worst.slope / worst.tolerance if worst.slope is not None else None
    return worst.tolerance / worst.max_rel_err if worst.max_rel_err else None


def _group(key: tuple[str, str, str], group: list[Measurement]) -> dict[str, Any]:
    check, target, dtype = key
    rel = _finite(m.max_rel_err for m in group)
    abs_ = _finite(m.max_abs_err for m in group)
    tolerances = _finite(m.tolerance for m in group)
    noise = _finite(m.noise_floor for m in group)
    failing = [m for m in group if m.status in FAILING]
    measured = [m for m in group if m.status in ("pass", "fail")]
    worst = max(failing or measured, key=lambda m: _closeness(check, m), default=None)
    return {
        "check": check,
        "target": target,
        "dtype": dtype,
        "examples": len(group),
        "status": worst_status([m.status for m in group]),
        "failures": len(failing),
        "non_finite": sum(m.non_finite for m in group),
        "max_abs_err": max(abs_) if abs_ else None,
        "max_rel_err": max(rel) if rel else None,
        "median_rel_err": statistics.median(rel) if rel else None,
        "tolerance": min(tolerances) if tolerances else None,
        "tolerance_max": max(tolerances) if tolerances else None,
        "margin": _margin(check, worst),
        "noise_floor": {"max": max(noise), "median": statistics.median(noise)} if noise else None,
        "slope": _slopes(measured) if check == "taylor" else None,
        "worst_example": _example(worst) if worst is not None else (_example(group[-1]) if group else None),
        "minimal_failing_example": _example(failing[-1]) if failing else None,
        "samples": _samples(group),
    }


def _slopes(measured: list[Measurement]) -> dict[str, Any]:
    """Fitted slopes; ``linear`` counts examples where L was linear along v (no slope to fit)."""
    slopes = _finite(m.slope for m in measured)
    return {
        "min": min(slopes) if slopes else None,
        "median": statistics.median(slopes) if slopes else None,
        "linear": len(measured) - len(slopes),
    }


def _summary(rows: list[dict[str, Any]], complete: bool, missing: list[tuple[str, str]]) -> dict[str, Any]:
    outcome_counts: dict[str, int] = defaultdict(int)
    for row in rows:
        for outcome in row["outcomes"].values():
            outcome_counts[outcome["status"]] += 1
    row_counts: dict[str, int] = defaultdict(int)
    for row in rows:
        row_counts[row["status"]] += 1
    failed = outcome_counts.get("fail", 0) + outcome_counts.get("error", 0)
    return {
        "status": "fail" if failed else ("pass" if complete else "incomplete"),
        "rows": len(rows),
        "row_status": dict(row_counts),
        "checks": dict(outcome_counts),
        "measurements": sum(c["examples"] for row in rows for c in row["checks"]),
        "not_run": [list(t) for t in missing],
    }
