"""Compares a report with an earlier one (a baseline) and flags regressions.

Per (layer, check, target, dtype): the change of status and of the worst
relative error. A regression is a pass turned into fail or error, or a worst
error grown more than :data:`REGRESSION_FACTOR` times. Ratios floor the old
error at the dtype's machine epsilon, so an exact zero turning into rounding
noise is not a regression.
"""

from __future__ import annotations

from typing import Any

from conformance import numerics

REGRESSION_FACTOR = 10.0

Key = tuple[str, str, str, str]


def _groups(report: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    return {
        (row["layer"], group["check"], group["target"], group["dtype"]): group
        for row in report.get("rows", [])
        for group in row.get("checks", [])
    }


def _ratio(old: float | None, new: float | None, dtype: str) -> float | None:
    if old is None or new is None:
        return None
    floor = numerics.unit_roundoff(dtype if dtype in ("float32", "float64") else "float64")
    return new / max(old, floor)


def _verdict(old_status: str | None, new_status: str | None, ratio: float | None) -> tuple[bool, str]:
    failing = ("fail", "error")
    if old_status == "pass" and new_status in failing:
        return True, f"{old_status} -> {new_status}"
    if ratio is not None and ratio > REGRESSION_FACTOR:
        return True, f"error grew {ratio:.0f}x"
    if old_status != new_status:
        return False, f"{old_status or 'absent'} -> {new_status or 'absent'}"
    return False, ""


def compare(report: dict[str, Any], baseline: dict[str, Any], path: str) -> dict[str, Any]:
    """The ``baseline`` section of ``report``: every group of either report, old against new."""
    old, new = _groups(baseline), _groups(report)
    entries = []
    for key in list(dict.fromkeys([*new, *old])):
        layer, check, target, dtype = key
        before, after = old.get(key), new.get(key)
        old_err = before.get("max_rel_err") if before else None
        new_err = after.get("max_rel_err") if after else None
        old_status = before["status"] if before else None
        new_status = after["status"] if after else None
        ratio = _ratio(old_err, new_err, dtype)
        regression, reason = _verdict(old_status, new_status, ratio)
        entries.append(
            {
                "layer": layer,
                "check": check,
                "target": target,
                "dtype": dtype,
                "old_status": old_status,
                "new_status": new_status,
                "old_max_rel_err": old_err,
                "new_max_rel_err": new_err,
                "ratio": ratio,
                "regression": regression,
                "reason": reason,
            }
        )
    return {
        "path": path,
        "environment": baseline.get("environment", {}),
        "regressions": sum(e["regression"] for e in entries),
        "status_changes": sum(e["old_status"] != e["new_status"] for e in entries),
        "entries": entries,
    }
