"""Hypothesis profiles for the fuzz tests (the whole folder runs in well under a minute on two cores).

`dev` (the default): 200 random examples per property, failures remembered in .hypothesis/ and
tried first next run. `ci` (when CI is set): the same count, derandomized, so a submission's
result does not depend on luck. `thorough`, for hunting by hand: 5000 random examples each:
HYPOTHESIS_PROFILE=thorough python -m pytest tests/fuzz
"""

import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=200, **_common)
settings.register_profile("ci", max_examples=200, derandomize=True, database=None, **_common)
settings.register_profile("thorough", max_examples=5000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
