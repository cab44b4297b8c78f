"""How the archive stores mentions (schema 7): compressed records and their dictionaries, keys that may
collide, a schema 6 archive converted in place, retention that keeps incidents' windows. On both
backends."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from tocsin.journal import archive as archive_module
from tocsin.journal import archive_format
from tocsin.journal import store as store_module
from tocsin.journal.api import Journal
from tocsin.journal.archive import ArchivedMention
from tocsin.journal.store import Tx, to_ms
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Engagement, Mention, ScoredMention, SentimentScore

from .conftest import T0, mention, team_settings

WORDS = (
    "maison brioche souris moisissure boulangerie scandale jamais plus honte client service photo vidéo "
    "boycott rappel enquête excuses mould shop refund never again disgusting statement inspection"
).split()


def storm(n: int, start: int = 0, seed: int = 3) -> list[ScoredMention]:
    """Varied scored mentions, as a storm brings them."""
    rng = random.Random(seed + start)
    out = []
    for i in range(start, start + n):
        handle = f"fan{rng.randint(1, 5000)}"
        at = T0 - timedelta(hours=2) + timedelta(seconds=i)
        m = Mention(
            uid=f"at://did:plc:{rng.getrandbits(60):015x}/app.bsky.feed.post/{i}",
            source="bluesky",
            text="Maison Brioche " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25))),
            created_at=at,
            received_at=at + timedelta(milliseconds=rng.randint(0, 3000)),
            url=f"https://bsky.app/profile/{handle}/post/{i}",
            author=Author(
                handle=handle,
                name=handle.title(),
                followers=rng.randint(0, 90_000),
                following=rng.randint(0, 900),
                posts=rng.randint(1, 9000),
                created_at=T0 - timedelta(days=rng.randint(1, 3000)),
                verified=rng.random() < 0.1,
            ),
            lang=rng.choice(("fr", "en", None)),
            hashtags=("briochegate",) if rng.random() < 0.5 else (),
            engagement=Engagement(rng.randint(0, 9), rng.randint(0, 90), rng.randint(0, 900)),
        )
        label = rng.choice(("negative", "neutral", "positive"))
        scores = {"influence": {"score": rng.randint(0, 100), "tier": "nano"}, "bot": {"score": 0.25}}
        out.append(ScoredMention(i, m, ("brioche",), SentimentScore(label, rng.random(), "lexicon"), scores))  # type: ignore[arg-type]
    return out


def same(got: ArchivedMention | None, sent: ScoredMention) -> bool:
    """The archived mention is the one sent, field for field."""
    assert got is not None
    m = sent.mention
    return (
        got.mention == dataclasses.replace(m, extra={}, deleted=got.deleted_at is not None)
        and got.row.topics == sent.topics
        and (got.row.sentiment_label, got.row.sentiment_score) == (sent.sentiment.label, sent.sentiment.score)
        and dict(got.row.scores) == dict(sent.scores)
    )


@pytest.fixture
def small_dictionaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dictionaries trained after a few hundred writes, on a few hundred records (the real figures are
    thousands: a test journal never gets there)."""
    monkeypatch.setattr(archive_format, "TRAIN_AFTER", 300)
    monkeypatch.setattr(archive_format, "MIN_SAMPLES", 100)
    monkeypatch.setattr(archive_format, "DICT_SIZE", 8 * 1024)


async def bodies(journal: Journal) -> list[tuple[int, int]]:
    """(dict, length of the record) of every row."""
    return [
        (int(d), len(bytes(b)))
        for d, b in await journal.store.fetchall("SELECT dict, body FROM mentions ORDER BY id")
    ]


