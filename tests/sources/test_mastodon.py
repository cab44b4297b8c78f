"""Mastodon SSE streams against a local fake instance: catch-up, drops, heartbeats, stalls, failures."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

from servers.base import STALL, Collector, Fail
from servers.mastodon import FakeMastodon, make_status

from tocsin.config.settings import MastodonSourceSettings, Settings, TopicSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.mastodon import MastodonSource, build, status_to_mention
from tocsin.sources.net import Backoff

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SERVER = FakeMastodon


def make(server: FakeMastodon, clock: ManualClock, **kw) -> MastodonSource:
    opts = {
        "base_url": server.url,
        "token": "user-token",
        "hashtags": ["BriocheGate"],
        "watchdog": 2.0,
        "backoff": Backoff(1.0, 60.0, jitter=0),
        "rng": random.Random(1),
    }
    opts.update(kw)
    return MastodonSource("masto", clock, **opts)


def test_status_to_mention_fields() -> None:
    srv_status = make_status(
        "7",
        '<p>Scandale chez <a href="https://x"><span class="h-card">@maisonbrioche</span></a> &amp; '
        '<a href="https://social.example/tags/BriocheGate" class="hashtag">#<span>BriocheGate</span></a></p>'
        "<p>second</p>",
        tags=("BriocheGate",),
        in_reply_to_id="42",
    )
    m = status_to_mention(srv_status, source="masto", received_at=NOW, host="social.example")
    assert m.uid == srv_status["uri"] and m.url == srv_status["url"]
    assert m.text == "Scandale chez @maisonbrioche & #BriocheGate\n\nsecond"
    assert m.hashtags == ("briochegate",)
    assert m.created_at == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert m.received_at == NOW and m.lang == "fr" and m.reply_to == "42"
    assert (m.author.handle, m.author.name, m.author.followers, m.author.following, m.author.posts) == (
        "lea@social.example", "Lea", 1200, 300, 5000)  # fmt: skip
    assert m.author.bot is False and m.author.verified is None
    assert (m.engagement.replies, m.engagement.reposts, m.engagement.likes) == (1, 2, 3)


async def test_catch_up_then_live_and_a_drop_leaves_no_gap_and_no_duplicate(server, clock) -> None:
    key = "tag:briochegate"
    s1 = server.post(key, server.status("<p>un</p>"), live=False)
    s2 = server.post(key, server.status("<p>deux</p>"), live=False)
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_streams(1)
    s3 = server.post(key, server.status("<p>trois</p>"))
    await run.wait_for(3)
    assert source.status().state is SourceState.LIVE
    # While the stream is cut, two statuses are posted that the stream will never carry.
    s4 = server.post(key, server.status("<p>quatre</p>"), live=False)
    s5 = server.post(key, server.status("<p>cinq</p>"), live=False)
    server.drop_streams()
    await server.wait_streams(2)
    server.post(key, s5)  # the stream also delivers one the catch-up already gave: no duplicate
    s6 = server.post(key, server.status("<p>six</p>"))
    await run.wait_for(6)
    await asyncio.sleep(0.05)
    await run.stop()
    assert [m.uid for m in run.got] == [s["uri"] for s in (s1, s2, s3, s4, s5, s6)]
    assert [m.text for m in run.got] == ["un", "deux", "trois", "quatre", "cinq", "six"]
    # The reconnect read the timeline forward from the newest status seen, with min_id.
    assert any(r.get("min_id") == s3["id"] for r in server.timeline_requests)
    assert server.stream_requests[0]["tag"] == "briochegate"
    assert source.status().reconnects == 1
    assert clock.sleeps == [1.0]
    assert json.loads(source.cursor or "{}") == {
        f"{server.server.host}:{server.server.port}|hashtag:briochegate": s6["id"]
    }


async def test_resume_from_cursor_reads_only_what_was_missed(server, clock) -> None:
    key = "tag:briochegate"
    old = server.post(key, server.status("<p>déjà vu</p>"), live=False)
    new = server.post(key, server.status("<p>nouveau</p>"), live=False)
    netloc = f"{server.server.host}:{server.server.port}"
    source = make(server, clock, cursor=json.dumps({f"{netloc}|hashtag:briochegate": old["id"]}))
    run = Collector(source).start()
    await run.wait_for(1)
    await asyncio.sleep(0.05)
    await run.stop()
    assert [m.uid for m in run.got] == [new["uri"]]
    assert server.timeline_requests[0]["min_id"] == old["id"]


async def test_heartbeats_keep_a_quiet_stream_and_a_stall_reconnects(server, clock) -> None:
    source = make(server, clock, watchdog=0.3)
    run = Collector(source).start()
    await server.wait_streams(1)
    await asyncio.sleep(0.6)  # quiet but for :thump every 50 ms
    assert len(server.stream_requests) == 1 and source.status().reconnects == 0
    await run.stop()

    server.stream_plan = [STALL]  # accepted, ":)", then silence
    clock2 = ManualClock(NOW)
    source = make(server, clock2, watchdog=0.2)
    run = Collector(source).start()
    await server.wait_streams(3)
    status = server.post("tag:briochegate", server.status("<p>après</p>"))
    got = await run.wait_for(1)
    await run.stop()
    assert got[0].uid == status["uri"]
    assert source.status().reconnects == 1
    assert clock2.sleeps == [1.0]


async def test_auth_failure_is_reported_once_with_bounded_retries(server, clock, caplog) -> None:
    source = make(server, clock, token=None, auth_retries=2, auth_retry_delay=300.0)
    run = Collector(source).start()
    await run.ended()
    status = source.status()
    assert status.state is SourceState.FAILED
    assert "401" in (status.last_error or "") and "Missing access token" in (status.last_error or "")
    assert "MASTODON_TOKEN" in (status.last_error or "")
    assert "gave up after 3 attempts" in (status.last_error or "")
    assert len(server.stream_requests) == 3
    assert clock.sleeps == [300.0, 600.0]
    assert run.got == []
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2  # the failure, then the giving up: not one line per retry


async def test_429_retry_after_and_5xx_back_off(server, clock) -> None:
    server.stream_plan = [
        Fail(429, {"error": "Too many requests"}, {"Retry-After": "42"}),
        Fail(502, "Bad Gateway"),
        Fail(503, "down"),
    ]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_streams(4)
    status = server.post("tag:briochegate", server.status("<p>enfin</p>"))
    await run.wait_for(1)
    await run.stop()
    assert run.got[0].uid == status["uri"]
    # 42 s as told (it counts as a failure); then the back-off keeps doubling: 2 s (502), 4 s (503).
    assert clock.sleeps == [42.0, 2.0, 4.0]


async def test_catch_up_failure_reconnects(server, clock) -> None:
    server.timeline_plan = [Fail(500, {"error": "boom"})]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_streams(2)
    status = server.post("tag:briochegate", server.status("<p>ok</p>"))
    await run.wait_for(1)
    await run.stop()
    assert run.got[0].uid == status["uri"] and clock.sleeps == [1.0]


async def test_malformed_frames_are_counted_and_skipped(server, clock) -> None:
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_streams(1)
    await run.until(lambda: source.status().state is SourceState.LIVE)
    key = "tag:briochegate"
    server.push(key, b"event: update\ndata: {not json\n\n")
    server.push(key, b'event: update\ndata: {"id": "1", "content": "no uri"}\n\n')
    server.push(key, b"event: notification\ndata: {}\n\n")  # not ours: ignored, not malformed
    good = server.post(key, server.status("<p>bien</p>"))
    await run.wait_for(1)
    await run.stop()
    assert [m.uid for m in run.got] == [good["uri"]]
    assert source.status().malformed == 2
    assert source.status().reconnects == 0


async def test_edit_and_delete(server, clock) -> None:
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_streams(1)
    key = "tag:briochegate"
    st = server.post(key, server.status("<p>version 1</p>"))
    await run.wait_for(1)
    edited = {**st, "content": "<p>version 2</p>", "edited_at": "2026-11-21T09:40:00.000Z"}
    server.push(key, f"event: status.update\ndata: {json.dumps(edited)}\n\n".encode())
    server.push(key, f"event: delete\ndata: {st['id']}\n\n".encode())
    server.push(key, b"event: delete\ndata: 999\n\n")  # never seen: nothing to mark
    await run.wait_for(3)
    await asyncio.sleep(0.05)
    await run.stop()
    assert [m.extra.get("update") for m in run.got] == [None, "edit", None]
    assert [(m.uid, m.text, m.deleted) for m in run.got] == [
        (st["uri"], "version 1", False),
        (st["uri"], "version 2", False),
        (st["uri"], "version 2", True),
    ]


async def test_several_hashtags_dedupe_by_uri(server, clock) -> None:
    source = make(server, clock, hashtags=["briochegate", "#MaisonBrioche"], backfill=0)
    run = Collector(source).start()
    await server.wait_streams(2)
    await run.until(lambda: len(server._open) == 2)
    both = server.status("<p>#BriocheGate #MaisonBrioche</p>", tags=("briochegate", "maisonbrioche"))
    server.post("tag:briochegate", both)
    server.post("tag:maisonbrioche", both)
    other = server.post("tag:maisonbrioche", server.status("<p>autre</p>"))
    await run.wait_for(2)
    await asyncio.sleep(0.05)
    await run.stop()
    assert sorted(m.uid for m in run.got) == sorted([both["uri"], other["uri"]])
    assert {r["tag"] for r in server.stream_requests} == {"briochegate", "maisonbrioche"}


async def test_public_timeline_is_filtered_on_topic_keywords(server, clock) -> None:
    source = make(
        server, clock, hashtags=[], timelines=["public/local"], keywords=["maison brioche"], backfill=0
    )
    run = Collector(source).start()
    await server.wait_streams(1)
    await run.until(lambda: len(server._open) == 1)
    server.post("public/local", server.status("<p>rien à voir</p>"))
    hit = server.post("public/local", server.status("<p>Chez MAISON Brioche ce matin</p>"))
    await run.wait_for(1)
    await asyncio.sleep(0.05)
    await run.stop()
    assert [m.uid for m in run.got] == [hit["uri"]]
    assert server.stream_requests[0]["stream"] == "public/local"


async def test_streaming_host_is_discovered_from_the_instance(clock) -> None:
    async with FakeMastodon() as api, FakeMastodon() as streaming:
        api.announce_streaming = streaming.url.replace("http://", "wss://").replace("wss://", "ws://")
        source = make(api, clock)
        run = Collector(source).start()
        await streaming.wait_streams(1)
        st = streaming.post("tag:briochegate", streaming.status("<p>via le streaming</p>"))
        await run.wait_for(1)
        await run.stop()
        assert run.got[0].uid == st["uri"]
        assert api.stream_requests == []


async def test_several_instances_share_the_dedupe_by_uri(clock) -> None:
    async with FakeMastodon() as one, FakeMastodon(token="other-token") as two:
        source = make(one, clock, instances={two.url: "other-token"}, backfill=0)
        run = Collector(source).start()
        await one.wait_streams(1)
        await two.wait_streams(1)
        await run.until(lambda: len(one._open) == 1 and len(two._open) == 1)
        federated = one.status("<p>#BriocheGate partout</p>")
        one.post("tag:briochegate", federated)
        two.post("tag:briochegate", {**federated, "id": "999"})  # same uri, another local id
        only_two = two.post("tag:briochegate", two.status("<p>seulement ici</p>", acct="bob"))
        await run.wait_for(2)
        await asyncio.sleep(0.05)
        two.push("tag:briochegate", b"event: delete\ndata: 999\n\n")  # deleted on the second instance
        await run.wait_for(3)
        await run.stop()
        assert [(m.uid, m.deleted) for m in run.got] == [
            (federated["uri"], False),
            (only_two["uri"], False),
            (federated["uri"], True),
        ]
        assert run.got[1].author.handle == "bob@127.0.0.1"
        assert len(json.loads(source.cursor or "{}")) == 2


async def test_a_refused_token_on_one_instance_does_not_stop_the_other(clock) -> None:
    async with FakeMastodon() as one, FakeMastodon(token="other-token") as two:
        source = make(one, clock, instances={two.url: "wrong"}, backfill=0, auth_retries=1)
        run = Collector(source).start()
        await run.until(lambda: len(two.stream_requests) == 2)  # refused twice, then given up
        await run.until(lambda: len(one._open) == 1)
        st = one.post("tag:briochegate", one.status("<p>toujours là</p>"))
        await run.wait_for(1)
        await asyncio.sleep(0.05)
        await run.stop()
        assert run.got[0].uid == st["uri"] and len(two.stream_requests) == 2
        assert "gave up" in (source.status().last_error or "")


async def test_rate_limit_headers_make_catch_up_wait(server, clock) -> None:
    server.rate_limit_reset = "2026-11-21T10:03:00.000Z"
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_streams(1)
    await run.until(lambda: clock.sleeps != [])
    await run.stop()
    assert clock.sleeps[0] == 180.0


def test_factory_follows_the_topics_tags(clock) -> None:
    settings = Settings(topics=(TopicSettings(id="b", keywords=("maison brioche", "#MaisonBrioche")),))
    cfg = MastodonSourceSettings(type="mastodon", id="m", token="t", hashtags=("BriocheGate",))
    source = build(cfg, clock, settings)
    assert source.streams == ("hashtag:maisonbrioche", "hashtag:briochegate")
    assert source.kind == "mastodon" and source.cursor is None


async def test_nothing_to_follow_fails_clearly(clock) -> None:
    source = MastodonSource("m", clock, hashtags=[])
    assert [m async for m in source] == []
    assert source.status().state is SourceState.FAILED
    assert "nothing to follow" in (source.status().last_error or "")


async def test_stop_is_prompt_during_a_long_back_off(server) -> None:
    from tocsin.sources.clock import WallClock

    server.stream_plan = [Fail(500, "x")]
    source = make(server, WallClock(), backoff=Backoff(30.0, 60.0, jitter=0))  # type: ignore[arg-type]
    run = Collector(source).start()
    await run.until(lambda: source.status().state is SourceState.RECONNECTING)
    await run.stop(within=1.0)
    assert source.status().state is SourceState.STOPPED
