"""conformance.json leaves out what holds no information.

- The fields of a case or a target that hold their default. Most of a passing
  run's cases and targets have no minimal failing example, no cause, no detail,
  no noise floor, no Taylor slope and zero failures; writing those out was a
  fifth of the file. A reader takes an absent field as its default, listed here
  and in reports/README.md; :func:`expand` puts them back.
- In the comparison with a baseline, the targets that did not change (same
  status, no regression, nothing to say): ``unchanged`` counts them. They were
  2,344 of 2,392 entries and half a megabyte in a whole-book run compared with
  the previous one; the HTML page still plots and tables all of them.

The document in memory always has everything, so the HTML and Markdown renderers
never see the difference.
"""

from __future__ import annotations

from typing import Any

CASE_DEFAULTS: dict[str, Any] = {
    "shrinks": 0,
    "cause": "",
    "max_abs_err": None,
    "max_rel_err": None,
    "tolerance": None,
    "minimal_failing_example": None,
    "reproduce": "",
}

TARGET_DEFAULTS: dict[str, Any] = {
    "failures": 0,
    "non_finite": 0,
    "max_abs_err": None,
    "max_rel_err": None,
    "median_rel_err": None,
    "quantiles": None,
    "tolerance": None,
    "tolerance_max": None,
    "margin": None,
    "noise_floor": None,
    "slope": None,
    "minimal_failing_example": None,
    "detail": "",
}


def _is_default(value: Any, default: Any) -> bool:
    """``value`` is the default itself: None for None, the integer 0 for 0 (never the float 0.0,
    an exact error), the empty string for ""."""
    if default is None:
        return value is None
    return type(value) is type(default) and value == default


def _without_defaults(entry: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not (k in defaults and _is_default(v, defaults[k]))}


def compact(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with default-valued case and target fields left out."""
    rows = []
    for row in document["rows"]:
        checks = {
            name: check
            | {
                "cases": [_without_defaults(c, CASE_DEFAULTS) for c in check["cases"]],
                "targets": [_without_defaults(t, TARGET_DEFAULTS) for t in check["targets"]],
            }
            for name, check in row["checks"].items()
        }
        rows.append(row | {"checks": checks})
    compacted = document | {"rows": rows}
    baseline = document.get("baseline")
    if baseline:
        listed = [e for e in baseline["entries"] if e["regression"] or e["reason"]]
        compacted["baseline"] = baseline | {
            "entries": listed,
            "unchanged": len(baseline["entries"]) - len(listed),
        }
    return compacted


def expand(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (as read from a file) with every left-out field back at its default, in place.
    The unchanged baseline entries are not restored (a baseline's own comparison is never used)."""
    for row in document.get("rows", []):
        for check in row.get("checks", {}).values():
            for case in check.get("cases", []):
                for key, default in CASE_DEFAULTS.items():
                    case.setdefault(key, default)
            for target in check.get("targets", []):
                for key, default in TARGET_DEFAULTS.items():
                    target.setdefault(key, default)
    return document