async def test_every_field_comes_back_as_it_was_sent(journal: Journal) -> None:
    sent = storm(50)
    weird = dataclasses.replace(
        sent[0].mention, uid="odd:1", text="", url=None, lang=None, author=Author(handle="")
    )
    numbers = {
        "influence": {"score": np.float64(0.5), "reach": np.int64(7)},
        "bot": {"score": np.float32(0.25)},
    }
    sent.append(ScoredMention(99, weird, (), SentimentScore("neutral", 0.0, "lexicon"), numbers))  # type: ignore[arg-type]
    await journal.archive(sent)
    for s in sent:
        assert same(await journal.archived_mention(s.mention.source, s.mention.uid), s)
    assert await journal.archived_mention("bluesky", "nope") is None
    assert await journal.archived_mention("other", sent[1].mention.uid) is None  # the source is part of it


async def test_a_dictionary_is_trained_on_the_journal_and_the_rows_before_it_recompressed(
    journal: Journal, settings: Any, small_dictionaries: None
) -> None:
    first = storm(250)
    await journal.archive(first)
    before = await bodies(journal)
    assert {d for d, _ in before} == {0}  # too few to train on yet
    later = storm(100, start=250)
    await journal.archive(later)  # the write that reaches TRAIN_AFTER trains the first dictionary
    assert await journal.store.scalar("SELECT count(*) FROM mention_dicts") == 1
    after = await bodies(journal)
    assert {d for d, _ in after} == {1}  # every row, those written before it too
    assert sum(n for _, n in after[:250]) < 0.6 * sum(n for _, n in before)
    # the same mentions, in the order they were written, from this desk and from another process
    rows = await journal.archived_since(0, limit=1000)
    assert [r.seq for r in rows] == list(range(1, 351))
    assert all(same(r, s) for r, s in zip(rows, first + later, strict=True))
    other = await Journal.open(settings, clock=ManualClock(T0))
    try:
        assert all(
            same(r, s) for r, s in zip(await other.archived_since(0, limit=1000), first + later, strict=True)
        )
        await other.archive(storm(10, start=400))  # and it writes with the journal's dictionary
        assert {d for d, _ in await bodies(other)} == {1}
    finally:
        await other.close()


async def test_a_new_dictionary_later_and_the_old_rows_still_read(
    journal: Journal, small_dictionaries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_format, "RETRAIN_EVERY", 400)
    sent = storm(1000)
    for i in range(0, 1000, 100):
        await journal.archive(sent[i : i + 100])
    dicts = await journal.store.fetchall("SELECT id, seq FROM mention_dicts ORDER BY id")
    assert [d for d, _ in dicts] == [1, 2] and [s for _, s in dicts] == [300, 700]
    assert [d for d, _ in await bodies(journal)] == [1] * 700 + [2] * 300
    rows = await journal.archived_since(0, limit=2000)
    assert all(same(r, s) for r, s in zip(rows, sent, strict=True))


async def test_training_that_cannot_be_done_costs_nothing(
    journal: Journal, small_dictionaries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_format, "MIN_SAMPLES", 10_000)  # never enough
    await journal.archive(storm(400))
    assert await journal.store.scalar("SELECT count(*) FROM mention_dicts") == 0
    assert await journal.archived_count() == 400
    assert await journal.train_archive() is None


async def test_mentions_whose_keys_collide_are_told_apart(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_module, "mention_key", lambda source, uid: 42)  # every key the same
    a, b, c = (mention(uid, f"post {uid} about Maison Brioche") for uid in ("m1", "m2", "m3"))
    await journal.archive([a, b, c])
    assert await journal.archived_count() == 3
    assert await journal.store.scalar("SELECT count(DISTINCT key) FROM mentions") == 1
    edited = dataclasses.replace(b, text="post m2, edited", received_at=T0, extra={"update": "edit"})
    gone = dataclasses.replace(c, deleted=True, received_at=T0 + timedelta(minutes=1))
    await journal.archive([edited, gone, dataclasses.replace(a, deleted=True, uid="m4")])
    got = {uid: await journal.archived_mention("demo", uid) for uid in ("m1", "m2", "m3", "m4")}
    assert got["m4"] is None and await journal.archived_count() == 3
    one, two, three = got["m1"], got["m2"], got["m3"]
    assert one is not None and one.mention.text == "post m1 about Maison Brioche" and one.edited_at is None
    assert one.deleted_at is None
    assert two is not None and two.mention.text == "post m2, edited" and two.original_text == b.text
    assert three is not None and three.deleted_at == T0 + timedelta(minutes=1) and three.edited_at is None
    inc = await journal.open_incident("brioche", "sev2", "Collisions", evidence=[a, b])
    marks = await journal.pinned_revisions(inc.id)
    assert set(marks) == {("demo", "m2")} and marks[("demo", "m2")].original_text == b.text
    assert (await journal.archived_mention("demo", "m1")).pinned  # type: ignore[union-attr]
    assert not (await journal.archived_mention("demo", "m3")).pinned  # type: ignore[union-attr]


