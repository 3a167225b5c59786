"""Shared test configuration: hypothesis settings profiles.

Pick one with ``HYPOTHESIS_PROFILE=ci pytest`` (default: ``dev``). Per-test
``@settings`` still set how many examples each property tries.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Scoring is fast, but the first example of a run pays for pint's registry.
settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,  # the same examples on every CI run
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
