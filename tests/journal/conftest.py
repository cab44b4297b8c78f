"""Shared fixtures for the journal tests: a team's settings, a manual desk clock, a fresh journal.

Every test that uses a journal through these fixtures (``journal``, ``settings``, ``journal_location``)
runs twice: on an SQLite file and on PostgreSQL (a throwaway server started once per session,
``tests/pgserver.py``, a new schema per test). A test of the SQLite file itself (WAL, PRAGMAs, damage,
the file's permissions) says so with ``@pytest.mark.sqlite_only`` and runs on SQLite alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.pgserver import PgServer, serve
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

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: a test of the SQLite file itself; not run on the PostgreSQL journal"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test that needs a journal location gets one per backend (SQLite alone if marked so)."""
    if "backend" not in metafunc.fixturenames:
        return
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
    metafunc.parametrize("backend", BACKENDS[:1] if only_sqlite else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL server for the session (skipped where PostgreSQL is not installed)."""
    yield from serve()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql`` (parametrized by ``pytest_generate_tests``)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def journal_location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A journal nobody has used: a file in tmp_path, or a new schema on the test server."""
    if backend == "postgresql":
        server: PgServer = request.getfixturevalue("pg_server")
        return server.fresh_journal_url()
    return str(tmp_path / "journal.sqlite")


def team_settings(journal: Path | str | None = None, **desk: object) -> Settings:
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
def settings(journal_location: str) -> Settings:
    return team_settings(journal_location)


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
