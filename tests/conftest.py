"""Shared pytest configuration: hypothesis profiles, import path, small fixtures.

Hypothesis profiles (select with ``HYPOTHESIS_PROFILE=name``; default "ci"):

* ``ci``   modest example counts, no deadline (the whole suite must run in a few minutes
  on a 2-core machine);
* ``dev``  a few more examples, for local runs;
* ``thorough`` many examples, for hunting bugs (minutes to hours).
"""

from __future__ import annotations

import os
import sys
import zlib

import numpy as np
import pytest

# The reference helpers (brute_force.py, reference.py) live beside the tests.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is in the "test" extra; tests that need it import-skip
    pass
else:
    _common = dict(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=False,
    )
    settings.register_profile("ci", max_examples=300, print_blob=True, database=None, **_common)
    settings.register_profile("dev", max_examples=500, **_common)
    settings.register_profile("thorough", max_examples=5000, **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A numpy Generator seeded from the test's node id: reproducible per test."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)
