"""The archiver never loses a batch in silence: a mention the database refuses costs only itself, a busy
journal is retried, and a writer that dies is reported and restarted with nothing lost (issue 10, item 2)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.archive import Archiver
from tocsin.journal.errors import JournalBusy

from .conftest import mention


async def test_a_lone_surrogate_costs_only_its_own_mention(journal: Journal) -> None:
    """Reproduced: 0 of 81 archived, "Task exception was never retrieved". Now 80 of 81, said aloud."""
    problems: list[str] = []
    archiver = Archiver(journal, on_problem=problems.append)
    batch = [mention(f"m{i}") for i in range(80)]
    batch.insert(40, mention("bad", "brioche \ud800 surrogate", handle="h\udfff"))  # past no boundary
    archiver.add(batch)
    await archiver.close()
    assert (archiver.written, archiver.failed) == (80, 1)
    assert await journal.archived_count() == 80
    assert problems and "1 of 81" in problems[-1] and "UnicodeEncodeError" in problems[-1]
    assert not archiver.healthy
    archiver.add([mention("later")])
    await archiver.close()
    assert archiver.healthy  # the next whole batch clears the warning


class FlakyJournal:
    """Busy for the first ``busy`` writes, then a real journal."""

    def __init__(self, journal: Journal, busy: int) -> None:
        self.journal, self.busy, self.calls = journal, busy, 0

    async def archive(self, mentions: Sequence[Any], *, durable: bool = False) -> int:
        self.calls += 1
        if self.calls <= self.busy:
            raise JournalBusy(5)
        return await self.journal.archive(mentions)


async def test_a_busy_journal_is_retried_not_dropped(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Archiver, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    archiver = Archiver(FlakyJournal(journal, busy=2))  # type: ignore[arg-type]
    archiver.add([mention(f"m{i}") for i in range(10)])
    await archiver.close()
    assert (archiver.written, archiver.failed, archiver.retries) == (10, 0, 2)
    assert await journal.archived_count() == 10


async def test_a_journal_busy_for_good_is_counted_and_said(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Archiver, "RETRY_DELAYS", (0.01,))
    problems: list[str] = []
    archiver = Archiver(FlakyJournal(journal, busy=99), on_problem=problems.append)  # type: ignore[arg-type]
    archiver.add([mention(f"m{i}") for i in range(5)])
    await archiver.close()
    assert (archiver.written, archiver.failed) == (0, 5)
    assert "5 mentions not archived" in problems[-1] and "busy" in problems[-1]


class StallingJournal:
    """Holds its first write until released, so the writer can be killed in the middle of a batch."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.entered = asyncio.Event()
        self.first = True

    async def archive(self, mentions: Sequence[Any], *, durable: bool = False) -> int:
        if self.first:
            self.first = False
            self.entered.set()
            await asyncio.sleep(3600)
        return await self.journal.archive(mentions)


async def test_a_killed_writer_is_reported_and_restarted_with_nothing_lost(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    problems: list[str] = []
    stalling = StallingJournal(journal)
    archiver = Archiver(stalling, on_problem=problems.append)  # type: ignore[arg-type]
    archiver.add([mention(f"m{i}") for i in range(30)])
    await asyncio.wait_for(stalling.entered.wait(), 5)
    task = archiver._task
    assert task is not None
    with caplog.at_level(logging.ERROR, logger="tocsin.journal.archive"):
        task.cancel()  # the writer dies holding the whole batch
        await asyncio.wait_for(archiver.flush(), 5)
    assert archiver.crashes == 1
    assert (archiver.written, archiver.failed, archiver.pending) == (30, 0, 0)
    assert await journal.archived_count() == 30
    assert "archive writer died" in problems[0] and "nothing lost" in problems[0]
    assert any("archive writer died" in r.getMessage() for r in caplog.records)
    await archiver.close()
