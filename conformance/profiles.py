"""The Hypothesis profiles, registered once (importing this module registers them).

- ``dev``: quick feedback while editing a layer (random, few examples);
- ``ci``: derandomized, so every run draws the same examples; enough of them to
  catch the planted bugs of ``tests/harness`` (missing transposes, wrong axes,
  forgotten 1/N, unstable softmax, ...);
- ``thorough``: many random examples, for a release or a new layer.

Chosen by ``--profile`` / ``--hypothesis-profile`` or the ``HYPOTHESIS_PROFILE``
environment variable; ``dev`` otherwise.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

from conformance.settings import selected_profile

# The harness draws a few labelled integers per example and runs numerical
# checks that take milliseconds: no deadline (timings are noisy here), and the
# health check about slow data generation does not apply. One failure per
# (row, check) is reported: its measurements already list every failing gradient.
# Hypothesis' explain phase is left out: the lines it names ("always and only run
# by failing test cases") are the harness's own, never the implementation's.
_base = settings(
    deadline=None,
    phases=[phase for phase in Phase if phase is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    report_multiple_bugs=False,
)

settings.register_profile("dev", parent=_base, max_examples=15)
settings.register_profile("ci", parent=_base, max_examples=60, derandomize=True, database=None)
settings.register_profile("thorough", parent=_base, max_examples=500)


def load_selected_profile() -> str:
    """Load the profile named by HYPOTHESIS_PROFILE (``dev`` by default); return its name."""
    name = selected_profile()
    settings.load_profile(name)
    return name
