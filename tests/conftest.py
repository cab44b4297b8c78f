"""Settings shared by every test folder: the hypothesis profiles of the fuzz suites.

``make test`` runs the ``ci`` profile: derandomized (the same examples every run, so a failure is
reproducible and a green run stays green) and bounded by each test's ``max_examples``. ``make fuzz``
runs the ``fuzz`` profile: random seeds and ten times the examples, for hunting rather than guarding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings

from tests.fakes import T0
from tocsin.config.i18n import use
from tocsin.sources.clock import ManualClock

settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz", max_examples=3000, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _desk_speaks_english() -> Iterator[None]:
    """A test that switches the desk to French (``desk.language: fr``) leaves the next one in English."""
    yield
    use("en")


@pytest.fixture
def clock() -> ManualClock:
    """A manual desk clock five minutes after the fakes' ``T0``."""
    return ManualClock(T0 + timedelta(minutes=5))
