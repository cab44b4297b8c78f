"""The demo keeps to itself (issue 10, item 9).

Reproduced before: with no journal configured, ``tocsin demo`` wrote thousands of fictional mentions,
volume minutes and its incidents into the user's real ``journal.sqlite``; simulated and wall-clock times
then mixed in one timeline (a recorded SLA breach beside "29m left")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config.loader import load_default
from tocsin.config.settings import JsonlSourceSettings, Settings, TopicSettings
from tocsin.journal.api import Journal, journal_path
from tocsin.journal.errors import JournalUnavailable
from tocsin.sources.clock import SimulatedClock, WallClock

from .conftest import team_settings

LIVE = Settings(
    topics=(TopicSettings(id="b", keywords=("brioche",)),),
    sources=(JsonlSourceSettings(type="jsonl", id="f", path="live.jsonl"),),
)
REPLAY = Settings(
    topics=LIVE.topics, sources=(JsonlSourceSettings(type="jsonl", id="f", path="old.jsonl", speed=60),)
)


def test_the_demo_and_replays_default_to_a_journal_beside_the_real_one() -> None:
    real = journal_path(LIVE, env={})
    assert real.name == "journal.sqlite"
    for simulated in (load_default(), REPLAY):
        path = journal_path(simulated, env={})
        assert path.name == "demo-journal.sqlite" and path.parent == real.parent


async def test_a_journal_refuses_a_desk_on_the_other_kind_of_clock(journal_location: str) -> None:
    settings = team_settings(journal_location)
    real = await Journal.open(settings, clock=WallClock(), desk_clock=True)
    await real.close()
    demo_clock = SimulatedClock(datetime(2026, 11, 21, tzinfo=UTC), speed=30)
    with pytest.raises(JournalUnavailable, match=r"wall clock .* simulated clock .* its own journal"):
        await Journal.open(settings, clock=demo_clock, desk_clock=True)
    again = await Journal.open(settings, clock=WallClock(), desk_clock=True)  # the real desk still opens
    await again.close()
    reader = await Journal.open(settings, clock=demo_clock)  # reading (CLI, reports) is not a desk run
    await reader.close()


async def test_a_demo_journal_refuses_the_real_desk(journal_location: str) -> None:
    settings = team_settings(journal_location)
    demo = await Journal.open(
        settings, clock=SimulatedClock(datetime(2026, 11, 21, tzinfo=UTC)), desk_clock=True
    )
    await demo.close()
    with pytest.raises(JournalUnavailable, match="simulated clock"):
        await Journal.open(settings, clock=WallClock(), desk_clock=True)
