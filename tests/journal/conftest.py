"""Shared fixtures for the journal tests: a team's settings, a manual desk clock, a fresh journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tocsin.config.settings import (
    DeskSettings,
    Settings,
    SlaSettings,
    TeamMember,
    TeamSettings,
    TopicSettings,
)
from tocsin.journal.api import Journal
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Engagement, Mention

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def team_settings(journal: Path | None = None, **desk: object) -> Settings:
    """The Maison Brioche desk: a roster of three, a two-step ladder, default SLAs."""
    return Settings(
        desk=DeskSettings(
            name="brioche desk",
            operator="alice",
            timezone="Europe/Paris",
            journal=str(journal) if journal else None,
            **desk,  # type: ignore[arg-type]
        ),
        topics=(
            TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche", "#briochegate")),
            TopicSettings(id="rival", name="Rival", keywords=("rival",)),
        ),
        team=TeamSettings(
            roster=(
                TeamMember("alice", "Alice Martin", "community"),
                TeamMember("bob", "Bob Leroy", "community"),
                TeamMember("chloe", "Chloé Dubois", "comms-lead"),
                TeamMember("dan", "Dan Petit", "legal"),
            ),
            escalation=(("comms-lead",), ("legal", "comms-lead")),
            sla=SlaSettings(),
        ),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return team_settings(tmp_path / "journal.sqlite")


@pytest.fixture
async def journal(settings: Settings, clock: ManualClock) -> AsyncIterator[Journal]:
    j = await Journal.open(settings, clock=clock)
    try:
        yield j
    finally:
        await j.close()


def mention(
    uid: str = "m1",
    text: str = "Une souris dans ma brioche ! #BriocheGate",
    *,
    at: datetime = T0 - timedelta(minutes=20),
    handle: str = "lea_dupont",
    followers: int = 48_000,
    source: str = "demo",
) -> Mention:
    """A realistic mention of the storm."""
    return Mention(
        uid=uid,
        source=source,
        text=text,
        created_at=at,
        received_at=at + timedelta(seconds=2),
        url=f"https://social.example/@{handle}/{uid}",
        author=Author(handle=handle, name="Léa Dupont", followers=followers, following=310, posts=5400),
        lang="fr",
        hashtags=("briochegate",),
        engagement=Engagement(replies=120, reposts=900, likes=2400),
    )
