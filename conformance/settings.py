"""Run-wide settings read from the environment, so pytest-xdist workers see what the CLI set."""

from __future__ import annotations

import os

MAX_SIZE_ENV = "CONFORMANCE_MAX_SIZE"
CAPS_ENV = "CONFORMANCE_CAPS"
DEFAULT_MAX_SIZE = 8
IMPL_ENV = "SCRATCHNN_IMPL"
ALIAS_ENV = "CONFORMANCE_ALIAS"
QUIET_ENV = "CONFORMANCE_QUIET"
CHECKS_ENV = "CONFORMANCE_CHECKS"
DEFAULT_IMPL = "scratchnn"
PROFILE_ENV = "HYPOTHESIS_PROFILE"
PROFILES = ("dev", "ci", "thorough")  # registered in conformance.profiles
DEFAULT_PROFILE = "dev"

CAPS: dict[str, dict[str, int]] = {
    "dev": {"size": DEFAULT_MAX_SIZE, "time": 3, "vocab": 8, "hidden": 4},
    "ci": {"size": DEFAULT_MAX_SIZE, "time": 4, "vocab": 12, "hidden": 5},
    "thorough": {"size": DEFAULT_MAX_SIZE, "time": 8, "vocab": 30, "hidden": 10},
}
"""The largest drawn value per cap class and profile (see :mod:`conformance.dims`).

Batches, features and classes (``size``) stay at 8 everywhere: every chapter-1 bug
shows at that size. Time steps, vocabularies and recurrent state sizes grow with
the profile, so that the ``ci`` run of the time layers stays fast and ``thorough``
still tries longer sequences (T = 8 exercises eight steps of carried gradients).
"""


def _positive(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer; got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {raw!r}")
    return value


def max_size() -> int | None:
    """The one cap on every drawn dimension (``--max-size``), if set."""
    raw = os.environ.get(MAX_SIZE_ENV)
    return None if raw is None else _positive(MAX_SIZE_ENV, raw)


def cap_overrides() -> dict[str, int]:
    """Per-class caps from CONFORMANCE_CAPS, e.g. ``time=6,vocab=20``."""
    raw = os.environ.get(CAPS_ENV, "").strip()
    overrides = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in CAPS[DEFAULT_PROFILE]:
            known = ", ".join(CAPS[DEFAULT_PROFILE])
            raise ValueError(f"{CAPS_ENV} entries read CLASS=N with CLASS one of {known}; got {item!r}")
        overrides[name.strip()] = _positive(f"{CAPS_ENV} {name.strip()}", value.strip())
    return overrides


def cap(name: str) -> int:
    """The largest value a dimension of cap class ``name`` may take in this run."""
    profile = os.environ.get(PROFILE_ENV, DEFAULT_PROFILE)
    table = CAPS.get(profile, CAPS[DEFAULT_PROFILE])
    value = cap_overrides().get(name, table[name])
    overall = max_size()
    return min(value, overall) if overall is not None else value


def caps() -> dict[str, int]:
    """Every cap class with its value in this run (for the report's environment)."""
    return {name: cap(name) for name in CAPS[DEFAULT_PROFILE]}


def implementation_modules() -> list[str]:
    """Modules of the implementation under test, from SCRATCHNN_IMPL (comma-separated)."""
    raw = os.environ.get(IMPL_ENV, "").strip() or DEFAULT_IMPL
    return [m.strip() for m in raw.split(",") if m.strip()]


def aliases() -> dict[str, str]:
    """Explicit row -> class-name mappings (``--alias ROW=NAME``), from CONFORMANCE_ALIAS."""
    raw = os.environ.get(ALIAS_ENV, "").strip()
    mapping = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        row, sep, name = item.partition("=")
        if not sep or not row.strip() or not name.strip():
            raise ValueError(f"an alias reads ROW=NAME (e.g. SoftmaxWithLoss=SoftMaxWithLoss); got {item!r}")
        mapping[row.strip()] = name.strip()
    return mapping


def selected_profile() -> str:
    """The Hypothesis profile named by HYPOTHESIS_PROFILE, or ``dev``."""
    name = os.environ.get(PROFILE_ENV, DEFAULT_PROFILE)
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r} is not a profile; choose from {', '.join(PROFILES)}")
    return name


def quiet() -> bool:
    return os.environ.get(QUIET_ENV, "") not in ("", "0")


def selected_checks() -> str:
    """``correctness``, ``robustness``, ``all`` or check names, from CONFORMANCE_CHECKS."""
    return os.environ.get(CHECKS_ENV, "").strip() or "all"
