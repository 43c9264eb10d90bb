"""Shared test configuration: hypothesis profiles.

``dev`` (default) explores new random examples on every run; ``ci`` (chosen when the
CI environment variable is set, as .ci/run does) derandomizes, so a CI run is
reproducible. Both drop hypothesis's per-example deadline: timings on a shared 2-core
machine are noise, and performance is measured by benchmarks/, not by tests.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
