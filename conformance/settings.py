"""Run-wide settings read from the environment, so pytest-xdist workers see what the CLI set."""

from __future__ import annotations

import os

MAX_SIZE_ENV = "CONFORMANCE_MAX_SIZE"
DEFAULT_MAX_SIZE = 8
IMPL_ENV = "SCRATCHNN_IMPL"
DEFAULT_IMPL = "scratchnn"
PROFILE_ENV = "HYPOTHESIS_PROFILE"
PROFILES = ("dev", "ci", "thorough")  # registered in conformance.profiles
DEFAULT_PROFILE = "dev"


def max_size() -> int:
    """The one cap on every drawn dimension (batch, features, classes, repeats)."""
    raw = os.environ.get(MAX_SIZE_ENV, str(DEFAULT_MAX_SIZE))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_SIZE_ENV} must be a positive integer; got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{MAX_SIZE_ENV} must be a positive integer; got {raw!r}")
    return value


def implementation_modules() -> list[str]:
    """Modules of the implementation under test, from SCRATCHNN_IMPL (comma-separated)."""
    raw = os.environ.get(IMPL_ENV, "").strip() or DEFAULT_IMPL
    return [m.strip() for m in raw.split(",") if m.strip()]


def selected_profile() -> str:
    """The Hypothesis profile named by HYPOTHESIS_PROFILE, or ``dev``."""
    name = os.environ.get(PROFILE_ENV, DEFAULT_PROFILE)
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r} is not a profile; choose from {', '.join(PROFILES)}")
    return name