async def test_a_mention_and_its_revisions_in_one_batch(journal: Journal) -> None:
    m = mention("m1", "first words")
    edited = dataclasses.replace(m, text="second words", received_at=T0, extra={"update": "edit"})
    again = dataclasses.replace(edited, text="third words", received_at=T0 + timedelta(minutes=1))
    gone = dataclasses.replace(m, deleted=True, received_at=T0 + timedelta(minutes=2))
    await journal.archive([m, edited, again, gone])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.mention.text == "third words" and got.original_text == "first words"
    assert got.edited_at == T0 + timedelta(minutes=1) and got.deleted_at == T0 + timedelta(minutes=2)
    assert got.seq == 4 and await journal.archived_count() == 1


async def test_retention_keeps_the_mentions_of_an_incidents_window(journal: Journal) -> None:
    storm_at = T0 - timedelta(days=60)
    inc = await journal.open_incident("brioche", "sev1", "An old storm", now=storm_at)
    await journal.resolve(inc.id, now=storm_at + timedelta(hours=3))

    def at(uid: str, when: Any, topics: tuple[str, ...] = ("brioche",)) -> ScoredMention:
        return ScoredMention(1, mention(uid, at=when), topics, SentimentScore("negative", 0.9, "lexicon"))  # type: ignore[arg-type]

    await journal.archive(
        [
            at("before", storm_at - timedelta(hours=7)),  # outside the window
            at("opening", storm_at - timedelta(hours=5)),  # 6 h before the opening: kept
            at("during", storm_at + timedelta(hours=1)),
            at("tail", storm_at + timedelta(hours=8)),  # 6 h after the resolution: kept
            at("late", storm_at + timedelta(hours=10)),
            at("rival", storm_at + timedelta(hours=1), ("rival",)),  # another topic
            at("both", storm_at + timedelta(hours=1), ("rival", "brioche")),
            at("recent", T0 - timedelta(days=1)),
        ]
    )
    assert (await journal.prune()).mentions == 3
    kept = sorted(a.mention.uid for a in await journal.archived_between(storm_at - timedelta(days=1), T0))
    assert kept == ["both", "during", "opening", "recent", "tail"]
    assert not (await journal.archived_mention("demo", "during")).pinned  # type: ignore[union-attr]
    assert (await journal.prune()).mentions == 0
    # a kept mention is still an ordinary row: a revision rewrites it
    edited = dataclasses.replace(mention("during", "new words"), received_at=T0, extra={"update": "edit"})
    await journal.archive([edited])
    got = await journal.archived_mention("demo", "during")
    assert got is not None and got.mention.text == "new words" and got.original_text is not None


# --- migration 7 --------------------------------------------------------------------------------------

