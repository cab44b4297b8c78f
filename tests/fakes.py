"""Fakes shared by the scoring and desk tests: a word-list sentiment scorer, a source that plays a list,
mentions and settings in a few words."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime

from tocsin.config.settings import Settings, TopicSettings
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Author, Mention, SentimentScore

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

NEGATIVE = {"nul", "horrible", "scandale", "awful", "disgusting", "boycott"}
POSITIVE = {"adore", "love", "great", "délicieux", "excellent"}


class FakeSentiment:
    """Labels by word lists; records the batches it was given."""

    engine = "fake"
    note: str | None = None

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail
        self.closed = False
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        assert len(texts) == len(langs)
        self.batches.append(list(texts))
        if self.fail:
            raise RuntimeError("worker died")
        out = []
        for text in texts:
            words = set(text.lower().replace("#", " ").replace("!", " ").split())
            if words & NEGATIVE:
                out.append(SentimentScore("negative", 0.9, self.engine))
            elif words & POSITIVE:
                out.append(SentimentScore("positive", 0.8, self.engine))
            else:
                out.append(SentimentScore("neutral", 0.6, self.engine))
        return out

    async def close(self) -> None:
        self.closed = True


class ListSource(Source):
    """Plays a list of mentions, then finishes (or raises ``error`` after them)."""

    kind = "list"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        mentions: Iterable[Mention],
        *,
        error: Exception | None = None,
        hold_open: bool = False,
    ) -> None:
        super().__init__(source_id, clock)
        self.mentions = list(mentions)
        self.error = error
        self.hold_open = hold_open

    async def stream(self) -> AsyncIterator[Mention]:
        self.health.set_state(SourceState.LIVE)
        for m in self.mentions:
            if self.stopping:
                return
            self.health.event()
            yield m
            await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        if self.hold_open:  # a live source with nothing more to say
            await self._stopping.wait()
            return
        self.health.set_state(SourceState.FINISHED)


def mention(
    text: str,
    *,
    uid: str | None = None,
    at: datetime = T0,
    received: datetime | None = None,
    source: str = "test",
    handle: str = "someone",
    lang: str | None = None,
    hashtags: tuple[str, ...] | None = None,
    deleted: bool = False,
) -> Mention:
    from tocsin.sources.model import extract_hashtags

    return Mention(
        uid=uid or f"u{abs(hash((text, at, handle)))}",
        source=source,
        text=text,
        created_at=at,
        received_at=received or at,
        author=Author(handle=handle),
        lang=lang,
        hashtags=extract_hashtags(text) if hashtags is None else hashtags,
        deleted=deleted,
    )


BRIOCHE = TopicSettings(
    id="brioche",
    name="Maison Brioche",
    keywords=(
        "maison brioche",
        "maisonbrioche",
        "#maisonbrioche",
        "#briochegate",
        "@maisonbrioche",
        "brioche gate",
    ),
)


def settings_with(*topics: TopicSettings, **kw) -> Settings:
    return Settings(topics=topics or (BRIOCHE,), **kw)
