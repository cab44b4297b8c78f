"""Helpers for the incident, review and session tests: a team's settings, an incident as the journal
folds it, a fake desk that feeds its batch listeners, scored mentions, a local webhook receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from tocsin.config.settings import (
    AlertSettings,
    DemoSourceSettings,
    DeskSettings,
    Settings,
    SlaSettings,
    TeamMember,
    TeamSettings,
    TopicSettings,
    UiSettings,
)
from tocsin.journal.model import Incident, Severity, State
from tocsin.scoring.levels import volume_ratio
from tocsin.scoring.snapshot import Snapshot, TopicSnapshot
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Mention, ScoredMention, SentimentScore

T0 = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # 10:30 in Paris


def team_settings(
    journal: Path,
    *,
    operator: str = "camille",
    alerts: Sequence[AlertSettings] = (),
    keymap: dict[str, str] | None = None,
) -> Settings:
    """The Maison Brioche desk with a roster, a two-step ladder, default SLAs and a tmp journal."""
    return Settings(
        desk=DeskSettings(
            name="Maison Brioche desk", operator=operator, timezone="Europe/Paris", journal=str(journal)
        ),
        topics=(TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",)),),
        sources=(DemoSourceSettings(type="demo", id="demo"),),
        team=TeamSettings(
            roster=(
                TeamMember("camille", "Camille Roux", "community-manager"),
                TeamMember("hugo", "Hugo Marchand", "head-of-comms"),
                TeamMember("ines", "Inès Garnier", "legal"),
            ),
            escalation=(("head-of-comms",), ("legal",)),
            sla=SlaSettings(),
        ),
        alerts=tuple(alerts),
        ui=UiSettings(refresh_hz=0.001, keymap=dict(keymap or {})),
    )


def with_operator(settings: Settings, operator: str) -> Settings:
    return replace(settings, desk=replace(settings.desk, operator=operator))


def scored(
    seq: int,
    text: str,
    *,
    at: datetime,
    label: str = "negative",
    handle: str = "lea_mtl",
    topics: tuple[str, ...] = ("brioche",),
    followers: int | None = 2300,
) -> ScoredMention:
    mention = Mention(
        uid=f"m{seq}",
        source="demo",
        text=text,
        created_at=at,
        received_at=at,
        url=f"https://example.social/@{handle}/{seq}",
        author=Author(handle=handle, followers=followers),
    )
    return ScoredMention(
        seq=seq,
        mention=mention,
        topics=topics,
        sentiment=SentimentScore(label=label, score=0.8, engine="lexicon"),  # type: ignore[arg-type]
    )


def topic_at(level: str, reasons: Sequence[str] = (), since: datetime | None = None) -> TopicSnapshot:
    return TopicSnapshot(
        id="brioche",
        name="Maison Brioche",
        rate_per_min=42.0,
        baseline_per_min=3.1,
        ratio=volume_ratio(42.0, 3.1),
        mentions=1234,
        unique_authors=512,  # fewer than the 720 mentions in the hour (the volume below)
        sentiment={"negative": 0.61, "neutral": 0.3, "positive": 0.09},
        volume=tuple([3] * 40 + [30] * 20),
        negative_trend=(0.1,) * 8 + (0.5, 0.6, 0.6, 0.61),
        level=level,  # type: ignore[arg-type]
        reasons=tuple(reasons),
        level_since=since,
    )


class SessionDesk:
    """Just what a JournalSession uses: a clock, snapshots, batch listeners, sources."""

    def __init__(self, clock: ManualClock | None = None, sources: Sequence[Any] = ()) -> None:
        self.clock = clock or ManualClock(T0)
        self.sources = list(sources)
        self.listeners: list[Callable[[Sequence[ScoredMention]], None]] = []
        self._snapshot = Snapshot(at=self.clock.now(), seq=0, topics={}, sources={}, engine="lexicon")

    def add_batch_listener(self, fn: Callable[[Sequence[ScoredMention]], None]) -> None:
        self.listeners.append(fn)

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def publish(self, *topics: TopicSnapshot) -> Snapshot:
        self._snapshot = Snapshot(
            at=self.clock.now(), seq=0, topics={t.id: t for t in topics}, sources={}, engine="lexicon"
        )
        return self._snapshot

    def batch(self, items: Sequence[ScoredMention]) -> None:
        for fn in self.listeners:
            fn(items)


class LevelDesk(SessionDesk):
    """A desk that reports level changes itself (``Desk.add_level_listener``)."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        super().__init__(clock)
        self.level_listeners: list[Callable[[str, Any, datetime], None]] = []

    def add_level_listener(self, fn: Callable[[str, Any, datetime], None]) -> None:
        self.level_listeners.append(fn)


@dataclass
class LevelState:
    level: str
    reasons: tuple[str, ...] = ()
    since: datetime | None = None


class CursorSource:
    """A source with a resume cursor, as the live ones have."""

    def __init__(self, source_id: str) -> None:
        self.id = source_id
        self.cursor: str | None = None
        self.resumed: list[str | None] = []

    def resume(self, cursor: str | None) -> None:
        self.resumed.append(cursor)
        self.cursor = cursor


@dataclass
class Receiver:
    """A local chat server: records what is posted; answers ``status``."""

    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200


async def webhook_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def hook(request: web.Request) -> web.Response:
        receiver.paths.append(request.path_qs)
        receiver.posts.append(json.loads(await request.read()))
        return web.Response(status=receiver.status, text="ok")

    app = web.Application()
    app.router.add_post("/hooks/{token}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}/hooks/s3cr3t-token"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def incident(**kw: object) -> Incident:
    """Incident #3, a SEV2 opened at ``T0`` ten minutes after its first signal; ``kw`` changes fields."""
    base: dict[str, object] = {
        "id": 3,
        "topic": "brioche",
        "title": "mould photo",
        "severity": Severity.SEV2,
        "state": State.OPEN,
        "opened_at": T0,
        "opened_by": "camille",
        "first_signal_at": T0 - minutes(10),
        "updated_at": T0,
        "last_event_id": 1,
    }
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]
