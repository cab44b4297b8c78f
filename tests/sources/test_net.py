"""Shared network plumbing: back-off, Retry-After, the SSE parser, HTML to text, keyword prefilter."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from tocsin.config.settings import TopicSettings
from tocsin.sources.html_text import html_to_text
from tocsin.sources.net import (
    Backoff,
    BoundedMap,
    BoundedSet,
    KeywordFilter,
    ProtocolError,
    SSEEvent,
    SSEParser,
    keyword_hashtags,
    keyword_queries,
    parse_retry_after,
    topic_keywords,
)

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(1.0, 10.0, jitter=0)
    assert [b.next() for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    b.reset()
    assert b.next() == 1


def test_backoff_jitter_stays_in_range_and_is_reproducible() -> None:
    a = Backoff(2.0, 100.0, jitter=0.5, rng=random.Random(3))
    b = Backoff(2.0, 100.0, jitter=0.5, rng=random.Random(3))
    da, db = [a.next() for _ in range(5)], [b.next() for _ in range(5)]
    assert da == db
    for i, d in enumerate(da):
        assert 2.0 * 2**i * 0.5 <= d <= 2.0 * 2**i
    assert len(set(da)) == 5


def test_linear_backoff() -> None:
    b = Backoff(0.25, 16.0, step=0.25, jitter=0)
    assert [b.next() for _ in range(4)] == [0.25, 0.5, 0.75, 1.0]
    for _ in range(100):
        last = b.next()
    assert last == 16.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Sat, 21 Nov 2026 10:01:30 GMT", 90.0),
        ("Sat, 21 Nov 2026 09:00:00 GMT", 0.0),
        ("-5", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value, expected) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_sse_parser_mastodon_framing_split_anywhere() -> None:
    wire = (
        b":)\n"
        b'event: update\ndata: {"id":"1"}\n\n'
        b":thump\n"
        b"event: delete\ndata: 109\n\n"
        b'event: status.update\r\ndata: {"id":"1","x":"\xc3\xa9"}\r\n\r\n'
    )
    expected = [
        SSEEvent("update", '{"id":"1"}'),
        SSEEvent("delete", "109"),
        SSEEvent("status.update", '{"id":"1","x":"é"}'),
    ]
    for size in (1, 2, 3, 5, 7, len(wire)):
        p = SSEParser()
        events = []
        for i in range(0, len(wire), size):
            events += p.feed(wire[i : i + size])
        assert events == expected, size
        assert p.comments == 2


def test_sse_parser_spec_details() -> None:
    p = SSEParser()
    events = p.feed(b"data: a\ndata:b\nid: 42\nretry: 3000\n\ndata\n\nevent: ping\n\nnofield\n\n")
    assert events == [SSEEvent("message", "a\nb", "42"), SSEEvent("message", "", "42")]
    assert p.last_event_id == "42" and p.retry_ms == 3000
    # Lone CR line endings, with the CR at a chunk boundary.
    p = SSEParser()
    assert p.feed(b"event: x\r") == []
    assert p.feed(b"data: y\r\r") == []  # that last CR may still be half of a CRLF
    assert p.feed(b":") == [SSEEvent("x", "y")]


def test_sse_parser_refuses_endless_lines() -> None:
    p = SSEParser(max_line=100)
    with pytest.raises(ProtocolError):
        p.feed(b"data: " + b"x" * 200)


def test_bounded_memories_forget_the_oldest() -> None:
    s: BoundedSet[str] = BoundedSet(2)
    assert s.add("a") and s.add("b") and not s.add("a")
    assert s.add("c") and "a" not in s and "c" in s and len(s) == 2
    m: BoundedMap[str, int] = BoundedMap(2)
    m["a"], m["b"], m["c"] = 1, 2, 3
    assert m.get("a") is None and m.get("c") == 3 and m.pop("b") == 2 and len(m) == 1


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello &amp; bye</p>", "Hello & bye"),
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("one<br>two<br/>three", "one\ntwo\nthree"),
        ("a<br><br><br><br>b", "a\n\nb"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<ul><li>x</li><li>y</li></ul>", "x\ny"),
        ("x<script>alert(1)</script><style>p{}</style>y", "xy"),
        ("&lt;script&gt; &quot;q&quot; &#39;s&#39; &eacute;", "<script> \"q\" 's' é"),
        ("spaces   \n  collapse", "spaces collapse"),
        ('<p><a href="https://x.io/a"><span class="invisible">https://</span>'
         '<span class="ellipsis">x.io/a</span><span class="invisible">bc</span></a></p>', "https://x.io/abc"),
        ("<b>Maison Brioche</b> : rappel", "Maison Brioche : rappel"),
        ("", ""),
        (None, ""),
        ("<p>unclosed <b>bold", "unclosed bold"),
    ],
)  # fmt: skip
def test_html_to_text(html, text) -> None:
    assert html_to_text(html) == text


def test_topic_derived_subscriptions() -> None:
    topics = (
        TopicSettings(
            id="b", keywords=("maison brioche", "#MaisonBrioche", "@maisonbrioche", "#BriocheGate")
        ),
        TopicSettings(id="c", keywords=("Maison Brioche", "boulangerie")),
    )
    kws = topic_keywords(topics)
    assert kws == ("maison brioche", "#MaisonBrioche", "@maisonbrioche", "#BriocheGate", "boulangerie")
    assert keyword_hashtags(kws) == ("maisonbrioche", "briochegate")
    assert keyword_queries(kws) == ("maison brioche", "MaisonBrioche", "BriocheGate", "boulangerie")


KW = ["maison brioche", "#briochegate", "@maisonbrioche", "crème"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"text":"nothing to see"}', False),
        ('{"text":"MAISON Brioche"}', True),
        ('{"text":"#BriocheGate"}', True),
        ('{"text":"brïoche"}', True),  # accent variants of the needle
        ('{"text":"la cre\\u0300me"}', True),  # an escaped non-ASCII char might hide one
        ('{"text":"crème"}', True),
        ('{"text":"creme"}', True),
        ('{"text":"日本語のポスト"}', False),
        ('{"text":"a \\u0026 b"}', False),  # an escaped ASCII char hides nothing
    ],
)
def test_keyword_prefilter_on_raw_frames(raw, expected) -> None:
    f = KeywordFilter(KW)
    assert f.may_match_raw(raw.lower()) is expected


def test_keyword_filter_on_decoded_text() -> None:
    f = KeywordFilter(KW)
    assert f.matches("Toute la Maison\nBrioche en parle")
    assert f.matches("rien", tags=["BriocheGate"])
    assert f.matches("Une CRÈME brûlée")
    assert not f.matches("maison seulement")
    assert KeywordFilter([]).matches("anything") and KeywordFilter([]).may_match_raw("x")


def test_registry_builds_every_live_source_with_the_topics() -> None:
    from tocsin.config import settings as S
    from tocsin.sources.clock import ManualClock
    from tocsin.sources.registry import build_sources

    topics = (S.TopicSettings(id="b", keywords=("maison brioche", "#BriocheGate")),)
    sources = (
        S.MastodonSourceSettings(type="mastodon", id="m", token="t"),
        S.BlueskySourceSettings(type="bluesky", id="b"),
        S.RssSourceSettings(type="rss", id="r", feeds=("https://news.example/feed",)),
        S.RedditSourceSettings(type="reddit", id="rd", client_id="i", client_secret="s"),
        S.HackerNewsSourceSettings(type="hackernews", id="hn"),
        S.XSourceSettings(type="x", id="x", bearer_token="t"),
        S.WebhookSourceSettings(type="webhook", id="w", secret="s"),
    )
    built = build_sources(S.Settings(topics=topics, sources=sources), ManualClock())
    assert [(s.kind, s.id) for s in built] == [(c.type, c.id) for c in sources]
    mastodon, bluesky, _rss, reddit, hn, x, _hook = built
    assert mastodon.streams == ("hashtag:briochegate",)  # type: ignore[attr-defined]
    assert bluesky.keywords == ("maison brioche", "#BriocheGate")  # type: ignore[attr-defined]
    assert reddit.listings == ("search:maison brioche", "search:BriocheGate")  # type: ignore[attr-defined]
    assert hn.queries == ("maison brioche", "BriocheGate")  # type: ignore[attr-defined]
    assert x.rules[0]["tag"] == "tocsin:b"  # type: ignore[attr-defined]
