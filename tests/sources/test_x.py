"""X filtered stream against a local fake: rule sync, keep-alives, documented back-off, failures."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from servers.base import STALL, Collector, Fail
from servers.xapi import FakeX, tweet
from tocsin.config.settings import Settings, TopicSettings, XSourceSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.net import Backoff
from tocsin.sources.x import MAX_RULE_LENGTH, XSource, build_rules, build_x, tweet_to_mention

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
TOPICS = (
    TopicSettings(
        id="brioche",
        keywords=("maison brioche", "#briochegate", "@maisonbrioche", "brioche*"),
        exclude=("brioche recipe",),
    ),
)


@pytest.fixture
async def server() -> AsyncIterator[FakeX]:
    async with FakeX() as srv:
        yield srv  # type: ignore[misc]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def make(server: FakeX, clock: ManualClock, **kw) -> XSource:
    opts = {
        "base_url": server.url,
        "bearer_token": "AAAA-bearer",
        "rules": build_rules(TOPICS),
        "watchdog": 2.0,
        "backoff": Backoff(1.0, 60.0, jitter=0),
        "rng": random.Random(1),
    }
    opts.update(kw)
    return XSource("x", clock, **opts)


def test_rules_from_topics() -> None:
    rules = build_rules(TOPICS, extra=["brioche lang:fr -is:retweet"])
    assert rules[0] == {
        "value": '("maison brioche" OR #briochegate OR (@maisonbrioche OR from:maisonbrioche) OR brioche) '
        '-"brioche recipe"',
        "tag": "tocsin:brioche",
    }
    assert rules[1] == {"value": "brioche lang:fr -is:retweet", "tag": "tocsin:extra#1"}
    many = (TopicSettings(id="big", keywords=tuple(f"keyword{i:03d}" for i in range(120))),)
    split = build_rules(many)
    assert len(split) > 1 and all(len(r["value"]) <= MAX_RULE_LENGTH for r in split)
    assert [r["tag"] for r in split][:2] == ["tocsin:big#1", "tocsin:big#2"]
    assert sum(r["value"].count("keyword") for r in split) == 120


def test_tweet_to_mention() -> None:
    m = tweet_to_mention(
        tweet("1860000000000000001", "#BriocheGate encore", tags=("BriocheGate",)),
        source="x",
        received_at=NOW,
    )
    assert m.uid == "1860000000000000001" and m.url == "https://x.com/lea_b/status/1860000000000000001"
    assert (m.author.handle, m.author.name, m.author.followers, m.author.following, m.author.posts) == (
        "lea_b",
        "Lea_B",
        5300,
        310,
        12000,
    )
    assert m.author.verified is False and m.hashtags == ("briochegate",) and m.lang == "fr"
    assert (m.engagement.replies, m.engagement.reposts, m.engagement.likes) == (2, 4, 9)
    assert m.created_at == datetime(2026, 11, 21, 9, 58, tzinfo=UTC) and m.extra["rules"] == [
        "tocsin:brioche"
    ]
    bare = {"data": {"id": "5", "text": "x", "lang": "und", "created_at": "2026-11-21T09:00:00Z"}}
    b = tweet_to_mention(bare, source="x", received_at=NOW)
    assert b.author.handle == "" and b.url == "https://x.com/i/web/status/5" and b.lang is None


async def test_rules_are_synced_without_touching_foreign_rules(server, clock) -> None:
    server.rules = [
        {"id": "1", "value": "old value", "tag": "tocsin:brioche"},
        {"id": "2", "value": "someone else's rule", "tag": "marketing"},
    ]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(1)
    await run.stop()
    assert {"delete": {"ids": ["1"]}} in server.rule_calls
    assert any("add" in c for c in server.rule_calls)
    assert {r["tag"] for r in server.rules} == {"marketing", "tocsin:brioche"}
    assert next(r for r in server.rules if r["tag"] == "tocsin:brioche")["value"].startswith(
        '("maison brioche"'
    )


async def test_stream_keepalives_messages_and_malformed_lines(server, clock) -> None:
    source = make(server, clock, watchdog=0.3)
    run = Collector(source).start()
    await server.wait_live(1)
    assert server.connects[0]["expansions"] == "author_id"
    assert "public_metrics" in server.connects[0]["tweet.fields"]
    await asyncio.sleep(0.5)  # quiet but for keep-alives every 50 ms: no reconnect
    server.send(b"{broken json\r\n")
    server.send(tweet("101", "maison brioche"))
    server.send(tweet("101", "maison brioche"))  # a repeat is dropped
    server.send(b'{"data": {"text": "no id"}}\r\n')
    server.send(tweet("102", "#BriocheGate"))
    await run.wait_for(2)
    await run.stop()
    assert [m.uid for m in run.got] == ["101", "102"]
    assert source.status().malformed == 2 and len(server.connects) == 1
    assert source.cursor == "102"


async def test_drop_stall_and_operational_disconnect_use_the_network_back_off(server, clock) -> None:
    source = make(server, clock, watchdog=0.2)
    run = Collector(source).start()
    await server.wait_live(1)
    server.drop_all()
    await server.wait_live(2)
    server.send(
        {"errors": [{"title": "operational-disconnect", "disconnect_type": "UpstreamOperationalDisconnect"}]}
    )
    await server.wait_live(3)
    server.plan = [STALL]
    server.drop_all()
    await server.wait_live(5)
    server.send(tweet("200", "maison brioche"))
    await run.wait_for(1)
    await run.stop()
    # Linear 250 ms steps while failures follow each other; a healthy connection resets them.
    assert clock.sleeps == [0.25, 0.25, 0.25, 0.5]
    assert "stalled" in (source.status().last_error or "") and source.status().reconnects == 3


async def test_http_errors_and_429_back_off_as_documented(server, clock) -> None:
    server.plan = [
        Fail(503, {"title": "Service Unavailable"}),
        Fail(500, {"title": "Internal"}),
        Fail(429, {"title": "Too Many Requests"}),
        Fail(429, {"title": "Too Many Requests"}),
    ]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(5)
    await run.stop()
    assert clock.sleeps == [5.0, 10.0, 60.0, 120.0]


async def test_429_with_rate_limit_reset_header(server, clock) -> None:
    reset = int(NOW.timestamp()) + 600
    server.plan = [Fail(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)})]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(2)
    await run.stop()
    assert clock.sleeps == [600.0]


async def test_bad_token_fails_clearly_with_bounded_retries(server, clock) -> None:
    source = make(server, clock, bearer_token="wrong", auth_retries=1, auth_retry_delay=900.0)
    run = Collector(source).start()
    await run.ended()
    status = source.status()
    assert status.state is SourceState.FAILED and "401" in (status.last_error or "")
    assert "X_BEARER_TOKEN" in (status.last_error or "") and clock.sleeps == [900.0]


async def test_missing_token_or_rules_fail_clearly(clock) -> None:
    source = XSource("x", clock, bearer_token=None)
    assert [m async for m in source] == []
    assert source.status().state is SourceState.FAILED and "X_BEARER_TOKEN" in (
        source.status().last_error or ""
    )
    source = XSource("x", clock, bearer_token="t", rules=[])
    assert [m async for m in source] == []
    assert "no stream rules" in (source.status().last_error or "")


def test_factory(clock) -> None:
    settings = Settings(topics=TOPICS)
    source = build_x(
        XSourceSettings(type="x", id="x", bearer_token="t", rules=("from:lemondefr brioche",)),
        clock,
        settings,
    )
    assert [r["tag"] for r in source.rules] == ["tocsin:brioche", "tocsin:extra#1"]
    assert source.kind == "x" and source.watchdog == 30.0
