"""Reddit OAuth polling against a local fake: token grant, User-Agent, paging, rate limits, failures."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from servers.base import Collector, Fail
from servers.reddit import FakeReddit, link

from tocsin.config.settings import RedditSourceSettings, Settings, TopicSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.net import Backoff
from tocsin.sources.reddit import RedditSource, build, post_to_mention

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SERVER = FakeReddit
T = NOW.timestamp()


def make(server: FakeReddit, clock: ManualClock, **kw) -> RedditSource:
    opts = {
        "base_url": server.url,
        "auth_url": server.url,
        "client_id": "app-id",
        "client_secret": "app-secret",
        "username": "brioche_desk",
        "queries": ["maison brioche"],
        "interval": 60.0,
        "backoff": Backoff(2.0, 120.0, jitter=0),
        "rng": random.Random(1),
    }
    opts.update(kw)
    return RedditSource("reddit", clock, **opts)


def test_post_to_mention() -> None:
    m = post_to_mention(
        link(1, "Maison Brioche #BriocheGate", T - 60, selftext="Vu en boutique")["data"],
        source="reddit",
        received_at=NOW,
    )
    assert m.uid == "t3_p1" and m.url == "https://www.reddit.com/r/france/comments/p1/slug/"
    assert m.text == "Maison Brioche #BriocheGate\n\nVu en boutique" and m.hashtags == ("briochegate",)
    assert m.author.handle == "user1" and m.author.followers is None  # Reddit does not say
    assert m.engagement.likes == 11 and m.engagement.replies == 1 and m.extra["subreddit"] == "france"
    assert m.created_at == datetime.fromtimestamp(T - 60, UTC)


async def test_token_user_agent_listing_and_dedupe(server, clock) -> None:
    server.add("search:maison brioche", link(1, "Maison Brioche a", T - 300))
    server.add("search:maison brioche", link(2, "Maison Brioche b", T - 200))
    server.add("r/france", link(2, "Maison Brioche b", T - 200))  # found twice: sent once
    server.add("r/france", link(3, "autre chose", T - 100))
    source = make(server, clock, subreddits=["r/france"])
    run = Collector(source).start()
    await run.wait_for(3)
    assert [m.uid for m in run.got] == ["t3_p1", "t3_p2", "t3_p3"]
    assert (
        server.listing_requests[0]["ua"].startswith("python:tocsin:")
        and "(by /u/brioche_desk)" in server.listing_requests[0]["ua"]
    )
    first = server.listing_requests[0]
    assert (first["q"], first["sort"], first["limit"], first["raw_json"]) == (
        "maison brioche",
        "new",
        "100",
        "1",
    )
    await run.until(lambda: len(server.listing_requests) >= 4)
    server.add("search:maison brioche", link(4, "Maison Brioche c", T))
    await run.wait_for(4)
    await run.stop()
    assert [m.uid for m in run.got][-1] == "t3_p4"
    assert server.tokens_issued == ["tok0"]  # the token is reused until it expires
    assert json.loads(source.cursor or "{}")["search:maison brioche"][:3] == ["t3_p4", "t3_p2", "t3_p1"]


async def test_pages_back_to_the_last_seen_post(server, clock) -> None:
    key = "search:maison brioche"
    server.add(key, link(1, "Maison Brioche old", T - 1000))
    source = make(server, clock, limit=10)
    run = Collector(source).start()
    await run.wait_for(1)
    await run.until(lambda: len(server.listing_requests) >= 2)
    for i in range(25):  # a burst: more than two pages of new posts
        server.add(key, link(10 + i, f"Maison Brioche {i}", T + i))
    await run.wait_for(26)
    await run.stop()
    assert [m.uid for m in run.got[1:]] == [f"t3_p{10 + i}" for i in range(25)]
    assert any(r.get("after") for r in server.listing_requests)


async def test_rate_limit_headers_are_obeyed(server, clock) -> None:
    server.remaining = 1.0  # the next answer says 0 left
    server.reset = 240
    server.add("search:maison brioche", link(1, "Maison Brioche", T))
    source = make(server, clock)
    run = Collector(source).start()
    await run.wait_for(1)
    await run.until(lambda: len(clock.sleeps) >= 1)
    await run.stop()
    assert clock.sleeps[0] == 240.0


async def test_429_and_5xx(server, clock) -> None:
    server.add("search:maison brioche", link(1, "Maison Brioche", T))
    server.plan = [
        Fail(429, {"message": "Too Many Requests", "error": 429}, {"Retry-After": "30"}),
        Fail(500, {"message": "Internal Server Error", "error": 500}),
    ]
    source = make(server, clock)
    run = Collector(source).start()
    await run.wait_for(1)
    await run.stop()
    assert clock.sleeps[:2] == [30.0, 4.0]


async def test_expired_token_is_renewed_once(server, clock) -> None:
    server.add("search:maison brioche", link(1, "Maison Brioche", T))
    source = make(server, clock)
    run = Collector(source).start()
    await run.wait_for(1)
    server.revoke_all()
    server.add("search:maison brioche", link(2, "Maison Brioche 2", T + 1))
    await run.wait_for(2)
    await run.stop()
    assert server.tokens_issued == ["tok0", "tok1"]
    assert source.status().state is SourceState.STOPPED and source.status().reconnects == 0


async def test_bad_credentials_fail_clearly_and_stop_retrying(server, clock) -> None:
    source = make(server, clock, client_secret="wrong", auth_retries=2, auth_retry_delay=300.0)
    run = Collector(source).start()
    await run.ended()
    status = source.status()
    assert status.state is SourceState.FAILED
    assert "401" in (status.last_error or "") and "REDDIT_CLIENT_SECRET" in (status.last_error or "")
    assert clock.sleeps == [300.0, 600.0] and server.listing_requests == []


async def test_missing_credentials_fail_without_a_request(server, clock) -> None:
    source = make(server, clock, client_id=None)
    run = Collector(source).start()
    await run.ended()
    assert source.status().state is SourceState.FAILED and "REDDIT_CLIENT_ID" in (
        source.status().last_error or ""
    )
    assert server.tokens_issued == []


async def test_resume_from_cursor_stops_at_known_posts(server, clock) -> None:
    key = "search:maison brioche"
    server.add(key, link(1, "Maison Brioche old", T - 100))
    server.add(key, link(2, "Maison Brioche new", T))
    source = make(server, clock, cursor=json.dumps({key: ["t3_p1"]}))
    run = Collector(source).start()
    await run.wait_for(1)
    await run.stop()
    assert [m.uid for m in run.got] == ["t3_p2"]


def test_factory(clock) -> None:
    settings = Settings(topics=(TopicSettings(id="b", keywords=("maison brioche", "#briochegate")),))
    cfg = RedditSourceSettings(
        type="reddit", id="r", client_id="i", client_secret="s", subreddits=("france",)
    )
    source = build(cfg, clock, settings)
    assert source.listings == ("search:maison brioche", "search:briochegate", "r/france")
    assert source.user_agent().startswith("python:tocsin:")