V6_INSERT = (
    "INSERT INTO mentions (source, uid, created_at, received_at, topics, author, text, url, lang, hashtags, "
    "engagement, sentiment_label, sentiment_score, sentiment_engine, scores, pinned, reply_to, raw_ref, "
    "deleted_at, edited_at, original_text, seq) VALUES "
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def v6_values(
    s: ScoredMention, *, pinned: int = 0, marks: tuple[Any, ...] = (None, None, None), seq: Any = None
) -> tuple[Any, ...]:
    """The row schema 6 wrote for ``s`` (its JSON columns as ``MentionRow.values`` made them)."""
    m, a, e = s.mention, s.mention.author, s.mention.engagement
    author = {
        "handle": a.handle,
        "name": a.name,
        "followers": a.followers,
        "following": a.following,
        "posts": a.posts,
        "created_at": a.created_at.isoformat().replace("+00:00", "Z") if a.created_at else None,
        "verified": a.verified,
    }
    dumps = json.dumps
    return (
        m.source, m.uid, to_ms(m.created_at), to_ms(m.received_at), dumps(list(s.topics)),
        dumps({k: v for k, v in author.items() if v is not None}), m.text, m.url, m.lang,
        dumps(list(m.hashtags)) if m.hashtags else None, dumps([e.replies, e.reposts, e.likes]),
        s.sentiment.label, s.sentiment.score, s.sentiment.engine, dumps(dict(s.scores)), pinned,
        m.reply_to, m.raw_ref, *marks, seq,
    )  # fmt: skip


async def test_a_schema_6_archive_is_converted_in_place(
    journal_location: str, monkeypatch: pytest.MonkeyPatch, small_dictionaries: None
) -> None:
    settings = team_settings(journal_location)
    sent = storm(600)
    with monkeypatch.context() as old:
        old.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:6])
        old.setattr(store_module, "SCHEMA_VERSION", 6)
        v6 = await Journal.open(settings, clock=ManualClock(T0))
        try:
            assert await v6.store.schema_version() == 6
            edited_ms = to_ms(T0)

            async def fill(tx: Tx) -> None:
                rows = [v6_values(s, seq=i + 1) for i, s in enumerate(sent[2:])]
                rows.append(v6_values(sent[0], pinned=1))  # pinned before schema 6: no seq
                rows.append(v6_values(sent[1], marks=(edited_ms + 5, edited_ms, "the first words"), seq=700))
                await tx.executemany(V6_INSERT, rows)
                await tx.execute("INSERT INTO journal_meta (key, value) VALUES ('mentions_seq', '700')")

            await v6.store.write(fill)
        finally:
            await v6.close()
    journal = await Journal.open(settings, clock=ManualClock(T0))
    try:
        assert await journal.store.schema_version() == store_module.SCHEMA_VERSION
        assert await journal.archived_count() == 600
        assert await journal.store.scalar("SELECT count(*) FROM mention_dicts") == 1  # trained on them
        assert {d for d, _ in await bodies(journal)} == {1}
        for s in sent:
            assert same(await journal.archived_mention(s.mention.source, s.mention.uid), s)
        pinned = await journal.archived_mention("bluesky", sent[0].mention.uid)
        assert pinned is not None and pinned.pinned and pinned.seq is None
        marked = await journal.archived_mention("bluesky", sent[1].mention.uid)
        assert marked is not None and marked.seq == 700 and marked.original_text == "the first words"
        assert marked.deleted_at == T0 + timedelta(milliseconds=5) and marked.edited_at == T0
        assert [r.seq for r in await journal.archived_since(597)] == [598, 700]
        assert await journal.archive_seq() == 700
        await journal.archive(storm(5, start=600))
        assert await journal.archive_seq() == 705 and await journal.archived_count() == 605
    finally:
        await journal.close()


@pytest.mark.sqlite_only  # the file's pages
async def test_pruning_gives_the_space_back(journal: Journal) -> None:
    rng = random.Random(5)
    old = [
        mention(f"m{i}", "Maison Brioche " + rng.randbytes(300).hex(), at=T0 - timedelta(days=60))
        for i in range(2000)
    ]
    await journal.archive(old)
    full = await journal.store.scalar("PRAGMA page_count")
    assert (await journal.prune()).mentions == 2000
    assert await journal.store.scalar("PRAGMA freelist_count") == 0
    assert await journal.store.scalar("PRAGMA page_count") < full / 5  # the empty journal is left
