"""Hypothesis profiles for the fuzz tests.

`ci` (the default) keeps the whole folder well under a minute on two cores; `thorough` is for
a person hunting bugs by hand: HYPOTHESIS_PROFILE=thorough python -m pytest tests/fuzz
"""

import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=200, **_common)
settings.register_profile("thorough", max_examples=5000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
