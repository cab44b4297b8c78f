"""Mentions archive (batches, upserts, retention that spares pinned evidence), volume history, cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.history import VolumePoint
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import ScoredMention, SentimentScore

from .conftest import T0, mention


def scored(
    uid: str, *, at=T0, label: str = "negative", text: str = "Plus jamais chez Maison Brioche"
) -> ScoredMention:
    return ScoredMention(
        seq=int(uid.strip("m") or 0),
        mention=mention(uid, text, at=at),
        topics=("brioche",),
        sentiment=SentimentScore(label, 0.91, "lexicon"),  # type: ignore[arg-type]
        scores={"influence": {"score": 64, "tier": "macro"}, "bot": {"score": 0.1}},
    )


async def test_scored_mentions_are_archived_with_everything(journal: Journal) -> None:
    assert await journal.archive([scored(f"m{i}") for i in range(250)]) == 250
    assert await journal.archived_count() == 250
    got = await journal.archived_mention("demo", "m7")
    assert got is not None and not got.pinned
    m = got.mention
    assert m.text == "Plus jamais chez Maison Brioche" and m.created_at == T0 and m.lang == "fr"
    assert m.author.handle == "lea_dupont" and m.author.followers == 48_000 and m.author.following == 310
    assert m.engagement.reposts == 900 and m.hashtags == ("briochegate",)
    assert m.url == "https://social.example/@lea_dupont/m7"
    assert got.row.topics == ("brioche",)
    assert (got.row.sentiment_label, got.row.sentiment_score, got.row.sentiment_engine) == (
        "negative",
        0.91,
        "lexicon",
    )
    assert got.row.scores == {"influence": {"score": 64, "tier": "macro"}, "bot": {"score": 0.1}}


async def test_json_objects_and_bare_mentions_are_accepted(journal: Journal) -> None:
    as_json = scored("m1").to_json()
    await journal.archive([as_json, mention("m2", "no scores yet")])
    one = await journal.archived_mention("demo", "m1")
    two = await journal.archived_mention("demo", "m2")
    assert (
        one is not None and one.row.sentiment_label == "negative" and one.row.scores["bot"] == {"score": 0.1}
    )
    assert one.mention.author.name == "Léa Dupont" and one.row.topics == ("brioche",)
    assert two is not None and two.row.sentiment_label is None and two.row.topics == ()


async def test_a_mention_seen_again_is_updated_not_duplicated(journal: Journal) -> None:
    await journal.archive([scored("m1", label="neutral")])
    await journal.archive([scored("m1", label="negative", text="edited: plus jamais")])
    assert await journal.archived_count() == 1
    got = await journal.archived_mention("demo", "m1")
    assert (
        got is not None
        and got.mention.text == "edited: plus jamais"
        and got.row.sentiment_label == "negative"
    )


async def test_archive_between_filters_by_time_and_topic(journal: Journal) -> None:
    rival = ScoredMention(
        99,
        mention("r1", "rival news", at=T0 + timedelta(seconds=5)),
        ("rival",),
        SentimentScore("neutral", 0.5, "lexicon"),
    )
    await journal.archive([scored("m1", at=T0 - timedelta(hours=2)), scored("m2", at=T0), rival])
    got = await journal.archived_between(
        T0 - timedelta(minutes=1), T0 + timedelta(minutes=1), topic="brioche"
    )
    assert [a.mention.uid for a in got] == ["m2"]
    got = await journal.archived_between(T0 - timedelta(hours=3), T0 + timedelta(minutes=1))
    assert [a.mention.uid for a in got] == ["m1", "m2", "r1"]


async def test_retention_prunes_old_mentions_but_never_pinned_evidence(
    journal: Journal, clock: ManualClock
) -> None:
    old = [scored(f"m{i}", at=T0 - timedelta(days=40)) for i in range(10)]
    recent = [scored(f"m{i}", at=T0 - timedelta(days=2)) for i in range(10, 15)]
    await journal.archive(old + recent)
    inc = await journal.open_incident("brioche", "sev2", "Storm of 40 days ago")
    await journal.pin_evidence(inc.id, old[3])
    result = await journal.prune()
    assert result.mentions == 9
    assert await journal.archived_count() == 6
    kept = await journal.archived_mention("demo", "m3")
    assert kept is not None and kept.pinned
    assert await journal.archived_mention("demo", "m4") is None
    assert (await journal.prune()).mentions == 0


async def test_retention_follows_the_setting(settings, clock: ManualClock) -> None:
    import dataclasses

    short = dataclasses.replace(
        settings, desk=dataclasses.replace(settings.desk, archive_retention=timedelta(days=1))
    )
    journal = await Journal.open(short, clock=clock)
    try:
        await journal.archive(
            [scored("m1", at=T0 - timedelta(days=2)), scored("m2", at=T0 - timedelta(hours=2))]
        )
        assert (await journal.prune()).mentions == 1
    finally:
        await journal.close()


async def test_volume_history_upserts_per_minute(journal: Journal) -> None:
    minute = T0 + timedelta(seconds=42)
    await journal.record_volume("brioche", minute, 12, negative=7, neutral=4, positive=1)
    await journal.record_volume(
        "brioche", minute + timedelta(seconds=10), 20, negative=15, neutral=4, positive=1
    )
    await journal.record_volumes([VolumePoint("brioche", T0 + timedelta(minutes=m), m) for m in range(1, 5)])
    await journal.record_volume("rival", minute, 3)
    points = await journal.volume("brioche", T0, T0 + timedelta(minutes=3))
    assert [(p.minute, p.count, p.negative) for p in points] == [
        (T0, 20, 15),
        (T0 + timedelta(minutes=1), 1, 0),
        (T0 + timedelta(minutes=2), 2, 0),
    ]


async def test_volume_prune_keeps_minutes_around_incidents(journal: Journal, clock: ManualClock) -> None:
    storm = T0 - timedelta(days=60)
    inc = await journal.open_incident("brioche", "sev1", "Old storm", now=storm)
    await journal.resolve(inc.id, now=storm + timedelta(hours=3))
    await journal.record_volumes(
        [VolumePoint("brioche", storm + timedelta(hours=h), 100) for h in range(-12, 13)]
        + [VolumePoint("rival", storm, 5), VolumePoint("brioche", T0 - timedelta(hours=1), 9)]
    )
    result = await journal.prune()
    kept = await journal.volume("brioche", storm - timedelta(days=1), T0 + timedelta(days=1))
    hours = sorted(
        round((p.minute - storm).total_seconds() / 3600) for p in kept if p.minute < T0 - timedelta(days=1)
    )
    assert hours == list(range(-6, 10))  # 6 h either side of the incident (opened → resolved)
    assert await journal.volume("rival", storm, storm + timedelta(minutes=1)) == []
    assert result.volume_minutes == 25 + 1 - 16


async def test_cursors_are_saved_per_source(journal: Journal) -> None:
    assert await journal.get_cursor("bluesky") is None
    await journal.set_cursor("bluesky", "1779719009157119")
    await journal.set_cursor("mastodon", "113456")
    await journal.set_cursor("bluesky", "1779719010000000")
    assert await journal.get_cursor("bluesky") == "1779719010000000"
    assert await journal.get_cursor("mastodon") == "113456"


@pytest.mark.sqlite_only  # reads SQLite's statement trace
async def test_archive_batch_is_one_transaction(journal: Journal) -> None:
    statements: list[str] = []
    await journal.store._conn.set_trace_callback(statements.append)
    await journal.archive([scored(f"m{i}") for i in range(100)])
    await journal.store._conn.set_trace_callback(None)
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1


async def test_archiver_takes_batches_from_a_sync_listener(journal: Journal) -> None:
    from tocsin.journal.archive import Archiver

    archiver = Archiver(journal, max_batch=150)
    for b in range(4):
        archiver.add([scored(f"m{b * 100 + i}") for i in range(100)])  # as Desk.add_batch_listener calls it
    assert archiver.pending > 0  # nothing written yet: add never waits
    await archiver.flush()
    assert (archiver.written, archiver.pending, archiver.dropped, archiver.failed) == (400, 0, 0, 0)
    assert await journal.archived_count() == 400
    archiver.add([{"uid": "x", "created_at": "2026-11-21T09:00:00Z"}])  # no text: refused, counted
    archiver.add([scored("m1000")])
    await archiver.close()
    assert (archiver.failed, archiver.written) == (1, 401) and "text" in (archiver.last_error or "")


async def test_archiver_bounds_its_memory_when_the_journal_lags(journal: Journal) -> None:
    from tocsin.journal.archive import Archiver

    archiver = Archiver(journal, max_pending=250)
    archiver.add([scored(f"m{i}") for i in range(400)])
    assert archiver.dropped == 150 and archiver.pending == 250
    await archiver.close()
    assert archiver.written == 250
    assert await journal.archived_mention("demo", "m0") is None  # the oldest went first
    assert await journal.archived_mention("demo", "m399") is not None
