"""RSS/Atom polling against a local feed host: conditional GET, redirects, 410, 429, 5xx, bad XML."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from servers.base import Collector, Fail
from servers.feeds import FakeFeeds, google_alert, rss

from tocsin.config.settings import RssSourceSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.net import Backoff
from tocsin.sources.rss import RssSource, build, entry_to_mention, feed_key, unwrap_google

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SERVER = FakeFeeds

ITEMS = [
    {"title": "Maison Brioche rappelle des viennoiseries", "link": "https://news.example/a", "guid": "a",
     "description": "&lt;p&gt;Le &lt;b&gt;rappel&lt;/b&gt; concerne 12 magasins.&lt;/p&gt;",
     "date": "Sat, 21 Nov 2026 08:00:00 GMT", "author": "redaction@news.example (Jeanne Martin)"},
    {"title": "#BriocheGate : la marque répond", "link": "https://news.example/b", "guid": "b",
     "date": "Sat, 21 Nov 2026 08:30:00 GMT"},
]  # fmt: skip

ALERT = [
    {"id": "111", "title": "Le scandale &lt;b&gt;Maison Brioche&lt;/b&gt; enfle",
     "url": "https://www.lemonde.fr/eco/article.html", "published": "2026-11-21T08:45:00Z",
     "content": "Depuis ce matin, &lt;b&gt;Maison Brioche&lt;/b&gt; &amp;amp; ses clients..."},
]  # fmt: skip


def make(server: FakeFeeds, clock: ManualClock, paths: list[str], **kw) -> RssSource:
    opts = {"interval": 300.0, "backoff": Backoff(1.0, 60.0, jitter=0), "rng": random.Random(1)}
    opts.update(kw)
    return RssSource("news", clock, feeds=[server.url + p for p in paths], **opts)


def test_unwrap_google_links() -> None:
    wrapped = "https://www.google.com/url?rct=j&sa=t&url=https://www.lemonde.fr/a%3Fb%3D1&ct=ga"
    assert unwrap_google(wrapped) == "https://www.lemonde.fr/a?b=1"
    assert unwrap_google("https://news.google.com/url?q=https://x.example/") == "https://x.example/"
    assert (
        unwrap_google("https://example.org/url?url=https://evil.example")
        == "https://example.org/url?url=https://evil.example"
    )
    assert unwrap_google("https://www.google.com/url?url=javascript:alert(1)").startswith(
        "https://www.google.com"
    )


def test_google_alert_entry_to_mention() -> None:
    parsed = feedparser.parse(google_alert(ALERT).encode())
    m = entry_to_mention(parsed.entries[0], parsed.feed, source="news", received_at=NOW)
    assert m is not None
    assert m.uid == "tag:google.com,2013:googlealerts/feed:111"
    assert m.url == "https://www.lemonde.fr/eco/article.html"
    assert m.text == "Le scandale Maison Brioche enfle\n\nDepuis ce matin, Maison Brioche & ses clients..."
    assert m.created_at == datetime(2026, 11, 21, 8, 45, tzinfo=UTC)
    assert m.author.handle == "lemonde.fr" and m.author.name is None  # the outlet, as the link says


async def test_first_poll_then_conditional_gets_and_only_new_entries(server, clock) -> None:
    server.set("/feed.xml", rss(ITEMS))
    source = make(server, clock, ["/feed.xml"])
    run = Collector(source).start()
    await run.wait_for(2)
    a, b = run.got
    assert (a.uid, b.uid) == ("a", "b")  # oldest first
    assert a.text == "Maison Brioche rappelle des viennoiseries\n\nLe rappel concerne 12 magasins."
    assert a.lang == "fr" and a.url == "https://news.example/a" and b.hashtags == ("briochegate",)
    assert a.created_at == datetime(2026, 11, 21, 8, 0, tzinfo=UTC) and a.received_at == NOW
    await run.until(lambda: len(server.hits("/feed.xml")) >= 3)
    second = server.hits("/feed.xml")[1]
    assert (
        second["If-None-Match"].startswith('W/"v')
        and second["If-Modified-Since"] == "Sat, 21 Nov 2026 09:00:00 GMT"
    )
    assert "tocsin/" in second["User-Agent"] and "gzip" in second["Accept-Encoding"]
    server.set("/feed.xml", rss([*ITEMS, {**ITEMS[0], "guid": "c", "title": "Nouveau"}]))
    await run.wait_for(3)
    await run.stop()
    assert [m.uid for m in run.got] == ["a", "b", "c"]
    assert set(clock.sleeps) == {300.0}  # never more often than configured
    assert source.status().state is SourceState.STOPPED and source.status().malformed == 0


async def test_per_feed_intervals(server, clock) -> None:
    server.set("/fast.xml", rss(ITEMS))
    server.set("/slow.xml", rss(ITEMS))
    source = make(server, clock, ["/fast.xml", "/slow.xml"], intervals={server.url + "/fast.xml": 60.0})
    run = Collector(source).start()
    await run.until(lambda: len(server.requests_log) >= 14)
    await run.stop()
    # The fast feed every minute, the slow one every five (both due together at 0 and 5 minutes).
    order = "".join("F" if path == "/fast.xml" else "S" for path, _ in server.requests_log[:14])
    assert order == "FSFFFFFSFFFFFS"
    assert set(clock.sleeps) == {60.0}


async def test_moved_permanently_gone_and_temporary_redirects(server, clock) -> None:
    server.set("/new.xml", rss(ITEMS[:1]))
    server.redirects["/old.xml"] = (301, "/new.xml")
    server.redirects["/tmp.xml"] = (302, "/new.xml")
    server.plan["/dead.xml"] = [Fail(410, "Gone")]
    source = make(server, clock, ["/old.xml", "/tmp.xml", "/dead.xml"])
    run = Collector(source).start()
    await run.until(lambda: len(server.hits("/new.xml")) >= 4)
    await run.stop()
    assert len(server.hits("/old.xml")) == 1  # after the 301, straight to the new address
    assert len(server.hits("/tmp.xml")) >= 2  # a 302 is asked again each time
    assert len(server.hits("/dead.xml")) == 1  # 410: never asked again
    assert source.feeds[0].url == server.url + "/new.xml"
    feeds = json.loads(source.cursor or "{}")["feeds"]
    assert feeds[feed_key(server.url + "/dead.xml")]["gone"] is True
    assert [m.uid for m in run.got] == ["a"]  # the same entry through two URLs: once


async def test_only_feed_gone_fails_the_source(server, clock) -> None:
    server.plan["/dead.xml"] = [Fail(410, "Gone")]
    source = make(server, clock, ["/dead.xml"])
    run = Collector(source).start()
    await run.ended()
    status = source.status()
    assert status.state is SourceState.FAILED and "410" in (status.last_error or "")


async def test_429_retry_after_and_5xx_back_off(server, clock) -> None:
    server.set("/feed.xml", rss(ITEMS))
    server.plan["/feed.xml"] = [
        Fail(429, "slow down", {"Retry-After": "900"}),
        Fail(503, "maintenance", {"Retry-After": "Sat, 21 Nov 2026 10:45:00 GMT"}),
        Fail(500, "boom"),
        Fail(502, "boom"),
        Fail(500, "boom"),
    ]
    source = make(server, clock, ["/feed.xml"], interval=60.0)
    run = Collector(source).start()
    await run.wait_for(2)
    await run.stop()
    # 900 s as told; the HTTP date 10:45 is 30 min after 10:15; every failure grows the back-off (30, 60,
    # 120…) which never goes below the feed's interval.
    assert clock.sleeps[:5] == [900.0, 1800.0, 120.0, 240.0, 480.0]
    assert source.status().reconnects == 1  # one outage, however many failed polls


async def test_malformed_feed_is_counted_and_polling_goes_on(server, clock) -> None:
    server.set("/feed.xml", "<html><body>Oops, a login page</body>", content_type="text/html")
    source = make(server, clock, ["/feed.xml"])
    run = Collector(source).start()
    await run.until(lambda: source.status().malformed >= 1)
    server.set("/feed.xml", rss(ITEMS))
    await run.wait_for(2)
    await run.stop()
    assert "not a feed" in (source.status().last_error or "")


async def test_auth_failure_is_bounded(server, clock) -> None:
    server.plan["/private.xml"] = [Fail(401, "Unauthorized")] * 10
    source = make(server, clock, ["/private.xml"], auth_retries=2, auth_retry_delay=600.0)
    run = Collector(source).start()
    await run.ended()
    assert len(server.hits("/private.xml")) == 3
    status = source.status()
    assert status.state is SourceState.FAILED and "401" in (status.last_error or "")
    assert "gave up" in (status.last_error or "")


async def test_resume_from_cursor_sends_validators_and_skips_seen(server, clock) -> None:
    server.set("/feed.xml", rss(ITEMS))
    first = make(server, clock, ["/feed.xml"])
    run = Collector(first).start()
    await run.wait_for(2)
    await run.stop()
    cursor = first.cursor
    # Restarted later: unchanged feed → 304; then one new entry → only it.
    second = make(server, ManualClock(NOW), ["/feed.xml"], cursor=cursor)
    run2 = Collector(second).start()
    await run2.until(lambda: len(server.hits("/feed.xml")) >= 3)
    assert "If-None-Match" in server.hits("/feed.xml")[2] and run2.got == []
    server.set("/feed.xml", rss([*ITEMS, {**ITEMS[1], "guid": "z"}]))
    await run2.wait_for(1)
    await run2.stop()
    assert [m.uid for m in run2.got] == ["z"]


def test_feed_urls_stay_out_of_messages() -> None:
    from tocsin.sources.rss import feed_label

    url = "https://www.google.com/alerts/feeds/01234567890123456789/98765432109876543210"
    label = feed_label(url)
    assert label.startswith("www.google.com/alerts…#") and "0123456789" not in label
    assert feed_label(url) != feed_label(url[:-1] + "1")


def test_factory_and_settings_validation(clock) -> None:
    cfg = RssSourceSettings(
        type="rss", id="n", feeds=("https://a.example/f",), interval=timedelta(minutes=10)
    )
    source = build(cfg, clock)
    assert source.kind == "rss" and source.feeds[0].interval == 600.0
    with pytest.raises(ValueError, match="at least one feed"):
        RssSourceSettings(type="rss", id="n")


async def test_a_secret_feed_url_never_reaches_the_saved_cursor(server, clock, tmp_path) -> None:
    """Reproduced: a Google Alerts feed URL (a password, in effect) stood in plain text in the journal's
    ``cursors`` table. Now the cursor is keyed by a hash and holds no URL, and still resumes."""
    from tocsin.config.settings import DeskSettings, Settings
    from tocsin.journal.api import Journal

    secret_path = "/alerts/feeds/06271837402779/1234567890SECRETTOKEN"
    server.set(secret_path, rss(ITEMS))
    server.redirects["/moved.xml"] = (301, secret_path)
    first = make(server, clock, [secret_path, "/moved.xml"])
    run = Collector(first).start()
    await run.wait_for(2)
    await run.stop()
    settings = Settings(desk=DeskSettings(journal=str(tmp_path / "j.sqlite")))
    journal = await Journal.open(settings, clock=clock)
    try:
        await journal.set_cursor("rss", first.cursor or "")
        saved = await journal.get_cursor("rss")
    finally:
        await journal.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite*"))
    assert b"SECRETTOKEN" not in raw and "SECRETTOKEN" not in (saved or "")
    second = make(server, ManualClock(NOW), [secret_path, "/moved.xml"], cursor=saved)
    assert second.feeds[0].etag == first.feeds[0].etag and second.feeds[0].seen == first.feeds[0].seen
