"""What attached desks read from the journal: the archive in write order (``archived_since``), the ingest
desk's published snapshot, and every desk's presence. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.desks import DeskPresence
from tocsin.journal.errors import InvalidValue
from tocsin.journal.store import SNAPSHOTS
from tocsin.sources.clock import ManualClock

from .conftest import T0, mention
from .test_team import next_wake


async def test_the_archive_is_read_in_the_order_it_was_written_from_a_cursor(journal: Journal) -> None:
    assert await journal.archive_seq() == 0
    await journal.archive([mention(f"m{i}", at=T0 - timedelta(minutes=i)) for i in range(5)])
    await journal.archive([mention("m9", at=T0 - timedelta(hours=3))])  # posted earlier, written later
    rows = await journal.archived_since(0)
    assert [r.mention.uid for r in rows] == ["m0", "m1", "m2", "m3", "m4", "m9"]
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6] and await journal.archive_seq() == 6
    assert [r.mention.uid for r in await journal.archived_since(4)] == ["m4", "m9"]
    assert [r.mention.uid for r in await journal.archived_since(0, limit=2)] == ["m0", "m1"]
    assert await journal.archived_since(6) == []


async def test_a_revision_or_a_deletion_comes_again_after_the_cursor(journal: Journal) -> None:
    await journal.archive([mention("m1"), mention("m2")])
    edited = replace(mention("m1", "Une souris, deux souris"), extra={"update": "edit"})
    gone = replace(mention("m2"), deleted=True)
    await journal.archive([edited, gone])
    again = await journal.archived_since(2)
    assert [(r.mention.uid, r.seq) for r in again] == [("m1", 3), ("m2", 4)]
    assert again[0].mention.text == "Une souris, deux souris" and again[0].edited_at is not None
    assert again[1].mention.deleted and again[1].deleted_at is not None
    await journal.archive([replace(mention("m3"), deleted=True)])  # never archived: no row, a seq spent
    assert await journal.archived_since(4) == [] and await journal.archive_seq() == 5


async def test_seqs_are_never_given_twice_even_when_pruning_empties_the_archive(
    journal: Journal, clock: ManualClock
) -> None:
    await journal.archive([mention("m1", at=T0 - timedelta(days=60))])
    assert (await journal.prune(T0)).mentions == 1 and await journal.archived_count() == 0
    await journal.archive([mention("m2")])
    rows = await journal.archived_since(1)
    assert [(r.mention.uid, r.seq) for r in rows] == [("m2", 2)]


async def test_a_reply_keeps_the_post_it_answers_and_its_platform_reference(journal: Journal) -> None:
    reply = replace(mention("m1"), reply_to="at://did:plc:x/app.bsky.feed.post/3k", raw_ref="bafyrei-cid")
    await journal.archive([reply])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None
    assert got.mention.reply_to == "at://did:plc:x/app.bsky.feed.post/3k"
    assert got.mention.raw_ref == "bafyrei-cid"


async def test_the_published_snapshot_is_the_latest_and_wakes_listeners(journal: Journal) -> None:
    assert await journal.published_snapshot() is None
    async with journal.store.listen(SNAPSHOTS) as wakes:
        first = await journal.publish_snapshot("wall:1:a", '{"n": 1}', T0)
        wake = await next_wake(wakes, SNAPSHOTS)
        assert wake.payload in (None, str(first))
    second = await journal.publish_snapshot("wall:1:a", '{"n": 2}', T0 + timedelta(seconds=1))
    assert second == first + 1
    got = await journal.published_snapshot()
    assert got is not None and got.body == '{"n": 2}' and got.version == second
    assert got.desk == "wall:1:a" and got.written_at == T0 + timedelta(seconds=1)
    assert await journal.published_snapshot(newer_than=second) is None  # nothing newer: no body read


def presence(
    desk_id: str, role: str, seen: timedelta = timedelta(0), operator: str = "alice"
) -> DeskPresence:
    return DeskPresence(desk_id, operator, role, "wall", 4242, T0, T0 + seen)


async def test_desks_say_they_are_there_and_are_forgotten_after_a_day(journal: Journal) -> None:
    await journal.heartbeat(presence("a", "ingest"))
    await journal.heartbeat(presence("b", "attached", operator="bob"))
    await journal.heartbeat(presence("b", "attached", timedelta(seconds=5), operator="bob"))
    desks = await journal.desks()
    assert [(d.id, d.role, d.operator) for d in desks] == [("b", "attached", "bob"), ("a", "ingest", "alice")]
    assert desks[0].seen_at == T0 + timedelta(seconds=5) and desks[0].started_at == T0
    await journal.leave("b")
    assert [d.id for d in await journal.desks()] == ["a"]
    await journal.heartbeat(presence("c", "standby", timedelta(days=1, seconds=1)))
    assert [d.id for d in await journal.desks()] == ["c"]  # "a" was last seen more than a day before


async def test_a_desk_role_is_one_of_three(journal: Journal) -> None:
    with pytest.raises(InvalidValue, match="desk role"):
        await journal.heartbeat(presence("a", "boss"))
