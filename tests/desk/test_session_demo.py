"""The session on the real Desk and the bundled demo: what `make run` does with a journal."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from tocsin.config.loader import load_default, with_demo_speed
from tocsin.desk.desk import Desk
from tocsin.desk.session import JournalSession
from tocsin.journal.api import Journal
from tocsin.sources.clock import ManualClock


async def test_demo_desk_fills_the_archive_and_the_volume_history(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TOCSIN_JOURNAL", str(tmp_path / "journal.sqlite"))
    settings = with_demo_speed(load_default(), 200)
    desk = Desk(settings, inline_scoring=True)  # scoring in a thread: no worker process in a unit test
    session = JournalSession(settings, desk)
    await session.start()
    await desk.start()
    try:
        for _ in range(400):  # bounded; the backfill alone brings thousands within a few seconds
            await asyncio.sleep(0.02)
            if desk.snapshot().seq > 500:
                break
        assert desk.snapshot().seq > 500
    finally:
        await desk.stop()
        await session.stop()
    assert session.problem is None
    archiver = session.archiver
    assert archiver is not None and archiver.written > 500 and archiver.failed == 0
    async with await Journal.open(settings, clock=ManualClock(desk.clock.now())) as journal:
        assert await journal.archived_count() == archiver.written
        now = desk.clock.now()
        points = await journal.volume("brioche", now - timedelta(days=8), now + timedelta(minutes=1))
        assert sum(p.count for p in points) == archiver.written  # every mention is about the one topic
        assert any(p.negative for p in points) and any(p.positive for p in points)
