"""Hacker News polling against a local fake Algolia: cursor, paging, dedupe, failures."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from servers.algolia import T0, FakeAlgolia, comment, story
from servers.base import Collector, Fail

from tocsin.config.settings import HackerNewsSourceSettings, Settings, TopicSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.hackernews import HackerNewsSource, build, hit_to_mention
from tocsin.sources.net import Backoff

NOW = datetime.fromtimestamp(T0 + 600, UTC)
SERVER = FakeAlgolia


def make(server: FakeAlgolia, clock: ManualClock, **kw) -> HackerNewsSource:
    opts = {
        "base_url": server.url + "/api/v1",
        "queries": ["maison brioche"],
        "interval": 60.0,
        "lookback": 3600.0,
        "backoff": Backoff(5.0, 300.0, jitter=0),
        "rng": random.Random(1),
    }
    opts.update(kw)
    return HackerNewsSource("hn", clock, **opts)


def test_hit_to_mention_story_and_comment() -> None:
    s = hit_to_mention(story(1, "Maison Brioche recall", T0), source="hn", received_at=NOW)
    assert (s.uid, s.url, s.text, s.author.handle) == (
        "1",
        "https://news.ycombinator.com/item?id=1",
        "Maison Brioche recall",
        "pg",
    )
    assert (
        s.engagement.likes == 42 and s.engagement.replies == 7 and s.extra["link"] == "https://blog.example/1"
    )
    assert s.created_at == datetime.fromtimestamp(T0, UTC)
    c = hit_to_mention(
        comment(2, "<p>Maison Brioche &amp; co.<p>Second <i>para</i>", T0, parent=1),
        source="hn",
        received_at=NOW,
    )
    assert c.text == "Maison Brioche & co.\n\nSecond para" and c.reply_to == "1"
    assert c.engagement.likes is None and c.extra["story_title"] == "Ask HN: bakeries"
    with pytest.raises(ValueError):
        hit_to_mention({"objectID": "3"}, source="hn", received_at=NOW)


async def test_polls_with_a_created_at_cursor_and_no_duplicates(server, clock) -> None:
    server.items = [
        story(1, "Maison Brioche: old news", T0 - 7200),
        story(2, "Maison Brioche recall", T0 - 60),
        comment(3, "maison brioche again", T0 - 60, parent=2),
        story(4, "unrelated", T0),
    ]
    source = make(server, clock)
    run = Collector(source).start()
    await run.wait_for(2)
    assert [m.uid for m in run.got] == ["2", "3"]  # the lookback hour only; same second: both kept
    first = server.queries[0]
    assert first["numericFilters"] == f"created_at_i>={int(NOW.timestamp()) - 3600}"
    assert first["tags"] == "(story,comment)" and first["query"] == "maison brioche"
    await run.until(lambda: len(server.queries) >= 2)
    assert server.queries[1]["numericFilters"] == f"created_at_i>={T0 - 60}"
    server.items.append(story(5, "Maison Brioche answers", T0 + 30))
    await run.wait_for(3)
    await run.stop()
    assert [m.uid for m in run.got] == ["2", "3", "5"]
    assert json.loads(source.cursor or "{}") == {"maison brioche": T0 + 30}
    assert set(clock.sleeps) == {60.0}


async def test_pages_through_a_burst_oldest_first(server, clock) -> None:
    server.items = [story(100 + i, f"Maison Brioche #{i}", T0 - 500 + i) for i in range(250)]
    source = make(server, clock, hits_per_page=100)
    run = Collector(source).start()
    await run.wait_for(250)
    await run.stop()
    assert [m.uid for m in run.got] == [str(100 + i) for i in range(250)]
    assert [q["page"] for q in server.queries[:3]] == ["0", "1", "2"]


async def test_resume_from_cursor(server, clock) -> None:
    server.items = [story(1, "Maison Brioche a", T0 - 100), story(2, "Maison Brioche b", T0 - 10)]
    source = make(server, clock, cursor=json.dumps({"maison brioche": T0 - 50}))
    run = Collector(source).start()
    await run.wait_for(1)
    await run.stop()
    assert [m.uid for m in run.got] == ["2"]


async def test_429_retry_after_5xx_and_malformed(server, clock) -> None:
    server.items = [story(1, "Maison Brioche", T0)]
    server.plan = [
        Fail(429, {"message": "Too many requests"}, {"Retry-After": "120"}),
        Fail(500, "err"),
        Fail(200, "<html>not json</html>"),
    ]
    source = make(server, clock)
    run = Collector(source).start()
    await run.wait_for(1)
    await run.stop()
    assert clock.sleeps[:3] == [
        120.0,
        10.0,
        60.0,
    ]  # as told; back-off (5 s doubled); a bad answer waits a poll
    assert source.status().malformed == 1


async def test_403_is_bounded(server, clock) -> None:
    server.plan = [Fail(403, {"message": "Invalid Application-ID or API key"})] * 5
    source = make(server, clock, auth_retries=1, auth_retry_delay=100.0)
    run = Collector(source).start()
    await run.ended()
    assert len(server.queries) == 2 and clock.sleeps == [100.0]
    assert source.status().state is SourceState.FAILED
    assert "Invalid Application-ID" in (source.status().last_error or "")


def test_factory_queries_from_topics(clock) -> None:
    settings = Settings(
        topics=(TopicSettings(id="b", keywords=("maison brioche", "#MaisonBrioche", "@maisonbrioche")),)
    )
    source = build(HackerNewsSourceSettings(type="hackernews", id="hn"), clock, settings)
    assert source.queries == ("maison brioche", "MaisonBrioche")
    explicit = build(
        HackerNewsSourceSettings(type="hackernews", id="hn", queries=("brioche",)), clock, settings
    )
    assert explicit.queries == ("brioche",)
