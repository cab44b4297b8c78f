"""Fixtures for the source tests. The fake platform servers live in ``tests/sources/servers/``.

A platform's test module names its moment and its fake server, and gets both as fixtures:
``NOW = datetime(…)`` gives ``clock`` (a manual clock at that moment), ``SERVER = FakeMastodon`` gives
``server`` (that fake, running for the test). A module may still define its own fixture of the name.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tocsin.sources.clock import ManualClock

# pytest runs with --import-mode=importlib: make the fake servers importable as ``servers.*``.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ManualClock:
    """A manual clock at the test module's ``NOW``."""
    return ManualClock(request.module.NOW)


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The test module's fake platform (``SERVER``), started before the test and stopped after it."""
    async with request.module.SERVER() as srv:
        yield srv
