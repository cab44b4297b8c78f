"""The desk session and revisions: every item is archived, only new posts count in the volume history."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from tests.desk._incident_kit import T0, SessionDesk, minutes, scored, team_settings
from tocsin.desk.session import JournalSession
from tocsin.sources.model import ScoredMention, SentimentScore


def revised(item: ScoredMention, kind: str, **changes: object) -> ScoredMention:
    """The same post sent again: ``deleted`` (unscored), ``edit`` or ``author`` (rescored)."""
    at = item.mention.created_at + minutes(2)
    if kind == "deleted":
        gone = dataclasses.replace(item.mention, deleted=True, received_at=at)
        return dataclasses.replace(
            item, seq=item.seq + 100, mention=gone, sentiment=SentimentScore("unscored", 0, "")
        )
    mention = dataclasses.replace(item.mention, received_at=at, extra={"update": kind}, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(item, seq=item.seq + 100, mention=mention)


async def test_revisions_are_archived_but_counted_once(tmp_path: Path) -> None:
    desk = SessionDesk()
    session = JournalSession(team_settings(tmp_path / "j.sqlite"), desk)
    await session.start(background=False)
    try:
        at = T0 - minutes(3)
        first = scored(1, "maison brioche mould", at=at, label="negative")
        second = scored(2, "maison brioche ok", at=at + timedelta(seconds=10), label="neutral")
        desk.batch([first, second])
        desk.batch(
            [
                revised(first, "edit", text="maison brioche: it was a raisin"),
                revised(
                    second, "author", author=dataclasses.replace(second.mention.author, followers=90_000)
                ),
                revised(first, "deleted"),
                scored(3, "maison brioche again", at=at + timedelta(seconds=30), label="positive"),
            ]
        )
        assert await session.flush_volume() == 1
        journal = session.journal
        assert journal is not None and session.archiver is not None
        [point] = await journal.volume("brioche", T0 - minutes(10), T0)
        assert (point.minute, point.count, point.negative, point.neutral, point.positive) == (at, 3, 1, 1, 1)
        await session.archiver.flush()
        assert await journal.archived_count() == 3
        one = await journal.archived_mention("demo", "m1")
        two = await journal.archived_mention("demo", "m2")
        assert one is not None and one.original_text == "maison brioche mould"
        assert one.mention.text == "maison brioche: it was a raisin" and one.deleted_at == at + minutes(2)
        assert two is not None and two.mention.author.followers == 90_000
    finally:
        await session.stop()
