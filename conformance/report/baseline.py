"""Compares a report with an earlier one (a baseline) and flags regressions.

Per (layer, check, target, dtype): the change of status and of the worst
relative error. A regression is a pass turned into fail or error, NaN or inf
where there was none, or, when both runs drew the same examples (see
:func:`same_examples`), a worst error grown more than :data:`REGRESSION_FACTOR`
times. Ratios floor the old error at the dtype's machine epsilon, so an exact
zero turning into rounding noise is not a regression.
"""

from __future__ import annotations

from typing import Any

from conformance import numerics
from conformance.measurement import FAILING

REGRESSION_FACTOR = 10.0

Key = tuple[str, str, str, str]


WHOLE_CHECK = "(check)"
"""The target name of a check's own status: a check can fail without any target failing
(it raised before measuring)."""


def _groups(report: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    """Every check, and every target of every check, by (layer, check, target, dtype)."""
    found: dict[Key, dict[str, Any]] = {}
    for row in report.get("rows", []):
        for check, entry in row.get("checks", {}).items():
            found[(row["layer"], check, WHOLE_CHECK, "-")] = {"status": entry["status"], "max_rel_err": None}
            for target in entry.get("targets", []):
                found[(row["layer"], check, target["target"], target["dtype"])] = target
    return found


def _ratio(old: float | None, new: float | None, dtype: str) -> float | None:
    if old is None or new is None:
        return None
    floor = numerics.unit_roundoff(dtype if dtype in ("float32", "float64") else "float64")
    return new / max(old, floor)


SAME_EXAMPLES_KEYS = ("seed", "profile", "max_size", "caps", "hypothesis")


def same_examples(report: dict[str, Any], baseline: dict[str, Any]) -> bool:
    """Whether both runs drew the same examples: derandomized, with the same profile, size cap
    and Hypothesis version. Only then is a change in worst error a change in the code; with
    random examples the worst error of a correct layer varies by 10x from run to run."""
    new, old = report.get("environment", {}), baseline.get("environment", {})
    return new.get("seed") == "derandomized" and all(new.get(k) == old.get(k) for k in SAME_EXAMPLES_KEYS)


def _verdict(
    old: dict[str, Any] | None, new: dict[str, Any] | None, ratio: float | None, comparable: bool
) -> tuple[bool, str]:
    old_status = old["status"] if old else None
    new_status = new["status"] if new else None
    if old_status == "pass" and new_status in FAILING:
        return True, f"{old_status} -> {new_status}"
    if new and new.get("non_finite") and not (old and old.get("non_finite")):
        return True, "NaN or inf appeared"
    if ratio is not None and ratio > REGRESSION_FACTOR:
        if comparable:
            return True, f"error grew {ratio:.0f}x"
        return False, f"error grew {ratio:.0f}x (not flagged: the runs drew different examples)"
    if old_status != new_status:
        return False, f"{old_status or 'absent'} -> {new_status or 'absent'}"
    return False, ""


def compare(report: dict[str, Any], baseline: dict[str, Any], path: str) -> dict[str, Any]:
    """The ``baseline`` section of ``report``: every group of either report, old against new."""
    old, new = _groups(baseline), _groups(report)
    comparable = same_examples(report, baseline)
    entries = []
    for key in list(dict.fromkeys([*new, *old])):
        layer, check, target, dtype = key
        before, after = old.get(key), new.get(key)
        old_err = before.get("max_rel_err") if before else None
        new_err = after.get("max_rel_err") if after else None
        ratio = _ratio(old_err, new_err, dtype)
        regression, reason = _verdict(before, after, ratio, comparable)
        entries.append(
            {
                "layer": layer,
                "check": check,
                "target": target,
                "dtype": dtype,
                "old_status": before["status"] if before else None,
                "new_status": after["status"] if after else None,
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
        "same_examples": comparable,
        "regressions": sum(e["regression"] for e in entries),
        "status_changes": sum(e["old_status"] != e["new_status"] for e in entries),
        "entries": entries,
    }
