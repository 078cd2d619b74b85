"""Fuzzing profiles: ``fast`` (CI, >= 20,000 cases in all) and ``long`` (>= 200,000).

Select with ``KSERVER_FUZZ_PROFILE=long``. Hypothesis is not given a deadline:
each case is a real round trip to a live server on a noisy machine.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("KSERVER_FUZZ_PROFILE", "fast")
SCALE = {"fast": 1, "long": 10}[PROFILE]

settings.register_profile(
    "kserver-fuzz",
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    derandomize=PROFILE == "fast",
    database=None,
)


def cases(n: int) -> int:
    """The number of examples for a test that runs ``n`` in the fast profile."""
    return n * SCALE
