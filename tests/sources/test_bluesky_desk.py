"""Bluesky through the whole desk: a mention first shown without followers is updated when the profile
arrives, and a deleted post is marked — neither is counted twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from servers.base import Collector
from servers.jetstream import FakeJetstream, post_event, profile

from tocsin.config.settings import Settings, TopicSettings
from tocsin.desk.desk import Desk
from tocsin.sources.bluesky import BlueskySource
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import SentimentScore
from tocsin.sources.net import Backoff

NOW = datetime(2026, 5, 25, 14, 30, tzinfo=UTC)
SERVER = FakeJetstream
ALICE = "did:plc:alice000000000000000000"
TOPIC = TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",))


class Negative:
    """Every text is negative: the test is about revisions, not words."""

    engine = "fixed"
    note: str | None = None

    async def start(self) -> None: ...

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        return [SentimentScore("negative", 0.9, self.engine) for _ in texts]

    async def close(self) -> None: ...


async def test_the_wall_gets_the_followers_when_the_profile_arrives(server: FakeJetstream) -> None:
    clock = ManualClock(NOW)
    server.profiles[ALICE] = profile(ALICE, "alice.bsky.social", followers=240_000)
    source = BlueskySource(
        "sky",
        clock,
        endpoint=server.ws_url,
        appview_url=server.url,
        keywords=("maison brioche",),
        watchdog=2.0,
        backoff=Backoff(1.0, 60.0, jitter=0),
        rng=random.Random(1),
        hydrate=True,
        profile_requests_per_s=4.0,
    )
    desk = Desk(Settings(topics=(TOPIC,)), clock=clock, sources=[source], sentiment=Negative())
    await desk.start()
    try:
        await server.wait_connects(1)
        server.post(ALICE, "3i00", "maison brioche: du plastique dans ma brioche")
        wait = Collector(source)  # for its polling helper only: the desk consumes the source
        await wait.until(lambda: len(desk.feed_since(0)) >= 2)
        bare, filled = desk.feed_since(0)
        assert bare.mention.uid == filled.mention.uid and filled.seq > bare.seq
        assert bare.mention.author.followers is None and filled.mention.revision == "author"
        author = filled.mention.author
        assert (author.handle, author.followers) == ("alice.bsky.social", 240_000)
        assert filled.scores["influence"]["score"] > bare.scores["influence"]["score"]
        await wait.until(lambda: desk.snapshot().topics["brioche"].influencers != ())
        desk.pipeline.publish_now()
        topic = desk.snapshot().topics["brioche"]
        assert topic.mentions == 1 and topic.unique_authors == 1
        (row,) = topic.influencers
        assert (row.handle, row.followers, row.mentions) == ("alice.bsky.social", 240_000, 1)

        server.publish(post_event(ALICE, "3i00", "", server.next_time(), op="delete"))
        await wait.until(lambda: len(desk.feed_since(0)) >= 3)
        gone = desk.feed_since(0)[-1]
        assert gone.mention.revision == "deleted" and gone.mention.uid == bare.mention.uid
        assert desk.pipeline.publish_now().topics["brioche"].mentions == 1
    finally:
        await desk.stop()
