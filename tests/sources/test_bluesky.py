"""Bluesky via Jetstream against a local fake: filtering, hydration, cursor resume, faults."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from servers.base import STALL, Collector, Fail
from servers.jetstream import T0, FakeJetstream, post_event, profile

from tocsin.config.settings import BlueskySourceSettings, Settings, TopicSettings
from tocsin.sources.base import SourceState
from tocsin.sources.bluesky import BlueskySource, Deleted, JetstreamDecoder, build
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Mention
from tocsin.sources.net import Backoff

NOW = datetime(2026, 5, 25, 14, 30, tzinfo=UTC)
SERVER = FakeJetstream
KEYWORDS = ("maison brioche", "#briochegate", "@maisonbrioche")
ALICE, BOB = "did:plc:alice000000000000000000", "did:plc:bob00000000000000000000"


def make(server: FakeJetstream, clock: ManualClock, **kw) -> BlueskySource:
    opts = {
        "endpoint": server.ws_url,
        "appview_url": server.url,
        "keywords": KEYWORDS,
        "watchdog": 2.0,
        "backoff": Backoff(1.0, 60.0, jitter=0),
        "rng": random.Random(1),
        "hydrate": False,
    }
    opts.update(kw)
    return BlueskySource("sky", clock, **opts)


def test_decoder_builds_mentions_only_for_matching_posts(clock) -> None:
    d = JetstreamDecoder("sky", clock, KEYWORDS)
    miss = post_event(ALICE, "3aaa", "just a croissant", T0 + 1)
    hit = post_event(
        ALICE, "3bbb", "Scandale chez Maison Brioche", T0 + 2, tags=("BriocheGate",), reply_to="at://x/y/z"
    )
    tag_only = post_event(BOB, "3ccc", "ça continue", T0 + 3, tags=("BRIOCHEGATE",))
    assert d.decode(json.dumps(miss)) is None and d.time_us == T0 + 1
    m = d.decode(json.dumps(hit))
    assert isinstance(m, Mention)
    assert m.uid == f"at://{ALICE}/app.bsky.feed.post/3bbb"
    assert m.url == f"https://bsky.app/profile/{ALICE}/post/3bbb"
    assert m.text == "Scandale chez Maison Brioche" and m.lang == "fr" and m.hashtags == ("briochegate",)
    assert m.created_at == datetime(2026, 5, 25, 14, 23, 28, 757000, tzinfo=UTC) and m.received_at == NOW
    assert m.author.handle == ALICE and m.author.followers is None  # Jetstream does not say: never made up
    assert m.reply_to == "at://x/y/z" and m.engagement.total == 0
    assert isinstance(d.decode(json.dumps(tag_only)), Mention)  # the tag is only in the facets
    assert d.time_us == T0 + 3


def test_decoder_marks_edits(clock) -> None:
    d = JetstreamDecoder("sky", clock, KEYWORDS)
    m = d.decode(json.dumps(post_event(ALICE, "3zz", "maison brioche (édité)", T0, op="update")))
    assert isinstance(m, Mention) and m.extra["update"] == "edit"


def test_bad_cursor_is_ignored(clock) -> None:
    source = BlueskySource("sky", clock, cursor="not-a-number")
    assert source.cursor is None
    source.resume("1779719000000000")
    assert source.cursor == "1779719000000000"


def test_decoder_ignores_unknown_fields_and_kinds(clock) -> None:
    d = JetstreamDecoder("sky", clock, KEYWORDS)
    ev = post_event(ALICE, "3ddd", "maison brioche", T0)
    ev["cursor"] = 12345  # newer servers add fields
    ev["commit"]["something_new"] = [1, 2]
    assert isinstance(d.decode(json.dumps(ev)), Mention)
    account = {"did": ALICE, "time_us": T0 + 5, "kind": "account", "account": {"active": False}}
    assert d.decode(json.dumps(account)) is None and d.time_us == T0 + 5
    other = {"did": ALICE, "time_us": T0 + 6, "kind": "future-kind", "text": "maison brioche"}
    assert d.decode(json.dumps(other)) is None


def test_decoder_rejects_malformed_candidates(clock) -> None:
    d = JetstreamDecoder("sky", clock, KEYWORDS)
    with pytest.raises(ValueError, match="not JSON"):
        d.decode('{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{"record":{"text":"maison brioche')
    bad = post_event(ALICE, "3eee", "maison brioche", T0)
    bad["commit"]["record"]["text"] = None
    bad["commit"]["record"]["alt"] = "maison brioche"
    with pytest.raises(ValueError, match="without text"):
        d.decode(json.dumps(bad))
    # Garbage that cannot concern a topic is skipped without being parsed at all.
    assert d.decode("{not json and nothing of ours") is None


def test_decoder_accent_and_escape_insensitive(clock) -> None:
    d = JetstreamDecoder("sky", clock, ["crème brûlée"])
    for text in ("CRÈME BRÛLÉE ratée", "creme brulee ratee"):
        assert isinstance(d.decode(json.dumps(post_event(ALICE, "3f", text, T0))), Mention), text
    # A server escaping non-ASCII characters still matches.
    ev = json.dumps(post_event(ALICE, "3g", "Crème brûlée", T0), ensure_ascii=True)
    assert "\\u00e8" in ev
    assert isinstance(d.decode(ev), Mention)


async def test_stream_filters_and_counts_malformed_frames(server, clock) -> None:
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_connects(1)
    server.post(BOB, "3a00", "rien à voir")
    server.publish(
        '{"did":"did:plc:x","time_us":' + str(T0 + 50) + ',"kind":"commit","commit":{"text":"maison brioche'
    )
    hit = server.post(ALICE, "3a01", "Maison Brioche: quel scandale #BriocheGate", tags=("BriocheGate",))
    like = {
        "collection": "app.bsky.feed.like",
        "operation": "create",
        "rkey": "l1",
        "record": {"text": "maison brioche"},
    }
    server.publish({"did": ALICE, "time_us": T0 + 99, "kind": "commit", "commit": like})
    await run.wait_for(1)
    await asyncio.sleep(0.05)
    await run.stop()
    assert [m.uid for m in run.got] == [f"at://{ALICE}/app.bsky.feed.post/3a01"]
    assert source.status().malformed == 1 and source.status().reconnects == 0
    assert server.connects[0]["wanted"] == ["app.bsky.feed.post"] and server.connects[0]["cursor"] is None
    assert source.cursor == str(hit["time_us"])


async def test_drop_resumes_from_the_cursor_without_gap_or_duplicate(server, clock) -> None:
    source = make(server, clock, resume_margin=timedelta(seconds=5))
    run = Collector(source).start()
    await server.wait_connects(1)
    first = [server.post(ALICE, f"3b0{i}", f"maison brioche {i}") for i in range(3)]
    await run.wait_for(3)
    server.drop_all()
    # Posted while the connection is down: only the cursor can bring them back.
    missed = [server.post(BOB, f"3c0{i}", f"#BriocheGate {i}", live=False) for i in range(2)]
    await server.wait_connects(2)
    after = server.post(ALICE, "3d00", "maison brioche encore")
    await run.wait_for(6)
    await asyncio.sleep(0.05)
    await run.stop()
    expected = [f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}" for e in (*first, *missed, after)]
    assert [m.uid for m in run.got] == expected
    last_seen = first[-1]["time_us"]
    assert server.connects[1]["cursor"] == last_seen - 5_000_000
    assert source.status().reconnects == 1 and clock.sleeps == [1.0]


async def test_resume_from_a_saved_cursor(server, clock) -> None:
    old = post_event(ALICE, "3e00", "maison brioche (déjà vu)", T0 + 1_000_000)
    new = post_event(ALICE, "3e01", "maison brioche (nouveau)", T0 + 20_000_000)
    server.publish(old, live=False)
    server.publish(new, live=False)
    source = make(server, clock, cursor=str(T0 + 10_000_000), resume_margin=timedelta(seconds=2))
    run = Collector(source).start()
    await run.wait_for(1)
    await asyncio.sleep(0.05)
    await run.stop()
    assert [m.uid for m in run.got] == [f"at://{ALICE}/app.bsky.feed.post/3e01"]
    assert server.connects[0]["cursor"] == T0 + 8_000_000


async def test_stalled_connection_reconnects_but_pings_keep_it_alive(clock) -> None:
    async with FakeJetstream(ping_every=0.05) as server:
        source = make(server, clock, watchdog=0.3)
        run = Collector(source).start()
        await server.wait_connects(1)
        await asyncio.sleep(0.6)  # quiet, but pinged every 50 ms
        assert len(server.connects) == 1
        await run.stop()

        server.plan = [STALL]
        source = make(server, clock, watchdog=0.2)
        run = Collector(source).start()
        await server.wait_connects(3)
        server.post(ALICE, "3f00", "maison brioche")
        await run.wait_for(1)
        await run.stop()
        assert source.status().reconnects == 1
        assert "stalled" in (source.status().last_error or "")


async def test_429_retry_after_and_5xx_back_off(server, clock) -> None:
    server.plan = [
        Fail(429, {"error": "slow down"}, {"Retry-After": "30"}),
        Fail(500, "oops"),
        Fail(502, "bad"),
    ]
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_connects(4)
    server.post(ALICE, "3g00", "maison brioche")
    await run.wait_for(1)
    assert source.status().state is SourceState.LIVE
    await run.stop()
    assert clock.sleeps == [30.0, 2.0, 4.0]
    assert "HTTP 502" in (source.status().last_error or "")


async def test_403_fails_clearly_with_bounded_retries(server, clock) -> None:
    server.plan = [Fail(403, {"error": "Forbidden"})] * 5
    source = make(server, clock, auth_retries=1, auth_retry_delay=60.0)
    run = Collector(source).start()
    await run.ended()
    assert len(server.connects) == 2 and clock.sleeps == [60.0]
    status = source.status()
    assert status.state is SourceState.FAILED and "403" in (status.last_error or "")


async def test_delete_marks_a_sent_mention(server, clock) -> None:
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_connects(1)
    server.post(ALICE, "3h00", "maison brioche, à supprimer")
    server.post(BOB, "3h01", "rien", op="delete")  # never sent: nothing to mark
    server.publish(post_event(ALICE, "3h00", "", server.next_time(), op="delete"))
    await run.wait_for(2)
    await asyncio.sleep(0.05)
    await run.stop()
    assert [(m.uid, m.deleted) for m in run.got] == [
        (f"at://{ALICE}/app.bsky.feed.post/3h00", False),
        (f"at://{ALICE}/app.bsky.feed.post/3h00", True),
    ]
    assert isinstance(Deleted("x"), Deleted)


async def test_authors_are_hydrated_in_batches_and_cached(server, clock) -> None:
    server.profiles[ALICE] = profile(ALICE, "alice.bsky.social", followers=12_000)
    source = make(server, clock, hydrate=True, profile_requests_per_s=4.0)
    run = Collector(source).start()
    await server.wait_connects(1)
    server.post(ALICE, "3i00", "maison brioche #1")
    await run.wait_for(2)  # the bare mention, then the same uid with its author
    first, filled = run.got[0], run.got[1]
    assert first.uid == filled.uid
    assert first.author.handle == ALICE and first.author.followers is None
    assert filled.author.handle == "alice.bsky.social" and filled.author.followers == 12_000
    assert filled.extra["update"] == "author" and "update" not in first.extra
    assert filled.author.following == 180 and filled.author.posts == 950 and filled.author.verified is False
    server.post(ALICE, "3i01", "maison brioche #2")  # cached: filled at once, no second lookup
    await run.wait_for(3)
    assert run.got[2].author.followers == 12_000 and len(server.profile_requests) == 1
    # 30 new authors: lookups go in batches of at most 25.
    dids = [f"did:plc:user{i:021d}" for i in range(30)]
    for i, did in enumerate(dids):
        server.profiles[did] = profile(did, f"user{i}.bsky.social")
        server.post(did, f"3j{i:03d}", "maison brioche")
    await run.wait_for(3 + 60)
    await run.stop()
    assert all(len(r) <= 25 for r in server.profile_requests)
    assert sorted(d for r in server.profile_requests[1:] for d in r) == sorted(dids)
    assert 0.25 in clock.sleeps  # rate-limited: 4 lookups per second at most


async def test_a_stuck_profile_lookup_never_holds_the_stream(server, clock) -> None:
    server.profile_plan = [STALL]
    source = make(server, clock, hydrate=True)
    run = Collector(source).start()
    await server.wait_connects(1)
    for i in range(5):
        server.post(f"did:plc:someone{i:018d}", f"3m0{i}", "maison brioche")
    await run.wait_for(5)
    await run.stop()
    assert [m.author.followers for m in run.got] == [None] * 5 and len(server.profile_requests) == 1


async def test_hydration_survives_429_and_unknown_accounts(server, clock) -> None:
    server.profile_plan = [Fail(429, {"error": "RateLimitExceeded"}, {"Retry-After": "12"})]
    server.profiles[ALICE] = profile(ALICE, "alice.bsky.social")
    source = make(server, clock, hydrate=True)
    run = Collector(source).start()
    await server.wait_connects(1)
    server.post(ALICE, "3k00", "maison brioche")
    server.post(BOB, "3k01", "maison brioche")  # BOB has no profile (deleted account)
    await run.wait_for(3)
    await asyncio.sleep(0.05)
    await run.stop()
    assert 12.0 in clock.sleeps
    assert [m.author.handle for m in run.got] == [ALICE, BOB, "alice.bsky.social"]


async def test_brand_account_posts_are_kept_by_did(server, clock) -> None:
    brand = "did:plc:maisonbrioche000000000000"
    server.handles["maisonbrioche.bsky.social"] = brand
    source = make(server, clock)
    run = Collector(source).start()
    await server.wait_connects(1)
    server.post(brand, "3l00", "Nous vous présentons nos excuses.")
    await run.wait_for(1)
    await run.stop()
    assert run.got[0].extra["did"] == brand


def test_factory_uses_topics_and_extra_keywords(clock) -> None:
    settings = Settings(topics=(TopicSettings(id="b", keywords=("maison brioche",)),))
    cfg = BlueskySourceSettings(type="bluesky", id="sky", keywords=("boulangerie",))
    source = build(cfg, clock, settings, cursor="1779719000000000")
    assert source.keywords == ("maison brioche", "boulangerie")
    assert source.cursor == "1779719000000000"
    assert "cursor=1779718995000000" in source.subscribe_url()
    assert "wantedCollections=app.bsky.feed.post" in source.subscribe_url()
