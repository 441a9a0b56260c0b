"""Builds the report document (the content of ``conformance.json``) from a run's records.

The document is plain JSON data; ``reports/README.md`` documents its schema
(version :data:`SCHEMA_VERSION`) and ``schema.json`` states it for validators.
Markdown and HTML are rendered from the document alone, through one summary
model (:mod:`conformance.report.summary`).

Per layer and check, the document holds the check's status (the worst of its
cases), its **cases** (each with its status, examples, errors, worst example and
minimal failing example) and its **targets** (each gradient or output: errors over
all examples, quantiles, tolerance, margin, the worst and minimal failing example,
and a capped, evenly thinned sample of per-example errors for the plots).
Examples count the draws checked during generation; the minimal failing example
a case was shrunk to is recorded once more (``minimal``) and not counted again.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from conformance import numerics, records
from conformance.measurement import FAILING, Measurement, worst_status
from conformance.report.summary import NOTHING_CHECKED, error_kind

SCHEMA_VERSION = "3.0"

SAMPLE_LIMIT = 24
"""Per target, at most this many per-example errors are kept for the plots (evenly thinned);
every failure, the worst example and the quantiles are kept whatever the limit."""

QUANTILES = (0.5, 0.9, 0.99)


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
    cases: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    planned: dict[tuple[str, str], None] = {}  # ordered: the collection order is the registry's
    declared: dict[str, dict[str, Any]] = {}
    for record in records.read(directory):
        kind = record.get("type")
        if kind == "measurement":
            measurements.append(Measurement.from_json(record))
        elif kind == "case":
            cases[(record["layer"], record["check"])].append(record)
        elif kind == "outcome":
            outcomes[(record["layer"], record["check"])] = record
        elif kind == "planned":
            planned.update(((layer, check), None) for layer, check in record["tests"])
            declared |= record.get("rows", {})
    missing = [test for test in planned if test not in outcomes]
    complete = bool(manifest.get("complete", False)) and not missing
    order = [layer for layer, _ in planned]
    rows = _rows(measurements, outcomes, cases, missing, order, declared)
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
        "caps": manifest.get("caps"),
        "checks": manifest.get("checks"),
        "aliases": manifest.get("aliases"),
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
    cases: dict[tuple[str, str], list[dict[str, Any]]],
    missing: list[tuple[str, str]],
    order: list[str],
    declared: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """One row per layer, in ``order`` (the planned tests', i.e. the registry's) first."""
    by_check: dict[tuple[str, str], list[Measurement]] = defaultdict(list)
    for m in measurements:
        by_check[(m.layer, m.check)].append(m)
    keys = list(dict.fromkeys([*outcomes, *by_check, *missing]))
    layers = list(dict.fromkeys([*order, *(layer for layer, _ in keys)]))
    rows = []
    for layer in layers:
        checks: dict[str, dict[str, Any]] = {}
        for name, check in keys:
            if name != layer:
                continue
            if (layer, check) in missing and (layer, check) not in outcomes:
                checks[check] = _not_run()
            else:
                checks[check] = _check(
                    outcomes.get((layer, check)), cases[(layer, check)], by_check[(layer, check)]
                )
        declarations = declared.get(layer, {})
        rows.append(
            {
                "layer": layer,
                "group": declarations.get("group", ""),
                "tolerance": declarations.get("tolerance"),
                "not_applicable": declarations.get("not_applicable", {}),
                "status": worst_status(c["status"] for c in checks.values()),
                "seconds": round(sum(c["seconds"] or 0.0 for c in checks.values()), 3),
                "checks": checks,
            }
        )
    return rows


def _not_run() -> dict[str, Any]:
    return {
        "status": "skipped",
        "message": "not run: the run was interrupted",
        "examples": 0,
        "shrinks": 0,
        "seconds": 0.0,
        "cases": [],
        "targets": [],
    }


def _check(
    outcome: dict[str, Any] | None, cases: list[dict[str, Any]], measurements: list[Measurement]
) -> dict[str, Any]:
    by_case: dict[str, list[Measurement]] = defaultdict(list)
    for m in measurements:
        by_case[m.case].append(m)
    case_entries = [_case(record, by_case.get(record["case"], [])) for record in cases]
    status = (outcome or {}).get("status") or worst_status(c["status"] for c in case_entries)
    targets: dict[tuple[str, str], list[Measurement]] = defaultdict(list)
    for m in measurements:
        if m.target != "-":
            targets[(m.target, m.dtype)].append(m)
    return {
        "status": status,
        "message": (outcome or {}).get("message", ""),
        "examples": sum(c["examples"] for c in case_entries),
        "shrinks": sum(c["shrinks"] for c in case_entries),
        "seconds": (outcome or {}).get("seconds", 0.0),
        "cases": case_entries,
        "targets": [_target(target, dtype, group) for (target, dtype), group in targets.items()],
    }


def _case(record: dict[str, Any], measurements: list[Measurement]) -> dict[str, Any]:
    counted = [m for m in measurements if not m.minimal]
    minimal = [m for m in measurements if m.minimal and m.status in FAILING]
    measured = [m for m in counted if m.status in ("pass", "fail")]
    worst = max(minimal or measured, key=_closeness, default=None)
    rel = _finite(m.max_rel_err for m in counted)
    abs_ = _finite(m.max_abs_err for m in counted)
    tolerances = _finite(m.tolerance for m in counted if m.check != "taylor")
    return {
        "case": record["case"],
        "values": record.get("values", {}),
        "status": record["status"],
        "examples": record.get("examples", 0),
        "shrinks": record.get("shrinks", 0),
        "seconds": record.get("seconds", 0.0),
        "cause": record.get("cause", ""),
        "max_abs_err": max(abs_) if abs_ else None,
        "max_rel_err": max(rel) if rel else None,
        "tolerance": min(tolerances) if tolerances else None,
        "worst_example": _worst(worst),
        "minimal_failing_example": _example(minimal[0]) if minimal else None,
        "reproduce": record.get("reproduce", ""),
    }


def _finite(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _rounded(value: float | None) -> float | None:
    """3 significant digits: enough for a plot."""
    return None if value is None else float(f"{value:.3g}")


def _samples(group: list[Measurement]) -> dict[str, list[float | None]]:
    """Per-example values for the plots, parallel (index i is one example; None where a check
    does not measure that quantity), thinned evenly to at most SAMPLE_LIMIT examples, always
    keeping the failures."""
    failing = [m for m in group if m.status in FAILING]
    passing = [m for m in group if m.status not in FAILING]
    room = max(0, SAMPLE_LIMIT - len(failing))
    step = max(1.0, len(passing) / room) if room else math.inf
    chosen = failing[:SAMPLE_LIMIT] + (
        [passing[int(i * step)] for i in range(min(len(passing), room))] if room else []
    )
    keys = {
        "rel_err": "max_rel_err",
        "tolerance": "tolerance",
        "noise_floor": "noise_floor",
        "slope": "slope",
    }
    return {
        name: [_rounded(getattr(m, field)) for m in chosen]
        for name, field in keys.items()
        if any(getattr(m, field) is not None for m in chosen)
    }


def _example(m: Measurement) -> dict[str, Any]:
    """A failing example as the report shows it: everything needed to read and replay it."""
    return {
        "case": m.case,
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
        "target": m.target,
        "detail": m.detail,
        "replay": m.replay_command() if m.example else "",
        "diagnosis": m.diagnosis,
    }


def _worst(m: Measurement | None) -> dict[str, Any] | None:
    """The example that came closest to its tolerance: in full if it failed, else briefly (its
    spec, target and numbers, the slope for Taylor; ``replay`` with this spec reruns it)."""
    if m is None:
        return None
    if m.status in FAILING:
        return _example(m)
    brief = {"target": m.target, "example": m.example, "max_rel_err": m.max_rel_err, "tolerance": m.tolerance}
    return brief | ({"slope": m.slope} if m.check == "taylor" else {})


def _closeness(m: Measurement) -> float:
    """How close an example came to failing: error over tolerance, or for the Taylor
    test the threshold over the slope (a linear example, with no slope, is exact)."""
    if m.non_finite:
        return math.inf
    if m.check == "taylor":
        return (m.tolerance or 0.0) / m.slope if m.slope else 0.0
    return (m.max_rel_err or 0.0) / m.tolerance if m.tolerance else 0.0


def _margin(check: str, worst: Measurement | None) -> float | None:
    """tolerance / error of the worst example (slope / threshold for taylor): > 1 passes."""
    if worst is None or worst.tolerance is None:
        return None
    if check == "taylor":
        margin = worst.slope / worst.tolerance if worst.slope is not None else None
    else:
        margin = worst.tolerance / worst.max_rel_err if worst.max_rel_err else None
    # An error of a few subnormals (1e-320) overflows the ratio: as good as exact, shown as none.
    return margin if margin is not None and math.isfinite(margin) else None


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    found = np.quantile(np.asarray(values), QUANTILES)
    # interpolated between measurements kept to 3 digits: 3 digits of them are all there is
    return {f"p{int(q * 100)}": float(f"{v:.3g}") for q, v in zip(QUANTILES, found, strict=True)}


def _target(target: str, dtype: str, group: list[Measurement]) -> dict[str, Any]:
    counted = [m for m in group if not m.minimal]
    check = group[0].check
    rel = _finite(m.max_rel_err for m in counted)
    abs_ = _finite(m.max_abs_err for m in counted)
    tolerances = _finite(m.tolerance for m in counted)
    noise = _finite(m.noise_floor for m in counted)
    failing = [m for m in counted if m.status in FAILING]
    minimal = [m for m in group if m.minimal and m.status in FAILING]
    measured = [m for m in counted if m.status in ("pass", "fail")]
    worst = max(failing or measured, key=_closeness, default=None)
    slopes = _finite(m.slope for m in measured)
    return {
        "target": target,
        "dtype": dtype,
        "examples": len(counted),
        "status": worst_status([m.status for m in counted] or [m.status for m in group]),
        "failures": len(failing),
        "non_finite": sum(m.non_finite for m in counted),
        "max_abs_err": max(abs_) if abs_ else None,
        "max_rel_err": max(rel) if rel else None,
        "median_rel_err": float(np.median(rel)) if rel else None,
        "quantiles": _quantiles(rel),
        "tolerance": min(tolerances) if tolerances else None,
        "tolerance_max": max(tolerances) if tolerances else None,
        "margin": _rounded(_margin(check, worst)),
        "noise_floor": {"max": max(noise), "median": float(np.median(noise))} if noise else None,
        "slope": (
            {
                "min": min(slopes) if slopes else None,
                "median": float(np.median(slopes)) if slopes else None,
                "linear": len(measured) - len(slopes),
            }
            if check == "taylor"
            else None
        ),
        "worst_example": _worst(worst),
        "minimal_failing_example": _example((minimal or failing)[0]) if (minimal or failing) else None,
        "detail": next((m.detail for m in group if m.status not in ("pass",) and m.detail), ""),
        "samples": _samples(counted),
    }


def _summary(rows: list[dict[str, Any]], complete: bool, missing: list[tuple[str, str]]) -> dict[str, Any]:
    check_counts: dict[str, int] = defaultdict(int)
    case_counts: dict[str, int] = defaultdict(int)
    row_counts: dict[str, int] = defaultdict(int)
    for row in rows:
        row_counts[row["status"]] += 1
        for check in row["checks"].values():
            check_counts[check["status"]] += 1
            for case in check["cases"]:
                case_counts[case["status"]] += 1
    failed = check_counts.get("fail", 0) + check_counts.get("error", 0)
    verdict = verdicts(rows)
    if failed:
        status = "fail"
    elif not complete:
        status = "incomplete"
    else:
        status = "nothing_checked" if NOTHING_CHECKED in verdict else "pass"
    return {
        "status": status,
        "rows": len(rows),
        "row_status": dict(row_counts),
        "checks": dict(check_counts),
        "cases": dict(case_counts),
        "examples": sum(c["examples"] for row in rows for c in row["checks"].values()),
        "shrinks": sum(c["shrinks"] for row in rows for c in row["checks"].values()),
        "not_run": [list(t) for t in missing],
        "verdicts": verdict,
    }


def verdicts(rows: list[dict[str, Any]]) -> dict[str, str]:
    """One phrase per group of checks for the final line of a run: ``every gradient agrees``;
    ``12 bad inputs accepted, overflow in Sigmoid``."""
    from conformance.measurement import CORRECTNESS, ROBUSTNESS

    def failing(names: tuple[str, ...]) -> list[tuple[str, str]]:
        return [
            (row["layer"], name)
            for row in rows
            for name, check in row["checks"].items()
            if name in names and check["status"] in FAILING
        ]

    ran = {name for row in rows for name, c in row["checks"].items() if c["cases"]}
    if rows and not ran:
        return {NOTHING_CHECKED: "nothing was checked: no layer could be constructed and run (see why above)"}
    result = {}
    wrong = failing(CORRECTNESS)
    if CORRECTNESS and ran & set(CORRECTNESS):
        if not wrong:
            result["correctness"] = "every gradient agrees"
        else:
            layers = list(dict.fromkeys(layer for layer, _ in wrong))
            shown = ", ".join(
                f"{layer} ({', '.join(c for l2, c in wrong if l2 == layer)})" for layer in layers[:6]
            )
            more = f" and {len(layers) - 6} more" if len(layers) > 6 else ""
            result["correctness"] = (
                f"{len(layers)} layer{' disagrees' if len(layers) == 1 else 's disagree'}: {shown}{more}"
            )
    if ran & set(ROBUSTNESS):
        findings = []
        accepted = sum(
            t["failures"] > 0
            for row in rows
            for name, check in row["checks"].items()
            if name == "bad_input"
            for t in check["targets"]
        )
        if accepted:
            findings.append(f"{accepted} bad input{'s' if accepted != 1 else ''} accepted or badly refused")
        for row in rows:
            check = row["checks"].get("stability")
            if check and check["status"] in FAILING:
                findings.append(f"{_stability_word(check)} in {row['layer']}")
        result["robustness"] = (
            ", ".join(findings) if findings else "every extreme value and bad input handled"
        )
    return result


def _stability_word(check: dict[str, Any]) -> str:
    causes = " ".join(c["cause"] for c in check["cases"] if c["status"] in FAILING)
    if "non-finite" in causes:
        return "NaN or inf"
    return error_kind(causes) or "disagreement at extreme values"
