"""What the attached-desk tests share: a source the test feeds, an ingest desk and attached desks with
their sessions on one journal, and a wait for a condition. Kept free of ``tests.*`` imports: the
subprocess script ``_ingest_desk.py`` loads it by path."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from tocsin.config.settings import DeskSettings, Settings, TopicSettings
from tocsin.desk.attach import AttachedDesk
from tocsin.desk.desk import Desk
from tocsin.desk.ingest import IngestDesk
from tocsin.desk.session import JournalSession
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import Clock, WallClock
from tocsin.sources.model import Author, Mention, SentimentScore

BRIOCHE = TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",))


def team(journal: str, operator: str = "alice") -> Settings:
    return Settings(
        topics=(BRIOCHE,), desk=DeskSettings(name="brioche desk", operator=operator, journal=journal)
    )


def as_operator(settings: Settings, operator: str) -> Settings:
    return dataclasses.replace(settings, desk=dataclasses.replace(settings.desk, operator=operator))


def post(i: int, *, word: str = "nul") -> Mention:
    now = datetime.now(UTC)
    return Mention(
        uid=f"c{i}",
        source="feed",
        text=f"Maison Brioche c'est {word} ({i})",
        created_at=now,
        received_at=now,
        author=Author(handle=f"voice{i % 7}", followers=100 + i),
    )


class Sentiment:
    """Negative when the text says so: no model to load."""

    engine = "words"
    note: str | None = None

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        return [SentimentScore("negative" if "nul" in t else "neutral", 0.9, self.engine) for t in texts]


class FedSource(Source):
    """A live source the test (or a script) feeds with ``put``; its cursor is the last post's number,
    and ``resume`` starts after it (``resumed_from`` says where it was told to start)."""

    kind = "list"

    def __init__(self, source_id: str, clock: Clock) -> None:
        super().__init__(source_id, clock)
        self.queue: asyncio.Queue[Mention] = asyncio.Queue()
        self.resumed_from: int | None = None
        self._last: int | None = None

    def resume(self, cursor: str | None) -> None:
        if cursor:
            self.resumed_from = self._last = int(cursor)

    @property
    def cursor(self) -> str | None:
        return None if self._last is None else str(self._last)

    async def stream(self) -> AsyncIterator[Mention]:
        self.health.set_state(SourceState.LIVE)
        while not self.stopping:
            m = await self.queue.get()
            self.health.event()
            self._last = int(m.uid.lstrip("c"))
            yield m


class Ingest:
    """An ingest desk (``IngestDesk`` over a real ``Desk`` on a ``FedSource``) and its session."""

    def __init__(self, settings: Settings, *, lead_poll: float = 0.1) -> None:
        self.sources: list[FedSource] = []
        self.clock = WallClock()

        def make(clock: Clock) -> Desk:
            source = FedSource("feed", clock)
            self.sources.append(source)
            return Desk(settings, clock=clock, sources=[source], sentiment=Sentiment())

        self.desk = IngestDesk(settings, clock=self.clock, make_desk=make, lead_poll=lead_poll)
        self.session = JournalSession(settings, self.desk)

    async def start(self) -> None:
        await self.session.start()
        await self.desk.start()

    def put(self, *mentions: Mention) -> None:
        source = self.sources[-1]
        for m in mentions:
            source.queue.put_nowait(m)

    async def stop(self) -> None:
        await self.desk.stop()
        await self.session.stop()


class Attached:
    """An attached desk and its session (its own operator)."""

    def __init__(self, settings: Settings, operator: str) -> None:
        self.desk = AttachedDesk(as_operator(settings, operator))
        self.session = JournalSession(as_operator(settings, operator), self.desk)

    async def start(self) -> None:
        await self.session.start()
        await self.desk.start()

    async def stop(self) -> None:
        await self.desk.stop()
        await self.session.stop()

    def feed_uids(self) -> list[str]:
        return [m.mention.uid for m in self.desk.feed_since(0, 100_000)]


async def until(condition: Callable[[], object], within: float = 5.0, what: str = "") -> float:
    """Wait until ``condition()`` is true; returns how long it took (fails after ``within`` s)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        if loop.time() - start > within:
            raise AssertionError(f"not within {within} s: {what or condition}")
        await asyncio.sleep(0.02)
    return loop.time() - start
