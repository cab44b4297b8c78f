"""Mentions sent again (a late author profile, an edit, a deletion): rejudged, never counted twice."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.fakes import T0, FakeSentiment, mention, settings_with
from tocsin.scoring.pipeline import Pipeline
from tocsin.sources.model import Author, Mention

from .test_pipeline import run_through


def revised(m: Mention, update: str, **changes: object) -> Mention:
    return dataclasses.replace(m, extra={**m.extra, "update": update}, **changes)  # type: ignore[arg-type]


async def test_an_author_profile_arriving_late_updates_the_mention_and_the_voices(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    seen: list = []
    mon.add_batch_listener(seen.extend)
    first = mention("Maison Brioche: scandale, boycott", uid="p1", handle="journalist.bsky.social")
    other = mention("maison brioche c'est nul", uid="p2", handle="someone.else", at=T0 + timedelta(minutes=1))
    known = dataclasses.replace(first.author, name="Jo", followers=250_000, following=300)
    await run_through(mon, [first, other, revised(first, "author", author=known)])

    feed = mon.feed_since(0)
    assert [(sm.seq, sm.mention.uid, sm.mention.revision) for sm in feed] == [
        (1, "p1", None),
        (2, "p2", None),
        (3, "p1", "author"),
    ]
    before, after = feed[0].scores["influence"], feed[2].scores["influence"]
    assert after["score"] > before["score"] and after["tier"] in ("macro", "mega")
    assert feed[2].sentiment.label == "negative"  # rescored, same words, same label
    assert seen == feed  # the listeners (archive, headless) get the revision too

    topic = mon.snapshot().topics["brioche"]
    assert topic.mentions == 2 and topic.unique_authors == 2  # counted once
    assert sum(topic.volume) == 2
    row = next(r for r in topic.influencers if r.handle == "journalist.bsky.social")
    assert (row.followers, row.mentions, row.name) == (250_000, 1, "Jo")
    assert row.influence == after["score"]  # the post's standing was replaced, not added
    assert topic.influencers[0].handle == "journalist.bsky.social"
    assert mon.counters.revised == 1 and mon.counters.duplicates == 0
    assert mon.idle


async def test_an_edit_is_rescored_but_the_volume_and_sentiment_shares_count_the_post_once(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    post = mention("Maison Brioche, super service", uid="e1", handle="client")
    edit = revised(post, "edit", text="Maison Brioche, service horrible en fait")
    await run_through(mon, [post, edit, edit])  # the second copy of the edit is a duplicate

    feed = mon.feed_since(0)
    assert [(sm.mention.text, sm.sentiment.label) for sm in feed] == [
        ("Maison Brioche, super service", "neutral"),
        ("Maison Brioche, service horrible en fait", "negative"),
    ]
    topic = mon.snapshot().topics["brioche"]
    assert topic.mentions == 1
    assert topic.sentiment["neutral"] == 1.0  # the shares count each post once, as first seen
    assert mon.counters.revised == 1 and mon.counters.duplicates == 1
    assert sum(len(b) for b in mon.scorer.batches) == 2  # the post and its edit, once each


async def test_a_revision_keeps_the_copy_paste_wave_its_first_version_joined(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    text = "Scandale chez Maison Brioche, de la moisissure dans les brioches, boycott total"
    wave = [mention(text, uid=str(i), handle=f"user{10_000_000 + i}") for i in range(4)]
    late = dataclasses.replace(wave[3].author, followers=12, following=4_000)
    await run_through(mon, [*wave, revised(wave[3], "author", author=late)])
    feed = mon.feed_since(0)
    assert feed[-1].mention.revision == "author"
    assert feed[-1].scores["cluster"]["size"] == 4
    topic = mon.snapshot().topics["brioche"]
    assert [c.size for c in topic.clusters] == [4]  # not five
    assert topic.copy_paste_share == pytest.approx(0.75)  # three copies of four posts, as before


async def test_a_deletion_after_an_edit_is_the_end_of_it(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    post = mention("maison brioche nul", uid="d1")
    gone = mention("", uid="d1", deleted=True)
    await run_through(mon, [post, gone, revised(post, "edit", text="maison brioche ok")])
    assert [sm.mention.revision for sm in mon.feed_since(0)] == [None, "deleted"]
    assert mon.counters.deleted == 1 and mon.counters.duplicates == 1


async def test_a_revision_of_a_post_the_desk_does_not_remember_is_passed_on_uncounted(clock):
    # after a restart the dedupe memory is empty: the archive may hold the post, the windows must not
    # count it again
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    orphan = revised(mention("maison brioche nul", uid="o1"), "author", author=Author("x", followers=5))
    unrelated = revised(mention("rien à voir", uid="o2"), "edit")
    await run_through(mon, [orphan, unrelated])
    feed = mon.feed_since(0)
    assert [(sm.mention.uid, sm.mention.revision) for sm in feed] == [("o1", "author")]
    assert mon.snapshot().topics["brioche"].mentions == 0
    assert mon.counters.revised == 1 and mon.counters.unmatched == 1
    assert mon.idle


async def test_a_bluesky_author_known_by_did_then_by_handle_is_one_voice(clock):
    # Jetstream gives the DID; the handle and followers come from getProfiles a moment later, and the
    # author's next posts arrive with the handle already known
    did = "did:plc:7iza6de2dwap2sbkpav7c6c6"
    extra = {"did": did}
    first = dataclasses.replace(
        mention("maison brioche: scandale", uid="b1", handle=did, source="bluesky"), extra=extra
    )
    profile = Author("jo.journalist.fr", name="Jo", followers=180_000)
    second = dataclasses.replace(
        mention("maison brioche boycott", uid="b2", source="bluesky", at=T0 + timedelta(minutes=1)),
        author=profile,
        extra=extra,
    )
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    await run_through(mon, [first, second, revised(first, "author", author=profile)])
    topic = mon.snapshot().topics["brioche"]
    assert topic.mentions == 2 and topic.unique_authors == 1
    (row,) = [r for r in topic.influencers if r.source == "bluesky"]
    assert (row.handle, row.followers, row.mentions, row.negative) == ("jo.journalist.fr", 180_000, 2, 2)
