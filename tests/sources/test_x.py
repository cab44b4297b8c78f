"""X filtered stream against a local fake: rule sync, keep-alives, documented back-off, failures, and the
catch-up through recent search after a drop or a restart."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from servers.base import STALL, Collector, Fail
from servers.xapi import FakeX, snowflake, tweet

from tocsin.config.settings import Settings, TopicSettings, XSourceSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.net import Backoff
from tocsin.sources.x import (
    MAX_RULE_LENGTH,
    XSource,
    build,
    build_rules,
    tweet_time,
    tweet_to_mention,
)

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SERVER = FakeX
TOPICS = (
    TopicSettings(
        id="brioche",
        keywords=("maison brioche", "#briochegate", "@maisonbrioche", "brioche*"),
        exclude=("brioche recipe",),
    ),
)


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
    source = build(
        XSourceSettings(type="x", id="x", bearer_token="t", rules=("from:lemondefr brioche",)),
        clock,
        settings,
    )
    assert [r["tag"] for r in source.rules] == ["tocsin:brioche", "tocsin:extra#1"]
    assert source.kind == "x" and source.watchdog == 30.0 and source.catch_up is True
    off = build(XSourceSettings(type="x", id="x", bearer_token="t", catch_up=False), clock, settings)
    assert off.catch_up is False


# --- catch-up through recent search ---------------------------------------------------------------


def post(server: FakeX, minutes_ago: float, text: str = "maison brioche", **kw) -> str:
    """Publish a tweet posted ``minutes_ago`` before NOW (live streams get it; search keeps it)."""
    when = NOW - timedelta(minutes=minutes_ago)
    tid = snowflake(when)
    server.publish(tweet(tid, f"{text} {tid[-6:]}", created=when, **kw))
    return tid


async def drop_while_posting(server: FakeX, posting) -> None:
    """Cut the stream and hold the reconnect back while ``posting()`` publishes (the gap), then let it in."""
    server.hold()
    n = len(server.connects)
    server.drop_all()
    await server.wait_connects(n + 1)
    posting()
    server.release()
    await server.wait_live(n + 1)


def test_tweet_time_reads_snowflakes() -> None:
    when = datetime(2026, 11, 21, 9, 30, 15, 250_000, tzinfo=UTC)
    assert tweet_time(snowflake(when, 7)) == when
    assert tweet_time("101") is None and tweet_time("x") is None


async def test_a_drop_is_caught_up_every_tweet_once_in_order(server, clock) -> None:
    server.now = clock.now
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(1)
    ids = [post(server, 30), post(server, 29)]
    await run.wait_for(2)
    assert server.searches == []  # the first connection has nothing to catch up

    def during_the_search(_params: dict[str, str]) -> None:
        if len(server.searches) == 1:  # posted while the search runs: it reaches both search and stream
            ids.append(post(server, 24, user="nadia"))

    server.on_search = during_the_search
    await drop_while_posting(
        server, lambda: ids.extend([post(server, 28), post(server, 27), post(server, 26)])
    )
    await run.wait_for(6)
    ids += [post(server, 20), post(server, 19)]
    await run.wait_for(8)
    await run.stop()
    assert [m.uid for m in run.got] == ids  # oldest first, the overlap with the stream dropped
    search = server.searches[0]
    assert search["query"] == source.rules[0]["value"] and search["since_id"] == ids[1]
    assert search["max_results"] == "100" and search["expansions"] == "author_id"
    assert "until_id" not in search and len(server.searches) == 1
    caught = run.got[2:6]
    assert all(m.extra.get("catch_up") for m in caught) and not run.got[6].extra.get("catch_up")
    assert caught[-1].author.handle == "nadia" and caught[0].author.followers == 5300
    assert caught[0].extra["rules"] == ["tocsin:brioche"] and caught[0].created_at == NOW - timedelta(
        minutes=28
    )
    assert source.recovered == 4 and source.cursor == ids[-1] and not source.catch_up_pending
    assert source.catch_up_note is None


async def test_catch_up_pages_through_every_rule_and_dedupes_across_rules(server, clock) -> None:
    server.now = clock.now
    topics = (*TOPICS, TopicSettings(id="croissant", keywords=("croissant",)))
    source = make(server, clock, rules=build_rules(topics), catch_up_page_size=10)
    run = Collector(source).start()
    await server.wait_live(1)
    first = post(server, 60)
    await run.wait_for(1)
    gap: list[str] = []

    def posting() -> None:
        for i in range(25):
            both = i % 10 == 3  # a few tweets match both rules
            rules = ("tocsin:brioche", "tocsin:croissant") if both else ("tocsin:brioche",)
            gap.append(post(server, 50 - i, rules=rules))
        gap.extend([post(server, 20, "croissant", rule="tocsin:croissant"), post(server, 19, "croissant")])

    await drop_while_posting(server, posting)
    await run.wait_for(28)
    await run.stop()
    assert [m.uid for m in run.got] == [first, *sorted(gap, key=int)]
    brioche = [q for q in server.searches if "croissant" not in q["query"]]
    croissant = [q for q in server.searches if "croissant" in q["query"]]
    assert len(brioche) == 3 and "next_token" not in brioche[0]
    assert brioche[1]["next_token"] and brioche[2]["next_token"] != brioche[1]["next_token"]
    assert all(q["since_id"] == first and q["max_results"] == "10" for q in server.searches)
    assert len(croissant) == 1
    both = next(m for m in run.got if m.uid == gap[3])
    assert both.extra["rules"] == ["tocsin:brioche", "tocsin:croissant"]
    assert source.recovered == 27


async def test_catch_up_disabled_sends_no_search(server, clock) -> None:
    server.now = clock.now
    source = make(server, clock, catch_up=False)
    run = Collector(source).start()
    await server.wait_live(1)
    first = post(server, 30)
    await run.wait_for(1)
    await drop_while_posting(server, lambda: post(server, 28))
    live = post(server, 20)
    await run.wait_for(2)
    await run.stop()
    assert [m.uid for m in run.got] == [first, live] and server.searches == []


async def test_429_in_catch_up_keeps_streaming_says_so_and_retries_after_the_reset(server, clock) -> None:
    server.now = clock.now
    reset = int(NOW.timestamp()) + 900
    server.search_plan = [Fail(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)})]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(1)
    first = post(server, 30)
    await run.wait_for(1)
    gap: list[str] = []
    await drop_while_posting(server, lambda: gap.extend([post(server, 28), post(server, 27)]))
    live = post(server, 1)
    await run.wait_for(2)
    status = source.status()
    assert status.state is SourceState.LIVE and [m.uid for m in run.got] == [first, live]
    assert "catch-up incomplete" in (status.last_error or "") and "429" in (status.last_error or "")
    assert "10:15:00" in (status.last_error or "") and source.catch_up_pending
    assert clock.sleeps == [0.25]  # the stream did not wait for the rate limit
    await asyncio.sleep(0.2)  # keep-alives come and go: the retry waits for the reset
    assert len(server.searches) == 1
    clock.advance(900)
    await run.wait_for(4)
    await run.stop()
    assert [m.uid for m in run.got] == [first, live, *gap]
    retry = server.searches[1]
    assert retry["since_id"] == first and retry["until_id"] == live  # only the gap, not what streamed since
    assert not source.catch_up_pending and source.catch_up_note is None
    assert source.status().last_error is None and len(server.searches) == 2


async def test_spent_rate_limit_defers_the_next_page_instead_of_a_429(server, clock) -> None:
    server.now = clock.now
    server.search_limit = 1
    source = make(server, clock, catch_up_page_size=10)
    run = Collector(source).start()
    await server.wait_live(1)
    first = post(server, 40)
    await run.wait_for(1)
    gap: list[str] = []
    await drop_while_posting(server, lambda: gap.extend(post(server, 30 - i) for i in range(15)))
    await run.wait_for(11)
    assert [m.uid for m in run.got] == [first, *gap[5:]]  # the newest page, oldest first
    assert "catch-up incomplete" in (source.status().last_error or "") and len(server.searches) == 1
    clock.advance(15 * 60)
    await run.wait_for(16)
    await run.stop()
    assert sorted(m.uid for m in run.got[11:]) == gap[:5] and len({m.uid for m in run.got}) == 16
    assert len(server.searches) == 2 and server.searches[1]["until_id"] == gap[5]
    assert "next_token" not in server.searches[1] and source.catch_up_note is None


async def test_resume_from_a_saved_cursor_catches_up_at_start(server, clock) -> None:
    server.now = clock.now
    server.rules = [{"id": "7", **build_rules(TOPICS)[0]}]
    post(server, 90)
    saved = post(server, 60)
    later = [post(server, 45), post(server, 44)]
    source = make(server, clock, cursor=saved)
    run = Collector(source).start()
    await run.wait_for(2)
    await server.wait_live(1)
    live = post(server, 1)
    await run.wait_for(3)
    await run.stop()
    assert [m.uid for m in run.got] == [*later, live]
    assert server.searches[0]["since_id"] == saved and len(server.searches) == 1


async def test_a_gap_longer_than_seven_days_recovers_what_it_can_and_says_what_is_lost(server, clock) -> None:
    server.now = clock.now
    server.rules = [{"id": "7", **build_rules(TOPICS)[0]}]
    saved = snowflake(NOW - timedelta(days=9))
    recent = post(server, 3 * 24 * 60)
    source = make(server, clock, cursor=saved)
    run = Collector(source).start()
    await run.wait_for(1)
    await server.wait_live(1)
    await run.stop()
    assert [m.uid for m in run.got] == [recent]
    search = server.searches[0]
    assert "since_id" not in search and search["start_time"] == "2026-11-14T10:02:00Z"
    note = source.status().last_error or ""
    assert "longer than the 7 days" in note and "2026-11-12 10:00 UTC to 2026-11-14 10:02 UTC" in note
    assert source.catch_up_note == note and not source.catch_up_pending


async def test_a_gap_before_any_tweet_starts_at_the_last_sign_of_life(server, clock) -> None:
    server.now = clock.now
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(1)
    await asyncio.sleep(0.1)  # keep-alives only
    gap: list[str] = []
    await drop_while_posting(server, lambda: gap.append(post(server, 0)))
    await run.wait_for(1)
    await run.stop()
    assert [m.uid for m in run.got] == gap
    assert server.searches[0]["start_time"] == "2026-11-21T09:59:30Z" and "since_id" not in server.searches[0]


async def test_search_refused_to_the_token_turns_catch_up_off_not_the_stream(server, clock) -> None:
    server.now = clock.now
    server.search_plan = [Fail(403, {"title": "Forbidden", "detail": "client-not-enrolled"})]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(1)
    first = post(server, 30)
    await run.wait_for(1)
    await drop_while_posting(server, lambda: post(server, 28))
    live = post(server, 10)
    await run.wait_for(2)
    assert "catch-up unavailable" in (source.status().last_error or "")
    assert "client-not-enrolled" in (source.status().last_error or "")
    await drop_while_posting(server, lambda: post(server, 8))
    last = post(server, 5)
    await run.wait_for(3)
    await run.stop()
    assert [m.uid for m in run.got] == [first, live, last] and len(server.searches) == 1
    assert source.status().state is SourceState.STOPPED


async def test_a_failing_catch_up_is_retried_with_back_off_then_given_up(server, clock) -> None:
    server.now = clock.now
    server.search_plan = [Fail(503, {"title": "Service Unavailable"}) for _ in range(5)]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(1)
    post(server, 30)
    await run.wait_for(1)
    await drop_while_posting(server, lambda: post(server, 28))
    for n in range(2, 6):
        # the failure is counted by the server before the source hears of it: advance the clock only
        # once the source has scheduled its retry, or the retry would be scheduled after the jump
        await run.until(lambda: "catch-up incomplete" in (source.status().last_error or ""))
        await run.until(lambda: source._retry_at is not None and source._retry_at > clock.now())
        clock.advance(400)  # past any back-off (5, 10, 20, 40 s… capped at 320 s)
        await run.until(lambda n=n: len(server.searches) >= n)
    await run.until(lambda: "catch-up gave up" in (source.status().last_error or ""))
    await run.stop()
    assert len(server.searches) == 5 and not source.catch_up_pending and len(run.got) == 1


async def test_without_rule_sync_the_streams_own_rules_are_searched(server, clock) -> None:
    server.now = clock.now
    server.rules = [{"id": "9", "value": "brioche lang:fr", "tag": "marketing"}]
    source = make(server, clock, sync_rules=False)
    run = Collector(source).start()
    await server.wait_live(1)
    first = post(server, 30, rule="marketing")
    await run.wait_for(1)
    gap: list[str] = []
    await drop_while_posting(server, lambda: gap.append(post(server, 28, rule="marketing")))
    await run.wait_for(2)
    await run.stop()
    assert [m.uid for m in run.got] == [first, *gap] and run.got[1].extra["rules"] == ["marketing"]
    assert [q["query"] for q in server.searches] == ["brioche lang:fr"]
    assert server.rule_calls == [{"get": True}]  # read, never changed


async def test_a_garbled_search_answer_is_retried_after_the_network_back_off(server, clock) -> None:
    server.now = clock.now
    server.search_plan = [Fail(200, "<html>upstream hiccup</html>", {"Content-Type": "text/html"})]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_live(1)
    first = post(server, 30)
    await run.wait_for(1)
    gap: list[str] = []
    await drop_while_posting(server, lambda: gap.append(post(server, 28)))
    await run.until(lambda: "not JSON" in (source.status().last_error or ""))
    clock.advance(1)
    await run.wait_for(2)
    await run.stop()
    assert [m.uid for m in run.got] == [first, *gap] and len(server.searches) == 2
    assert source.status().last_error is None
